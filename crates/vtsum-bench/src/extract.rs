//! Hash extraction speed: `vtsum extract FILE` as a whole process next to
//! `rg -o '[0-9a-fA-F]{32,64}'` and `LC_ALL=C grep -oE` on the same file, best of three runs
//! each with the page cache warm, plus the library on one thread in this process. The tools
//! do not find the same things (their pattern splits a SHA-512 and accepts 33-63 hex
//! digits; vtsum also dedups and counts lines); the number that matters is the ratio.
//!
//! Every tool writes into a pipe this process drains (GNU grep stops at the first match
//! when its output is `/dev/null`, so a fair comparison cannot use it); vtsum is also timed
//! with its output on `/dev/null`, the command.

use std::io::Read;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use vtsum_core::extract::extract_reader;

/// Writes a deterministic log-like text of about `mb` MB: log lines, CSV rows, e-mail-ish
/// prose, hashes of all three kinds (some upper case) and long hex runs that are not hashes.
fn generate(path: &PathBuf, mb: usize) -> std::io::Result<()> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    let mut state: u64 = 0x1234_5678_9abc_def0;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let hex = |n: u64, len: usize| -> String {
        let mut s = String::with_capacity(len);
        let mut x = n;
        for i in 0..len {
            if i % 16 == 0 {
                x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64);
            }
            s.push(b"0123456789abcdef"[(x >> ((i % 16) * 4) & 15) as usize] as char);
        }
        s
    };
    let target = mb * 1_000_000;
    let mut written = 0;
    let mut line = 0u64;
    while written < target {
        let r = next();
        let text = match r % 6 {
            0 => format!(
                "2026-11-24T10:{:02}:{:02}Z host-{} proc=svchost.exe sha256={} pid={}\n",
                line % 60,
                r % 60,
                r % 997,
                hex(r, 64),
                r % 65_536
            ),
            1 => format!(
                "{},{},{},\"C:\\\\Users\\\\a\\\\file{}.exe\"\n",
                hex(r, 32).to_uppercase(),
                hex(r >> 3, 40),
                r % 1000,
                line
            ),
            2 => {
                "Hello team, please check the attachment from the phishing e-mail below, thanks.\n"
                    .to_string()
            }
            3 => format!("sha512: {}\n", hex(r, 128)),
            4 => format!(
                "event id {} user=alice action=login result=success src=10.0.{}.{}\n",
                r % 100_000,
                r % 256,
                (r >> 8) % 256
            ),
            _ => format!(
                "md5 {} seen in {} and again {}\n",
                hex(r, 32),
                hex(r >> 5, 40),
                hex(r, 32)
            ),
        };
        w.write_all(text.as_bytes())?;
        written += text.len();
        line += 1;
    }
    w.flush()
}

