//! `rediss://`: the Redis store over TLS, against a `redis-server` of the test's own that
//! only speaks TLS, with a self-signed certificate made by `openssl`. A certificate nobody
//! vouches for is refused unless the URL says `#insecure`; plain `redis://` gets nowhere.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vtsum_core::report::{CacheEntry, Lookup};
use vtsum_core::store::redis::RedisStore;
use vtsum_core::store::Store;
use vtsum_core::Hash;

struct TlsRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_redis() -> TlsRedis {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl (scripts/test.sh installs it)");
    assert!(made.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args(["--port", "0", "--tls-port", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--tls-auth-clients", "no", "--tls-cert-file"])
        .arg(&cert)
        .arg("--tls-key-file")
        .arg(&key)
        .arg("--tls-ca-cert-file")
        .arg(&cert)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (scripts/test.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    TlsRedis {
        child,
        port,
        _dir: dir,
    }
}

#[test]
fn rediss_stores_over_tls_and_checks_the_certificate() {
    let server = tls_redis();
    let port = server.port;

    let refused = RedisStore::open(&format!("rediss://127.0.0.1:{port}/0"));
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
