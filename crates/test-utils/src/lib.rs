//! Fixtures shared by vtsum's tests and benchmarks: a `redis-server` of their own, on a
//! free port with its data in a temporary folder, that can be stopped and started again
//! (Redis restarts are part of what the tests check); the fake VirusTotal's settings for
//! literal limits; the inputs of a JSON report; [`xlsx`], a workbook read back;
//! [`vtpy`], VirusTotal's own Python client run on a plan; and [`pyexport`], the STIX and
//! MISP reference readers.
//! `scripts/test.sh` installs Debian's `redis-server` and `openssl` when they are missing.

pub mod pyexport;
pub mod vtpy;
pub mod xlsx;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fake VirusTotal on a free loopback port, accepting `keys`, each limited by the
/// sliding `windows` (count, length) and the `daily` quota, with 300 known files. The
/// limits are literal values, not text read by vtsum's own rate parser, so a parser bug
/// cannot hide by shaping the engine and the fake alike.
pub fn fake_config(
    keys: &[&str],
    windows: &[(u32, Duration)],
    daily: Option<u32>,
) -> fakevt::Config {
    fakevt::Config {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        limits: fakevt::Limits {
            windows: windows.to_vec(),
            daily,
        },
        seed: 7,
        corpus_size: 300,
        addr: ([127, 0, 0, 1], 0).into(),
    }
}

/// The `input` of every row of a JSON report (`{"results": [...]}`), in order.
pub fn report_inputs(report: &serde_json::Value) -> Vec<String> {
    let rows = report["results"].as_array().expect("a report with results");
    rows.iter()
        .map(|r| {
            r["input"]
                .as_str()
                .expect("every row has its input")
                .to_string()
        })
        .collect()
}

/// A `redis-server` process, stopped when dropped.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    tls: bool,
    child: Option<Child>,
}

impl RedisServer {
    /// Plain TCP, with the append-only file on (as the README asks), so a stop and a
    /// restart keep the data. Panics with what to install when it cannot start.
    pub fn start() -> RedisServer {
        RedisServer::spawn(false).unwrap_or_else(|e| panic!("{e}"))
    }

    /// TLS only, with a self-signed certificate made by `openssl` (not trusted by anyone:
    /// clients need `#insecure`).
    pub fn start_tls() -> RedisServer {
        RedisServer::spawn(true).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`RedisServer::start`] or [`RedisServer::start_tls`], with an error for a report.
    pub fn spawn(tls: bool) -> Result<RedisServer, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
        if tls {
            make_certificate(dir.path())?;
        }
        let mut server = RedisServer {
            port,
            dir,
            tls,
            child: None,
        };
        server.try_restart()?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/0`, or `rediss://…` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/0", self.port)
    }

    /// SIGTERM, then waits: Redis writes its append-only file out and exits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same data.
    pub fn restart(&mut self) {
        self.try_restart().unwrap_or_else(|e| panic!("{e}"));
    }

    fn try_restart(&mut self) -> Result<(), String> {
        self.stop();
        let dir = self.dir.path();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .arg("--dir")
            .arg(dir);
        if self.tls {
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args(["--tls-auth-clients", "no", "--tls-cert-file"])
                .arg(dir.join("cert.pem"))
                .arg("--tls-key-file")
                .arg(dir.join("key.pem"))
                .arg("--tls-ca-cert-file")
                .arg(dir.join("cert.pem"));
        } else {
            cmd.args(["--port", &self.port.to_string()]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start redis-server ({e}): install Debian's redis-server")
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        // Listening is not ready: a restarted server answers LOADING until its append-only
        // file is read back. Wait for a PONG (over TLS, for the port to open).
        while !(if self.tls {
            self.listens()
        } else {
            self.pongs()
        }) {
            if Instant::now() > deadline {
                return Err(format!("redis-server not ready on port {}", self.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn listens(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    /// Whether the server answers PING with PONG (not LOADING).
    fn pongs(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 64];
        conn.write_all(b"PING\r\n").is_ok()
            && conn
                .read(&mut reply)
                .is_ok_and(|n| reply[..n].starts_with(b"+PONG"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A self-signed certificate and its key, `cert.pem` and `key.pem` in `dir`.
fn make_certificate(dir: &Path) -> Result<(), String> {
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run openssl ({e}): install Debian's openssl"))?;
    if made.success() {
        Ok(())
    } else {
        Err(format!("openssl could not make a certificate ({made})"))
    }
}

/// Replays every checked-in input of a fuzz target — its seed corpus
/// (`fuzz/corpus/<target>/`, which must not be empty) and every input that once made it
/// fail (`fuzz/artifacts/<target>/`) — through `check`, which panics on a broken rule. So
/// CI keeps found bugs fixed on stable Rust, without nightly.
pub fn replay_fuzz_inputs(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let files = |dir: std::path::PathBuf| {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.is_file());
        files.sort();
        files
    };
    let corpus = files(fuzz.join("corpus").join(target));
    assert!(!corpus.is_empty(), "no seed corpus for {target}");
    let crashes = files(fuzz.join("artifacts").join(target));
    for path in corpus.iter().chain(&crashes) {
        let data = std::fs::read(path).unwrap();
        let run = std::panic::catch_unwind(|| check(&data));
        assert!(run.is_ok(), "{target}: {} fails its check", path.display());
    }
}

/// The test Redis: `VTSUM_TEST_REDIS` (scripts/test.sh starts one on a free port and sets
/// it), else a server on the default local port.
pub fn redis_url() -> String {
    std::env::var("VTSUM_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// A key prefix no other test uses, so tests run in parallel on one server.
pub fn unique_prefix() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("vtsum-test:{}:{nanos}:{n}:", std::process::id())
}
