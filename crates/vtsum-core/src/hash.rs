//! File hashes as vtsum understands them: md5, sha1 or sha256, always lower-case hex.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which algorithm a hash belongs to, known from its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    Md5,
    Sha1,
    Sha256,
}

impl HashKind {
    /// The kind of a hex string of this length, if any.
    pub fn from_len(len: usize) -> Option<Self> {
        match len {
            32 => Some(HashKind::Md5),
            40 => Some(HashKind::Sha1),
            64 => Some(HashKind::Sha256),
            _ => None,
        }
    }
}

/// A validated, lower-case md5, sha1 or sha256 hex digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hash(String);

impl Hash {
    /// Parses a hash, accepting upper case; `None` unless it is 32, 40 or 64 hex digits.
    pub fn parse(s: &str) -> Option<Hash> {
        Hash::parse_owned(s.trim().to_string())
    }

    /// As [`Hash::parse`], keeping the string it is given (no copy): for hashes read back
    /// in bulk.
    pub fn parse_owned(mut s: String) -> Option<Hash> {
        HashKind::from_len(s.len())?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        s.make_ascii_lowercase();
        Some(Hash(s))
    }

    /// Wraps text the caller already checked is 32, 40 or 64 lower-case hex digits.
    pub(crate) fn from_lower_hex(s: &str) -> Hash {
        debug_assert!(Hash::parse(s).is_some_and(|h| h.0 == s));
        Hash(s.to_string())
    }

    /// The algorithm, from the length.
    pub fn kind(&self) -> HashKind {
        HashKind::from_len(self.0.len()).expect("validated on construction")
    }

    /// The lower-case hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Hash {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Hash::parse(&s).ok_or_else(|| format!("not an md5, sha1 or sha256 hex digest: {s:?}"))
    }
}

impl From<Hash> for String {
    fn from(h: Hash) -> String {
        h.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lowercases() {
        let h = Hash::parse("D41D8CD98F00B204E9800998ECF8427E").unwrap();
        assert_eq!(h.as_str(), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(h.kind(), HashKind::Md5);
        assert!(Hash::parse("d41d8cd98f00b204e9800998ecf8427").is_none());
        assert!(Hash::parse("g41d8cd98f00b204e9800998ecf8427e").is_none());
    }
}
