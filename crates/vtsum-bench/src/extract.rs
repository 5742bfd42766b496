//! Hash extraction speed next to `grep -oE '[0-9a-fA-F]{32,64}'` on the same file, best of
//! three runs each with the page cache warm. The two do not find the same things (grep's
//! pattern splits a SHA-512 and accepts 33-63 hex digits); the number that matters is the
//! ratio of throughputs.

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
    let bytes = std::fs::metadata(&path).map_err(|e| e.to_string())?.len() as f64;
    // Warm the page cache.
    std::io::copy(
        &mut std::fs::File::open(&path).map_err(|e| e.to_string())?,
        &mut std::io::sink(),
    )
    .map_err(|e| e.to_string())?;
    let (ours, found) = best_of(3, || {
        let f = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        Ok(extract_reader(f).map_err(|e| e.to_string())?.hashes.len())
    })?;
    let grep = |locale: &str| {
        best_of(3, || {
            let out = Command::new("grep")
                .args(["-oE", "[0-9a-fA-F]{32,64}"])
                .arg(&path)
                .env("LC_ALL", locale)
                .stderr(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run grep: {e}"))?;
            Ok(out.stdout.iter().filter(|&&b| b == b'\n').count())
        })
    };
    let (grep_c, grep_found) = grep("C")?;
    let (grep_utf8, _) = grep("C.UTF-8")?;
    let mbs = |secs: f64| bytes / secs / 1e6;
    println!(
        "file: {} ({:.0} MB), cores: {}",
        path.display(),
        bytes / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| extractor | MB/s | matches | vs grep (LC_ALL=C) |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| vtsum extract_reader | {:.0} | {found} unique hashes | {:.1}x |",
        mbs(ours),
        grep_c / ours
    );
    println!(
        "| grep -oE '[0-9a-fA-F]{{32,64}}', LC_ALL=C | {:.0} | {grep_found} runs | 1.0x |",
        mbs(grep_c)
    );
    println!(
        "| same grep, LC_ALL=C.UTF-8 | {:.0} | | {:.1}x |",
        mbs(grep_utf8),
        grep_c / grep_utf8
    );
    Ok(())
}
