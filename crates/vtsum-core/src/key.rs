//! API keys and their public identities.
//!
//! A key is a secret: it is held in [`ApiKey`], whose `Debug` and `Display` print `***`.
//! Everywhere a person or a file may see it, the key is named by its [`KeyId`], the first
//! 8 hex characters of its SHA-256, which is stable across runs and machines.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A VirusTotal API key. Never printed: use [`ApiKey::id`] to name it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    secret: String,
    id: KeyId,
}

impl ApiKey {
    /// Wraps a key, trimming white space around it.
    pub fn new(secret: impl AsRef<str>) -> Self {
        let secret = secret.as_ref().trim().to_string();
        let digest = Sha256::digest(secret.as_bytes());
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        ApiKey {
            secret,
            id: KeyId(id),
        }
    }

    /// Splits a comma- or white-space-separated list such as `VT_API_KEY=k1,k2`.
    pub fn parse_list(list: &str) -> Vec<ApiKey> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(ApiKey::new)
            .collect()
    }

    /// The key's public identity.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The secret itself, for the one place that needs it: the request header.
    pub fn expose(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}:***)", self.id)
    }
}

/// The short public name of a key: 8 hex characters of its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyId(pub String);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let k = ApiKey::new("supersecretkeyvalue");
        let shown = format!("{k:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert_eq!(k.id().0.len(), 8);
        assert_ne!(k.id(), ApiKey::new("other").id());
    }

    #[test]
    fn parses_lists() {
        let keys = ApiKey::parse_list(" a, b ,,c\n");
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[1].expose(), "b");
    }
}
