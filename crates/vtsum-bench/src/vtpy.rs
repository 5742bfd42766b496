//! vt-py, VirusTotal's own client, straight at the fake VirusTotal and through `vtsum serve`
//! (`/api/v3`), with the same keys and limits: 200 hashes asked by one client per key, 16
//! in flight each. Straight, vt-py has no limiter and raises on every 429; through vtsum,
//! misses wait for the pooled keys. The anchor is the ideal time at the keys' full rate,
//! measured in the same units: hashes / (keys x N per window).
//!
//! Needs the release `vtsum` binary beside this one and vt-py in `target/vtpy`
//! (`./scripts/test.sh` installs it; `VTSUM_VTPY_PYTHON` names another interpreter).

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const KEYS: [&str; 3] = ["bench-vtpy-key-1", "bench-vtpy-key-2", "bench-vtpy-key-3"];
const N: u32 = 4;
const WINDOW: Duration = Duration::from_secs(1);

fn vtpy(plan: &Value) -> Result<Value, String> {
    vtsum_test_utils::vtpy::run(plan)
}

/// `vtsum serve` in front of `fake`, with one client token per list; returns it, its URL
/// and the tokens.
fn serve(
    fake: &fakevt::FakeVt,
    dir: &std::path::Path,
) -> Result<(std::process::Child, String, Vec<String>), String> {
    let tokens: Vec<String> = (0..KEYS.len())
        .map(|i| format!("bench-client-token-{i}-0123456789"))
        .collect();
    let mut cmd = Command::new(crate::vtsum_binary()?);
    cmd.env_clear()
        .env("HOME", dir)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", KEYS.join(","))
        .env("VT_RATE", format!("{N}/{}ms", WINDOW.as_millis()))
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", dir.join("vtsum.db").display()),
        )
        .env("RUST_LOG", "warn")
        .args(["serve", "--bind", "127.0.0.1:0"]);
    for (i, token) in tokens.iter().enumerate() {
        cmd.arg("--client-token").arg(format!("c{i}={token}"));
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let url = crate::served_url(&mut child)?;
    Ok((child, url, tokens))
}

fn row(name: &str, got: &Value, fake: &fakevt::FakeVt, ideal: f64) {
    let c = fake.counters();
    let refused: u64 = c.quota_refusals_by_key.values().sum();
    let secs = got["seconds"].as_f64().unwrap_or(f64::NAN);
    println!(
        "| {name} | {} | {} | {} | {refused} | {secs:.1} s | {:.2}x |",
        got["answered"],
        got["quota_errors"],
        got["other_errors"],
        secs / ideal
    );
}

pub fn run(args: &[String]) -> Result<(), String> {
    let hashes: usize = crate::flag(args, "--hashes", 200)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let config = fakevt::Config {
        corpus_size: hashes.max(300),
        ..vtsum_test_utils::fake_config(&KEYS, &[(N, WINDOW)], None)
    };
    let dir = std::env::temp_dir().join(format!("vtsum-bench-vtpy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let ideal = hashes as f64 / (KEYS.len() as f64 * f64::from(N)) * WINDOW.as_secs_f64();
    println!(
        "{hashes} hashes, {} keys at {N}/{}s, one vt-py client per key with 16 in flight; \
         the anchor is the ideal time at the keys' full rate: {ideal:.1} s",
        KEYS.len(),
        WINDOW.as_secs()
    );
    println!();
    println!("| vt-py | answered | QuotaExceededError raised | other errors | 429s at VirusTotal | wall time | vs ideal |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let lists = |all: &[String]| -> Vec<Vec<String>> {
        let per = all.len().div_ceil(KEYS.len());
        all.chunks(per).map(<[String]>::to_vec).collect()
    };

    // Straight at the fake: each client holds a VirusTotal key.
    let fake = rt
        .block_on(fakevt::spawn(config.clone()))
        .map_err(|e| e.to_string())?;
    let all = fake.corpus().sha256s(hashes);
    let got = vtpy(&json!({
        "mode": "bench", "url": fake.url(), "tokens": KEYS, "lists": lists(&all), "in_flight": 16,
    }))?;
    row("straight at VirusTotal (the fake)", &got, &fake, ideal);

    // Through vtsum: each client holds a client token; the keys stay in vtsum.
    let fake = rt
        .block_on(fakevt::spawn(config))
        .map_err(|e| e.to_string())?;
    let (mut server, url, tokens) = serve(&fake, &dir)?;
    let got = vtpy(&json!({
        "mode": "bench", "url": url, "tokens": tokens, "lists": lists(&all), "in_flight": 16,
    }));
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    row("through vtsum serve (/api/v3)", &got?, &fake, ideal);
    Ok(())
}
