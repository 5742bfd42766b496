//! vt-py, VirusTotal's own Python client, run by the tests and the benchmark of the
//! VirusTotal-compatible endpoint: `crates/vtsum/tests/vtpy/clients.py` reads a JSON plan
//! on stdin and prints what vt-py returned. vt-py lives in `target/vtpy` (scripts/test.sh
//! installs it there); `VTSUM_VTPY_PYTHON` may name another interpreter that has it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The workspace's root, from this crate's folder.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python interpreter that has vt-py, or how to install it.
pub fn python() -> Result<PathBuf, String> {
    let path = std::env::var_os("VTSUM_VTPY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/vtpy/bin/python"));
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "vt-py's Python is missing at {}: run ./scripts/test.sh (it installs vt-py there), \
             or python3 -m venv target/vtpy && target/vtpy/bin/pip install vt-py",
            path.display()
        ))
    }
}

/// Runs the vt-py script with `plan` and returns what it printed.
pub fn run(plan: &serde_json::Value) -> Result<serde_json::Value, String> {
    let script = root().join("crates/vtsum/tests/vtpy/clients.py");
    let mut child = Command::new(python()?)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python does not start: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(plan.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "vt-py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("no JSON from the script: {e}"))
}
