//! What one item of a job looks up: a file by its hash, or a URL, a domain or an IP address
//! (issue 15). Jobs, claims and the work queue know an item by its [`Target::key`]; the
//! store keeps [`Target::stored`], which adds the form the text wrote it in (a defanged
//! `hxxps://evil[.]example/a` stays visible beside the URL looked up).
//!
//! A file's key is its hex hash, as before targets existed: job ids of hash-only scans, the
//! stores' job items and the hashes in flight read the same as they always did. The other
//! kinds carry a prefix (`url:`, `domain:`, `ip:`) that no hex hash can begin with.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::extract::ioc::{Indicator, IndicatorKind};
use crate::hash::Hash;

/// Longest stored form of a target: a URL is bounded by extraction (`MAX_URL`), the
/// written form by `MAX_WRITTEN`; this bound refuses what neither could give.
pub const MAX_STORED: usize = 24 * 1024;

/// The kind of a report row: what was looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Url,
    Domain,
    Ip,
}

impl Kind {
    /// Every kind, in the order reports list their columns.
    pub const ALL: [Kind; 4] = [Kind::File, Kind::Url, Kind::Domain, Kind::Ip];

    /// `file`, `url`, `domain` or `ip`: the name in every format and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Url => "url",
            Kind::Domain => "domain",
            Kind::Ip => "ip",
        }
    }

    /// Parses [`Kind::as_str`]'s output.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The indicator kind of a network object; `None` for files.
    pub fn indicator(self) -> Option<IndicatorKind> {
        match self {
            Kind::File => None,
            Kind::Url => Some(IndicatorKind::Url),
            Kind::Domain => Some(IndicatorKind::Domain),
            Kind::Ip => Some(IndicatorKind::Ip),
        }
    }
}

impl From<IndicatorKind> for Kind {
    fn from(kind: IndicatorKind) -> Kind {
        match kind {
            IndicatorKind::Url => Kind::Url,
            IndicatorKind::Domain => Kind::Domain,
            IndicatorKind::Ip => Kind::Ip,
        }
    }
}

/// One thing to look up.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    File(Hash),
    /// A URL, a domain or an IP address in normal form (as `extract::ioc` gives them), and
    /// the form the input wrote it in when that differs (defanged, upper case).
    Object {
        kind: IndicatorKind,
        value: String,
        written: Option<String>,
    },
}

impl Target {
    /// The target of an extracted indicator; the written form is kept only when it differs.
    pub fn of_indicator(indicator: &Indicator) -> Target {
        Target::Object {
            kind: indicator.kind,
            value: indicator.value.clone(),
            written: (indicator.written != indicator.value).then(|| indicator.written.clone()),
        }
    }

    /// What kind of row it makes.
    pub fn kind(&self) -> Kind {
        match self {
            Target::File(_) => Kind::File,
            Target::Object { kind, .. } => Kind::from(*kind),
        }
    }

    /// The hash, for a file.
    pub fn hash(&self) -> Option<&Hash> {
        match self {
            Target::File(hash) => Some(hash),
            Target::Object { .. } => None,
        }
    }

    /// What was looked up: the hash, the URL, the domain or the address.
    pub fn value(&self) -> &str {
        match self {
            Target::File(hash) => hash.as_str(),
            Target::Object { value, .. } => value,
        }
    }

    /// [`Target::value`], moved out.
    pub fn into_value(self) -> String {
        match self {
            Target::File(hash) => hash.into(),
            Target::Object { value, .. } => value,
        }
    }

    /// The form the input wrote it in, when that differs from [`Target::value`].
    pub fn written(&self) -> Option<&str> {
        match self {
            Target::File(_) => None,
            Target::Object { written, .. } => written.as_deref(),
        }
    }

    /// The identity of the lookup: the hex hash, or `url:`/`domain:`/`ip:` and the value.
    /// Two targets with one key are one lookup (claims, dedup, job ids).
    pub fn key(&self) -> String {
        match self {
            Target::File(hash) => hash.as_str().to_string(),
            Target::Object { kind, value, .. } => format!("{}:{value}", kind.as_str()),
        }
    }

    /// The text a store keeps for a job's item: the key, then a newline and the written
    /// form if there is one (no indicator holds white space, so the newline is a safe cut).
    pub fn stored(&self) -> String {
        match self.written() {
            Some(written) => format!("{}\n{written}", self.key()),
            None => self.key(),
        }
    }

    /// Parses [`Target::stored`] (or [`Target::key`]); `None` for anything else.
    pub fn parse_stored(text: &str) -> Option<Target> {
        if text.len() > MAX_STORED {
            return None;
        }
        let (key, written) = match text.split_once('\n') {
            Some((key, written)) => (key, Some(written)),
            None => (text, None),
        };
        let Some((prefix, value)) = key.split_once(':') else {
            return Hash::parse(key)
                .filter(|h| h.as_str() == key)
                .map(Target::File);
        };
        let kind = Kind::parse(prefix)?.indicator()?;
        if value.is_empty() || value.bytes().any(|b| b.is_ascii_whitespace()) {
            return None;
        }
        Some(Target::Object {
            kind,
            value: value.to_string(),
            written: written.filter(|w| !w.is_empty()).map(str::to_string),
        })
    }
}

impl Target {
    /// Files by their hashes, as a job's items.
    pub fn files(hashes: &[Hash]) -> Vec<Target> {
        hashes.iter().cloned().map(Target::File).collect()
    }
}

impl From<Hash> for Target {
    fn from(hash: Hash) -> Target {
        Target::File(hash)
    }
}

impl From<&Hash> for Target {
    fn from(hash: &Hash) -> Target {
        Target::File(hash.clone())
    }
}

impl From<&Target> for Target {
    fn from(target: &Target) -> Target {
        target.clone()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.key())
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.stored())
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        let text = String::deserialize(d)?;
        Target::parse_stored(&text)
            .ok_or_else(|| serde::de::Error::custom("not a hash, url:, domain: or ip: target"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_keyed_by_its_hash_as_before() {
        let hash = Hash::parse(&"ab".repeat(32)).unwrap();
        let target = Target::File(hash.clone());
        assert_eq!(target.key(), hash.as_str());
        assert_eq!(target.stored(), hash.as_str());
        assert_eq!(Target::parse_stored(hash.as_str()), Some(target));
        // Upper case is not what a store writes: refused rather than silently folded.
        assert_eq!(Target::parse_stored(&"AB".repeat(32)), None);
    }

    #[test]
    fn objects_round_trip_with_their_written_form() {
        let target = Target::Object {
            kind: IndicatorKind::Url,
            value: "https://evil.example/a".into(),
            written: Some("hxxps://evil[.]example/a".into()),
        };
        assert_eq!(target.key(), "url:https://evil.example/a");
        assert_eq!(Target::parse_stored(&target.stored()), Some(target.clone()));
        let json = serde_json::to_string(&target).unwrap();
        assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), target);
        let ip = Target::parse_stored("ip:203.0.113.7").unwrap();
        assert_eq!(ip.kind(), Kind::Ip);
        assert_eq!(ip.written(), None);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "url:",
            "file:abc",
            "host:evil.example",
            "domain:a b",
            "not a hash",
            &"a".repeat(63),
        ] {
            assert_eq!(Target::parse_stored(bad), None, "{bad:?}");
        }
        assert_eq!(Target::parse_stored(&"x".repeat(MAX_STORED + 1)), None);
    }
}
