//! `rediss://`: the Redis store over TLS, against a `redis-server` of the test's own that
//! only speaks TLS, with a self-signed certificate made by `openssl`. A certificate nobody
//! vouches for is refused unless the URL says `#insecure`; plain `redis://` gets nowhere.

use vtsum_core::report::{CacheEntry, Lookup};
use vtsum_core::store::Store;
use vtsum_core::Hash;
use vtsum_store::redis::RedisStore;
use vtsum_test_utils::RedisServer;

#[test]
fn rediss_stores_over_tls_and_checks_the_certificate() {
    let server = RedisServer::start_tls();
    let port = server.port();

    let refused = RedisStore::open(&server.url());
    let why = refused
        .err()
        .expect("a self-signed certificate is not trusted")
        .to_string();
    assert!(
        why.contains("certificate") || why.contains("Certificate"),
        "{why}"
    );
    let plain = RedisStore::open(&format!("redis://127.0.0.1:{port}/0"));
    assert!(plain.is_err(), "the server speaks only TLS");

    let url = format!("rediss://127.0.0.1:{port}/0?prefix=tls-test:#insecure");
    let store = RedisStore::open(&url).expect("#insecure accepts the certificate");
    assert_eq!(store.prefix(), "tls-test:");
    let hash = Hash::parse(&"ab".repeat(16)).unwrap();
    let entry = CacheEntry {
        queried: hash.clone(),
        lookup: Lookup::Unknown,
        fetched_at: 1_700_000_000,
    };
    store.cache_put(&entry).unwrap();
    assert_eq!(store.cache_get(&hash).unwrap(), Some(entry));
}
