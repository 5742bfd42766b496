//! VirusTotal's documents as the backends keep them: zstd-compressed.
//!
//! A file's v3 answer is ~10 KB of JSON on the fake's corpus (some 70 engines; a real one
//! is often 20–100 KB), most of it repeated engine names and keys; zstd at level 3 keeps it
//! in ~1.6 KB and reads it back in microseconds. Documents are read only when asked for
//! (per-engine results, the VirusTotal-shaped API), so the ratio matters more than speed.
//! The crate over hand-written code: zstd is the format every tool reads (`zstd -d`).

use std::io::Read;

use vtsum_core::error::{Error, Result};
use vtsum_core::report::Document;

/// zstd's level: ~5 % larger than level 9 at several times the speed (BENCHMARKS.md).
const LEVEL: i32 = 3;

/// The largest document read back: VirusTotal's answers are read at most 8 MB, imports
/// at most 64 MB.
const MAX_DOCUMENT: u64 = 64 << 20;

/// A document compressed.
pub(crate) fn pack(document: &Document) -> Vec<u8> {
    zstd::bulk::compress(document.text().as_bytes(), LEVEL)
        .expect("compressing to memory cannot fail")
}

/// A document from what [`pack`] wrote.
pub(crate) fn unpack(bytes: &[u8]) -> Result<Document> {
    let corrupt = |why: String| Error::Corrupt(format!("a stored VirusTotal document: {why}"));
    let mut text = String::new();
    zstd::stream::read::Decoder::new(bytes)
        .map_err(|e| corrupt(e.to_string()))?
        .take(MAX_DOCUMENT + 1)
        .read_to_string(&mut text)
        .map_err(|e| corrupt(e.to_string()))?;
    if text.len() as u64 > MAX_DOCUMENT {
        return Err(corrupt(format!("larger than {MAX_DOCUMENT} bytes")));
    }
    Document::new(text).map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_comes_back_as_it_went_in() {
        let text = r#"{"data": {"id": "x", "attributes": {"names": ["é", "a\u0000b"]}}}"#;
        let document = Document::new(text.to_string()).unwrap();
        let packed = pack(&document);
        assert_eq!(unpack(&packed).unwrap().text(), text);
    }

    #[test]
    fn what_is_not_a_packed_document_is_an_error() {
        assert!(unpack(b"not zstd").is_err());
        let not_json = zstd::bulk::compress(b"{\"data\":", 3).unwrap();
        assert!(unpack(&not_json).is_err());
    }
}
