//! Cached answers read back from text, for `vtsum cache import`: vtsum's own export (one
//! cache entry a line, as `vtsum cache export` writes them, from any store) and
//! VirusTotal's own JSON as vt-cli and vt-py users keep it (`{"data": {…}}` file objects,
//! or `{"data": [ … ]}` lists), so a lookup paid for once is never paid for again.
//!
//! Everything here is hostile input: a document that is neither is an error with a
//! message, never a panic, and the caller counts it and goes on with the rest.

use serde_json::Value;

use crate::hash::Hash;
use crate::report::{CacheEntry, Lookup};
use crate::vt::v3;

/// The largest document read whole (a pretty-printed VirusTotal answer); JSON lines are
/// read a line at a time, each at most this long too.
pub const MAX_DOCUMENT: usize = 64 << 20;

/// The cache entries one JSON document holds: a vtsum export line (one entry), or a
/// VirusTotal file object or list of them (one entry each, counted as fetched at
/// `fetched_at`: the time of the import, since the file says when VirusTotal analysed the
/// file, not when it was asked).
pub fn read_document(text: &[u8], fetched_at: i64) -> Result<Vec<CacheEntry>, String> {
    // An export line first, read once from the text (a document inside is kept as the
    // text it is): the common case of a big import, which otherwise parsed every line
    // twice. Anything else is read as a generic value to say what it is.
    let entry = std::str::from_utf8(text)
        .map_err(|e| e.to_string())
        .and_then(|t| crate::stored::decode_entry(t).map_err(|e| e.to_string()));
    let why = match entry {
        Ok(entry) => return Ok(vec![entry]),
        Err(why) => why,
    };
    let value: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("queried").is_some() {
        return Err(format!("not a vtsum cache entry: {why}"));
    }
    match value.get("data") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| file_object(item, fetched_at))
            .collect(),
        Some(item @ Value::Object(_)) => Ok(vec![file_object(item, fetched_at)?]),
        _ => Err(
            "neither a vtsum cache entry nor a VirusTotal object (`{\"data\": {…}}`)".to_string(),
        ),
    }
}

/// One VirusTotal file object (`{"id", "type": "file", "attributes": {…}}`).
fn file_object(item: &Value, fetched_at: i64) -> Result<CacheEntry, String> {
    match item.get("type").and_then(Value::as_str) {
        Some("file") | None => {}
        Some(other) => return Err(format!("a VirusTotal {other:?} object, not a file")),
    }
    let wrapped = serde_json::json!({ "data": item });
    let report = v3::parse_file(wrapped.to_string().as_bytes())?;
    let queried = Hash::parse(&report.sha256)
        .ok_or_else(|| format!("the object's sha256 {:?} is not a hash", report.sha256))?;
    Ok(CacheEntry {
        queried,
        lookup: Lookup::Found(Box::new(report)),
        fetched_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";

    fn vt_object() -> Value {
        serde_json::json!({"id": SHA, "type": "file", "attributes": {
            "sha256": SHA, "md5": "44d88612fea8a8f36de82e1278abb02f",
            "last_analysis_stats": {"malicious": 60, "undetected": 5}}})
    }

    #[test]
    fn a_virustotal_object_and_a_list_become_entries() {
        let one = serde_json::json!({"data": vt_object()}).to_string();
        let got = read_document(one.as_bytes(), 7).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].queried.as_str(), SHA);
        assert_eq!(got[0].fetched_at, 7);
        let Lookup::Found(f) = &got[0].lookup else {
            panic!("found")
        };
        assert_eq!(f.stats.malicious, 60);
        let list = serde_json::json!({"data": [vt_object(), vt_object()]}).to_string();
        assert_eq!(read_document(list.as_bytes(), 7).unwrap().len(), 2);
    }

    #[test]
    fn an_export_line_reads_back_as_written() {
        let entry = read_document(
            serde_json::json!({"data": vt_object()})
                .to_string()
                .as_bytes(),
            9,
        )
        .unwrap()
        .remove(0);
        let line = serde_json::to_string(&entry).unwrap();
        assert_eq!(read_document(line.as_bytes(), 1).unwrap(), vec![entry]);
    }

    #[test]
    fn anything_else_is_an_error_with_a_message() {
        for bad in [
            &b"not json"[..],
            b"[]",
            b"{\"data\": 3}",
            b"{\"data\": {\"type\": \"url\", \"attributes\": {}}}",
            b"{\"data\": {\"type\": \"file\", \"attributes\": {\"sha256\": \"xyz\"}}}",
            b"{\"queried\": 5}",
        ] {
            let e = read_document(bad, 0).unwrap_err();
            assert!(!e.is_empty());
        }
    }
}