fn best_of<F: FnMut() -> Result<usize, String>>(
    runs: usize,
    mut f: F,
) -> Result<(f64, usize), String> {
    let mut best = f64::INFINITY;
    let mut found = 0;
    for _ in 0..runs {
        let start = Instant::now();
        found = f()?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok((best, found))
}

/// Runs `cmd` with its output in a pipe drained here; the number of lines it printed.
fn lines_of(mut cmd: Command, name: &str) -> Result<usize, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {name}: {e}"))?;
    let mut out = child.stdout.take().ok_or("no pipe")?;
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 0;
    loop {
        match out.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
            Err(e) => return Err(format!("reading {name}: {e}")),
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    // grep exits 1 when nothing matched; anything else is a failed run.
    if !matches!(status.code(), Some(0 | 1)) {
        return Err(format!("{name} failed: {status}"));
    }
    Ok(lines)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mb: usize = crate::flag(args, "--size-mb", 200)?;
    let path = match args.iter().position(|a| a == "--file") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or("--file needs a path")?),
        None => {
            let dir = PathBuf::from("target/bench");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let p = dir.join(format!("hashes-{mb}mb.txt"));
            if !p.exists() {
                eprintln!("generating {}", p.display());
                generate(&p, mb).map_err(|e| e.to_string())?;
            }
            p
        }
    };
    let vtsum = crate::vtsum_binary()?;
    let bytes = std::fs::metadata(&path).map_err(|e| e.to_string())?.len() as f64;
    // Warm the page cache.
    std::io::copy(
        &mut std::fs::File::open(&path).map_err(|e| e.to_string())?,
        &mut std::io::sink(),
    )
    .map_err(|e| e.to_string())?;
    let (ours_null, _) = best_of(3, || {
        let status = Command::new(&vtsum)
            .arg("extract")
            .arg(&path)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run vtsum: {e}"))?;
        if !status.success() {
            return Err(format!("vtsum extract failed: {status}"));
        }
        Ok(0)
    })?;
    let (ours, found) = best_of(3, || {
        let mut cmd = Command::new(&vtsum);
        cmd.arg("extract").arg(&path);
        lines_of(cmd, "vtsum")
    })?;
    let (all_kinds, all_found) = best_of(3, || {
        let mut cmd = Command::new(&vtsum);
        cmd.args(["extract", "--kinds", "all"]).arg(&path);
        lines_of(cmd, "vtsum --kinds all")
    })?;
    let (library, _) = best_of(3, || {
        let f = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        Ok(extract_reader(f).map_err(|e| e.to_string())?.hashes.len())
    })?;
    let rg = best_of(3, || {
        let mut cmd = Command::new("rg");
        cmd.args([
            "-o",
            "--no-filename",
            "--no-line-number",
            "[0-9a-fA-F]{32,64}",
        ])
        .arg(&path);
        lines_of(cmd, "rg (apt-get install ripgrep)")
    });
    let (grep, grep_found) = best_of(3, || {
        let mut cmd = Command::new("grep");
        cmd.args(["-oE", "[0-9a-fA-F]{32,64}"])
            .arg(&path)
            .env("LC_ALL", "C");
        lines_of(cmd, "grep")
    })?;
    let mbs = |secs: f64| bytes / secs / 1e6;
    println!(
        "file: {} ({:.0} MB), cores: {}",
        path.display(),
        bytes / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| extractor | MB/s | printed | vs rg | vs grep |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let rg_secs = rg.as_ref().map_or(f64::NAN, |r| r.0);
    let row = |name: &str, secs: f64, printed: String| {
        println!(
            "| {name} | {:.0} | {printed} | {:.1}x | {:.1}x |",
            mbs(secs),
            rg_secs / secs,
            grep / secs
        );
    };
    row("`vtsum extract FILE > /dev/null`", ours_null, String::new());
    row(
        "`vtsum extract FILE \\| (pipe)`",
        ours,
        format!("{found} unique hashes"),
    );
    row(
        "`vtsum extract --kinds all FILE \\| (pipe)`",
        all_kinds,
        format!("{all_found} hashes, URLs, domains, IPs"),
    );
    row(
        "library, one thread (`extract_reader`)",
        library,
        String::new(),
    );
    match &rg {
        Ok((secs, n)) => row("`rg -o '[0-9a-fA-F]{32,64}'`", *secs, format!("{n} runs")),
        Err(e) => println!("| rg | not run: {e} | | | |"),
    }
    row(
        "`LC_ALL=C grep -oE '[0-9a-fA-F]{32,64}'`",
        grep,
        format!("{grep_found} runs"),
    );
    prose(&vtsum)
}

/// The example threat report repeated to 50 MB: prose, defanged URLs, domains and IPs,
/// where the indicator scanner does most of its work; hashes alone, then every kind.
fn prose(vtsum: &std::path::Path) -> Result<(), String> {
    let report = include_str!("../../../examples/threat-report.txt");
    let path = PathBuf::from("target/bench/threat-reports-50mb.txt");
    if !path.exists() {
        let mut text = String::with_capacity(51 << 20);
        let mut i = 0u64;
        while text.len() < 50_000_000 {
            // A different host and address a copy, so the set of indicators grows too.
            text.push_str(&report.replace("c2-panel", &format!("c2-panel-{i}")));
            text.push_str(&format!(
                "beacon to 45.{}.{}.{}\n",
                i % 200 + 1,
                (i / 200) % 250,
                i % 250
            ));
            i += 1;
        }
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
    }
    let bytes = std::fs::metadata(&path).map_err(|e| e.to_string())?.len() as f64;
    let time = |kinds: &str| {
        best_of(3, || {
            let mut cmd = Command::new(vtsum);
            cmd.args(["extract", "--kinds", kinds]).arg(&path);
            lines_of(cmd, "vtsum")
        })
    };
    let (hashes, _) = time("hashes")?;
    let (all, found) = time("all")?;
    println!();
    println!(
        "file: {} ({:.0} MB, the example threat report repeated)",
        path.display(),
        bytes / 1e6
    );
    println!();
    println!("| extractor | MB/s | printed | vs hashes only |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| `vtsum extract FILE` | {:.0} | | 1.0x |",
        bytes / hashes / 1e6
    );
    println!(
        "| `vtsum extract --kinds all FILE` | {:.0} | {found} | {:.2}x |",
        bytes / all / 1e6,
        hashes / all
    );
    Ok(())
}
