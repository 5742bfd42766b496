//! What a webhook receives for one change: a JSON document with the indicator, the list,
//! before and after, the reasons and the permalink, and a `text` field that Slack's and
//! Teams' incoming webhooks display as is. Signed with HMAC-SHA256 when a secret is given
//! (`ring`, already in the tree for TLS).
//!
//! Threat labels come from VirusTotal and indicators from the user's text: in `text` they
//! are escaped as Slack's message format asks (`&`, `<`, `>`), so a label cannot become a
//! link or a mention, and control characters are replaced.

use serde::Serialize;

use super::ChangeRecord;
use crate::diff::Snapshot;
use crate::render::{replace_controls, LineBreaks};
use crate::report::iso8601;

/// The header that carries the signature: `sha256=` and the HMAC's hex digits.
pub const SIGNATURE_HEADER: &str = "x-vtsum-signature";
/// The header that names the change: the same for every attempt, so a receiver that saw
/// one already can tell a repeat (after a crash between its answer and our record of it).
pub const DELIVERY_HEADER: &str = "x-vtsum-delivery";

#[derive(Serialize)]
struct Document<'a> {
    id: String,
    event: &'static str,
    list: &'a str,
    indicator: &'a str,
    at: String,
    before: &'a Snapshot,
    after: &'a Snapshot,
    reasons: Vec<&'static str>,
    permalink: Option<&'a str>,
    text: String,
}

/// The delivery id of a change.
pub fn delivery_id(change: &ChangeRecord) -> String {
    format!("vtsum-change-{}", change.id)
}

/// The JSON body for a change.
pub fn body(change: &ChangeRecord) -> String {
    let doc = Document {
        id: delivery_id(change),
        event: "watch.change",
        list: &change.list,
        indicator: &change.input,
        at: iso8601(change.at).unwrap_or_default(),
        before: &change.before,
        after: &change.after,
        reasons: change.reasons.iter().map(|r| r.as_str()).collect(),
        permalink: change.permalink.as_deref(),
        text: text(change),
    };
    serde_json::to_string(&doc).expect("a change serialises")
}

/// Escapes for Slack's message format, with terminal and other controls replaced.
fn slack(s: &str) -> String {
    replace_controls(s, LineBreaks::Space)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn side(s: &Snapshot) -> String {
    let label = s
        .threat_label
        .as_deref()
        .map(|l| format!(" ({})", slack(l)))
        .unwrap_or_default();
    format!("{} {}/{}{label}", s.verdict.as_str(), s.malicious, s.total)
}

/// The one line a chat shows.
pub fn text(change: &ChangeRecord) -> String {
    let why: Vec<&str> = change.reasons.iter().map(|r| r.as_str()).collect();
    let link = change
        .permalink
        .as_deref()
        .filter(|p| p.starts_with("https://www.virustotal.com/"))
        .map(|p| format!(" <{p}|VirusTotal>"))
        .unwrap_or_default();
    format!(
        "vtsum watch {}: {} {} -> {} ({}){link}",
        slack(&change.list),
        slack(&change.input),
        side(&change.before),
        side(&change.after),
        why.join(", ")
    )
}

/// The signature header's value for `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Reason;
    use crate::report::Verdict;

    fn change(label: &str) -> ChangeRecord {
        let snap = |verdict, malicious, label: Option<&str>| Snapshot {
            verdict,
            malicious,
            total: 70,
            threat_label: label.map(String::from),
        };
        ChangeRecord {
            id: 7,
            at: 1_700_000_000,
            list: "edr".into(),
            input: "a".repeat(64),
            before: snap(Verdict::Clean, 0, None),
            after: snap(Verdict::Malicious, 31, Some(label)),
            reasons: vec![Reason::Verdict, Reason::CrossedThreshold, Reason::NewLabel],
            permalink: Some(format!(
                "https://www.virustotal.com/gui/file/{}",
                "a".repeat(64)
            )),
        }
    }

    #[test]
    fn a_hostile_label_is_no_link_or_mention_in_the_text() {
        let t = text(&change("<!channel> <https://evil.example|click>\u{1b}[31m"));
        assert!(!t.contains("<!channel>"), "{t}");
        assert!(!t.contains("<https://evil"), "{t}");
        assert!(!t.contains('\u{1b}'), "{t}");
        assert!(t.contains("&lt;!channel&gt;"), "{t}");
        assert!(t.ends_with("|VirusTotal>"), "{t}");
        assert!(t.contains("clean 0/70 -> malicious 31/70"), "{t}");
    }

    #[test]
    fn the_body_names_the_change_and_the_signature_is_rfc_4231s() {
        let doc: serde_json::Value = serde_json::from_str(&body(&change("trojan.x"))).unwrap();
        assert_eq!(doc["id"], "vtsum-change-7");
        assert_eq!(doc["reasons"][1], "crossed_threshold");
        assert_eq!(doc["after"]["malicious"], 31);
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
