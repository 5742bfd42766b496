//! `vtsum-bench`: the numbers in BENCHMARKS.md, measured in one run each.
//!
//! `cargo run --release -p vtsum-bench -- quota`, `... -- extract [--size-mb 200]` and
//! `... -- workers`, `... -- across-runs`, `... -- lookups`, `... -- redis-conns`, `... -- million` and `... -- vtpy` (after
//! `cargo build --release -p vtsum`).

mod across_runs;
mod extract;
mod lookups;
mod million;
mod million_redis;
mod quota;
mod redis_conns;
mod seed;
mod vtpy;
mod workers;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("extract") => extract::run(&args[1..]),
        Some("quota") => quota::run(&args[1..]),
        Some("workers") => workers::run(&args[1..]),
        Some("across-runs") => across_runs::run(&args[1..]),
        Some("lookups") => lookups::run(&args[1..]),
        Some("redis-conns") => redis_conns::run(&args[1..]),
        Some("million") => million::run(&args[1..]),
        Some("vtpy") => vtpy::run(&args[1..]),
        _ => Err(
            "usage: vtsum-bench quota [--windows N] | extract [--size-mb N] [--file PATH] \
             | workers [--windows N] [--redis URL] | across-runs [--windows N] \
             | lookups [--files N] [--seconds N] [--redis URL|none] \
             | redis-conns [--seconds N] [--redis URL] \
             | million [--rows N] [--store sqlite|redis] [--vtsum PATH] [--redis URL] \
             [--none-rows N,M] [--dir DIR] | vtpy [--hashes N]"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("vtsum-bench: {e}");
        std::process::exit(2);
    }
}

/// The value after `--name` in `args`, parsed.
pub fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a value")),
    }
}

/// The release `vtsum` binary beside this one, for the benchmarks that run processes.
pub fn vtsum_binary() -> Result<std::path::PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name("vtsum");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it first with `cargo build --release -p vtsum`",
            path.display()
        ))
    }
}

/// Waits for a started `vtsum serve` to say where it listens; returns its base URL and
/// keeps reading its stderr so it never blocks on a full pipe.
pub fn served_url(child: &mut std::process::Child) -> Result<String, String> {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.split("serving on ").nth(1) {
                    break rest.split_whitespace().next().unwrap_or("").to_string();
                }
            }
            _ => return Err("vtsum serve did not start".into()),
        }
    };
    std::thread::spawn(move || lines.map_while(Result::ok).count());
    Ok(url)
}
