//! The reference readers of vtsum's exchange formats, in Python: OASIS's `stix2-validator`
//! for STIX 2.1 bundles and MISP's own `pymisp` for events, so a test checks the bytes
//! against what real platforms accept rather than against vtsum's own idea of the format.
//! They live in `target/pyexport` (scripts/test.sh installs them there);
//! `VTSUM_PYEXPORT_PYTHON` may name another interpreter that has both.

use std::path::PathBuf;
use std::process::Command;

/// The versions scripts/test.sh installs.
pub const PACKAGES: &str = "stix2-validator==3.3.2 pymisp==2.5.34.4";

/// The Python interpreter that has both packages, or how to install them.
pub fn python() -> Result<PathBuf, String> {
    let path = std::env::var_os("VTSUM_PYEXPORT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyexport/bin/python")
        });
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "the Python with stix2-validator and pymisp is missing at {}: run ./scripts/test.sh \
             (it installs them there), or python3 -m venv target/pyexport && \
             target/pyexport/bin/pip install {PACKAGES}",
            path.display()
        ))
    }
}

/// Runs `script` (Python source) with `args`; what it printed on success, else why not.
pub fn run(script: &str, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let out = Command::new(python()?)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("python does not start: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "the Python check failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
