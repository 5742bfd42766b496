//! What the `million` bench feeds vtsum: N distinct hashes and a cache export of their
//! answers (one `CacheEntry` JSON a line, as `vtsum cache export` writes and `vtsum cache
//! import` reads), a whole `vtsum` process timed with its peak resident size, and the
//! bench's runs of vtsum ([`Bench`]) and its table lines.
//!
//! The answers are the fake VirusTotal's own (`fakevt::v3_file_object` read by vtsum's v3
//! parser): a thousand corpus files of every kind serve as templates, each row taking one
//! and getting hashes of its own, so sizes and shapes (65 engines, hostile names, sparse
//! and never-analysed files) are the fake's. Every `UNKNOWN_EVERY`th hash is unknown.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use vtsum_core::report::{CacheEntry, FileReport, Lookup};
use vtsum_core::Hash;

/// One row in this many is a hash VirusTotal does not know.
pub const UNKNOWN_EVERY: usize = 10;
const TEMPLATES: usize = 1000;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `len` hex digits for row `i` of kind `salt`: the row number is written in, so no two
/// rows share a hash, and the rest looks random.
fn hex(i: usize, salt: u64, len: usize) -> String {
    let i = i as u64;
    let s = format!(
        "{:016x}{:016x}{:016x}{:016x}",
        mix(i ^ salt),
        i,
        mix(i.wrapping_mul(31) ^ salt),
        mix(i ^ salt.rotate_left(17))
    );
    s[..len].to_string()
}

/// The sha256 of row `i`.
pub fn sha256(i: usize) -> String {
    hex(i, 0x5A56, 64)
}

/// Writes `hashes.txt` (one sha256 a line) and `export.jsonl` for `rows` rows into `dir`,
/// unless a run with the same row count already did; returns their sizes in bytes.
pub fn generate(dir: &Path, rows: usize) -> Result<(u64, u64), String> {
    let (list, export) = (dir.join("hashes.txt"), dir.join("export.jsonl"));
    let done = dir.join("generated");
    if std::fs::read_to_string(&done).ok().as_deref() != Some(&rows.to_string()) {
        eprintln!("generating {rows} rows in {}", dir.display());
        let corpus = fakevt::Corpus::generate(7, TEMPLATES);
        let templates = corpus
            .files()
            .iter()
            .map(|f| {
                let body = fakevt::v3_file_object(f, "https://www.virustotal.com").to_string();
                vtsum_core::vt::v3::parse_file(body.as_bytes())
            })
            .collect::<Result<Vec<FileReport>, String>>()?;
        let now = chrono_now();
        let io = |e: std::io::Error| e.to_string();
        let mut hashes = BufWriter::new(std::fs::File::create(&list).map_err(io)?);
        let mut out = BufWriter::new(std::fs::File::create(&export).map_err(io)?);
        for i in 0..rows {
            let sha = sha256(i);
            let queried = Hash::parse(&sha).ok_or("a generated hash does not parse")?;
            let lookup = if i % UNKNOWN_EVERY == UNKNOWN_EVERY - 1 {
                Lookup::Unknown
            } else {
                let mut f = templates[i % TEMPLATES].clone();
                f.sha256 = sha.clone();
                f.md5 = f.md5.map(|_| hex(i, 0x3D5, 32));
                f.sha1 = f.sha1.map(|_| hex(i, 0x5A1, 40));
                Lookup::Found(Box::new(f))
            };
            let entry = CacheEntry {
                queried,
                lookup,
                fetched_at: now,
            };
            serde_json::to_writer(&mut out, &entry).map_err(|e| e.to_string())?;
            out.write_all(b"\n").map_err(io)?;
            writeln!(hashes, "{sha}").map_err(io)?;
        }
        out.flush().map_err(io)?;
        hashes.flush().map_err(io)?;
        std::fs::write(&done, rows.to_string()).map_err(io)?;
    }
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    Ok((size(&list), size(&export)))
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A finished process: wall seconds and peak resident size.
pub struct Timed {
    pub secs: f64,
    pub peak_mb: f64,
}

/// `program` under GNU time (`/usr/bin/time`, Debian's `time`), which writes the peak
/// resident size (the kernel's `ru_maxrss` of the child) to a file of its own; add the
/// arguments and environment, then [`finish`] it.
pub fn under_time(program: &Path) -> (Command, std::path::PathBuf) {
    let rss = tempfile_path("rss");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%M").arg("-o").arg(&rss).arg(program);
    (cmd, rss)
}

/// Runs a command made by [`under_time`] with its standard output into `stdout`; fails
/// unless it exits 0.
pub fn finish(
    (mut cmd, rss): (Command, std::path::PathBuf),
    stdout: Stdio,
    what: &str,
) -> Result<Timed, String> {
    let started = Instant::now();
    let out = cmd
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            format!("cannot run {what} under /usr/bin/time ({e}): apt-get install time")
        })?;
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let kb: Option<f64> = std::fs::read_to_string(&rss)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()));
    let _ = std::fs::remove_file(&rss);
    if !out.status.success() {
        return Err(format!("{what} failed ({}): {stderr}", out.status));
    }
    let kb = kb.ok_or_else(|| format!("/usr/bin/time gave no peak size for {what}"))?;
    Ok(Timed {
        secs,
        peak_mb: kb / 1024.0,
    })
}

