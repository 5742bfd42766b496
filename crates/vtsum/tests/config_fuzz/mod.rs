//! The config loader's fuzz check, shared by the fuzz target `config` (nightly) and the
//! stable replay in `tests/config_corpus.rs`: any text parses or gives a message of bounded
//! size that never shows a value written on a secret field's line.

#[path = "../../src/config_error.rs"]
#[allow(dead_code)]
mod config_error;
#[path = "../../src/config_file.rs"]
#[allow(dead_code)]
mod config_file;

/// Quoted strings of 4+ characters in the values of lines that set a secret field
/// (`api_keys = [...]`, `auth_token = "..."`, `store = "..."`).
fn secrets(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let plain = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let secret = ["key", "store", "token", "password", "secret"]
            .iter()
            .any(|k| key.contains(k));
        if key.is_empty() || !plain || !secret {
            continue;
        }
        let mut parts = value.split('"').skip(1).step_by(2);
        for p in parts.by_ref() {
            if p.len() >= 4 && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                out.push(p);
            }
        }
    }
    out
}

/// Panics when the rule is broken.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(message) = config_file::FileConfig::parse(text) {
        assert!(
            message.len() < 4096,
            "a bounded message: {} bytes",
            message.len()
        );
        // The shown line is the file's own text: no secret of 4+ characters may stand in
        // it. The explanation is fixed English (toml's, or our hint), which a short secret
        // can spell by chance ("cted" in "expected"); a real key (10+ characters) must not
        // stand anywhere.
        let (explanation, line) = message.split_once("\n").unwrap_or((&message, ""));
        let line = line.split_once(" | ").map_or(line, |(_, l)| l);
        let line = line.replace("<redacted>", "\u{0}");
        for s in secrets(text) {
            assert!(!line.contains(s), "{s:?} shown in the line of {message:?}");
            if s.len() >= 10 {
                assert!(!explanation.contains(s), "{s:?} shown in {message:?}");
            }
        }
    }
}