fn tempfile_path(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "vtsum-bench-{what}-{}-{}",
        std::process::id(),
        chrono_now_nanos()
    ))
}

fn chrono_now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

pub const KEY: &str = "bench-million-key";

pub(crate) struct Bench {
    pub bin: PathBuf,
    pub fake: fakevt::FakeVt,
    /// Where this run's store and outputs go (removed at the end).
    pub run: PathBuf,
    pub list: PathBuf,
    pub export: PathBuf,
    pub rows: usize,
}

impl Bench {
    /// `vtsum` on `store`, pointed at the fake, under GNU time.
    fn vtsum(&self, store: &str) -> (Command, PathBuf) {
        let (mut cmd, rss) = under_time(&self.bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.run)
            .env("XDG_DATA_HOME", self.run.join("data"))
            .env("XDG_CONFIG_HOME", self.run.join("config"))
            .env("VT_API_URL", self.fake.url())
            .env("VT_API_KEY", KEY)
            .env("VT_RATE", "1000000/1s")
            .env("VTSUM_STORE", store);
        (cmd, rss)
    }

    pub fn import(&self, store: &str) -> Result<Timed, String> {
        let mut cmd = self.vtsum(store);
        cmd.0.args(["cache", "import"]).arg(&self.export);
        finish(cmd, Stdio::null(), "vtsum cache import")
    }

    /// `vtsum scan` of `list` in `format` to a file; checks it holds `rows` rows.
    pub fn scan(
        &self,
        store: &str,
        format: &str,
        list: &Path,
        rows: usize,
    ) -> Result<Timed, String> {
        let out = self.run.join(format!("out.{format}"));
        let mut cmd = self.vtsum(store);
        cmd.0
            .args([
                "scan",
                "-q",
                "--concurrency",
                "32",
                "--format",
                format,
                "-o",
            ])
            .arg(&out)
            .arg(list);
        let timed = finish(cmd, Stdio::null(), &format!("vtsum scan --format {format}"))?;
        let lines = count_lines(&out, format == "csv")?;
        let want = rows + usize::from(format == "csv");
        if lines != want {
            return Err(format!("{} has {lines} lines, not {want}", out.display()));
        }
        let _ = std::fs::remove_file(&out);
        Ok(timed)
    }

    pub fn requests(&self) -> usize {
        self.fake.counters().arrivals.len()
    }
}

/// Lines of a file; in CSV, not counting line breaks inside a field's quotes (a hostile
/// file name holds one; JSON escapes them).
fn count_lines(path: &Path, csv: bool) -> Result<usize, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut n, mut quoted) = (0, false);
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => {
                for &b in &buf[..k] {
                    match b {
                        b'"' if csv => quoted = !quoted,
                        b'\n' if !quoted => n += 1,
                        _ => {}
                    }
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// A table row: what, seconds, rows/s, peak MB, and the ratio to the anchor.
pub(crate) fn line(what: &str, secs: f64, rows: usize, peak_mb: Option<f64>, anchor: f64) {
    println!(
        "| {what} | {secs:.2} | {:.0} | {} | {:.1}x |",
        rows as f64 / secs,
        peak_mb.map_or("–".to_string(), |m| format!("{m:.0} MB")),
        secs / anchor
    );
}

pub(crate) fn header(title: &str) {
    println!("{title}");
    println!();
    println!("| step | seconds | rows/s | peak RSS | vs anchor (time) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_are_distinct_and_parse() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            let h = super::sha256(i);
            assert!(vtsum_core::Hash::parse(&h).is_some(), "{h}");
            assert!(seen.insert(h));
        }
    }
}
