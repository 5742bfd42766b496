//! Multi-process utilisation: 1, 2 and 4 `vtsum worker` processes on one Redis share two
//! keys at 4 requests per second each (the public API's 4/min, compressed) and one web
//! job, put into the work queue exactly as `vtsum serve` puts it. Utilisation is what the
//! fake admitted in the first W windows after its first request, divided by the ideal
//! 2 x 4 x W; 429s and repeats come from the fake's own counters.
//!
//! Needs the release `vtsum` binary (`cargo build --release -p vtsum`) beside this one and a
//! `redis-server` on the PATH (one is started on a free port, append-only file in a
//! temporary folder, and stopped afterwards), or `--redis URL`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vtsum_core::store::{JobId, JobOrigin, JobSpec, Store};
use vtsum_core::{Hash, RowOptions};
use vtsum_store::redis::RedisStore;
use vtsum_test_utils::RedisServer;

const N: u32 = 4;
const WINDOW: Duration = Duration::from_secs(1);
const KEYS: [&str; 2] = ["bench-key-a", "bench-key-b"];

struct Outcome {
    in_span: usize,
    ideal: usize,
    refused: usize,
    per_hash_max: u64,
    secs: f64,
    /// Job parts each worker ran, from its own log.
    parts: Vec<usize>,
}

/// A worker process and the thread counting the parts it logs.
type Worker = (Child, std::thread::JoinHandle<usize>);

/// Starts a worker and waits until it says it is taking parts.
fn worker(bin: &PathBuf, fake: &fakevt::FakeVt, store: &str) -> Result<Worker, String> {
    let mut child = Command::new(bin)
        .env_clear()
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", KEYS.join(","))
        .env("VT_RATE", format!("{N}/{}ms", WINDOW.as_millis()))
        .env("VTSUM_STORE", store)
        .env("RUST_LOG", "warn,vtsum_web=debug")
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    match lines.next() {
        Some(Ok(line)) if line.contains("worker") => {}
        other => return Err(format!("the worker did not start: {other:?}")),
    }
    // Reading to the end also keeps the worker from blocking on a full pipe.
    let parts = std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .filter(|l| l.contains("running ") && l.contains(" of job "))
            .count()
    });
    Ok((child, parts))
}

async fn one(
    workers: usize,
    windows: usize,
    redis: &str,
    bin: &PathBuf,
) -> Result<Outcome, String> {
    let fake = fakevt::spawn(fakevt::Config {
        keys: KEYS.iter().map(|k| k.to_string()).collect(),
        limits: fakevt::Limits {
            windows: vec![(N, WINDOW)],
            daily: None,
        },
        seed: 3,
        corpus_size: 400,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .map_err(|e| e.to_string())?;
    let store_url = format!(
        "{redis}?prefix=vtsum-bench:{}:{workers}:",
        std::process::id()
    );
    let store = RedisStore::open(&store_url).map_err(|e| e.to_string())?;
    let mut children = Vec::new();
    for _ in 0..workers {
        children.push(worker(bin, &fake, &store_url)?);
    }
    let total = KEYS.len() * N as usize * (windows + 2);
    let hashes: Vec<Hash> = fake.corpus().files()[..total]
        .iter()
        .map(|f| Hash::parse(&f.sha256))
        .collect::<Option<_>>()
        .ok_or("bad hash")?;
    let spec = JobSpec {
        label: "bench".into(),
        row_options: RowOptions::default(),
        origin: JobOrigin::Web,
        non_file_hashes: 0,
        ..JobSpec::default()
    };
    let id = JobId::random();
    let started = Instant::now();
    store
        .job_create(
            &id,
            &spec,
            &vtsum_core::Target::files(&hashes),
            vtsum_core::engine::now_unix(),
        )
        .map_err(|e| e.to_string())?;
    loop {
        let job = store.job_get(&id).map_err(|e| e.to_string())?;
        if job.is_some_and(|j| j.done >= j.total) {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the job did not finish in 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut parts = Vec::new();
    for (mut child, counted) in children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
        parts.push(counted.join().unwrap_or(0));
    }
    let c = fake.counters();
    let t0 = c
        .arrivals
        .iter()
        .map(|a| a.at_ms)
        .fold(f64::INFINITY, f64::min);
    let span_ms = windows as f64 * WINDOW.as_secs_f64() * 1000.0;
    let in_span = c
        .arrivals
        .iter()
        .filter(|a| a.status == 200 || a.status == 404)
        .filter(|a| a.at_ms < t0 + span_ms)
        .count();
    Ok(Outcome {
        in_span,
        ideal: KEYS.len() * N as usize * windows,
        refused: c.arrivals.iter().filter(|a| a.status == 429).count(),
        per_hash_max: c.requests_by_hash.values().copied().max().unwrap_or(0),
        secs,
        parts,
    })
}

pub fn run(args: &[String]) -> Result<(), String> {
    let windows: usize = crate::flag(args, "--windows", 10)?;
    let given: String = crate::flag(args, "--redis", String::new())?;
    let bin = crate::vtsum_binary()?;
    let own = if given.is_empty() {
        Some(RedisServer::spawn(false)?)
    } else {
        None
    };
    let redis = own.as_ref().map_or(given, RedisServer::url);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "2 keys at {N} per {} ms each, one job of {} hashes, {windows} windows measured",
        WINDOW.as_millis(),
        KEYS.len() * N as usize * (windows + 2)
    );
    println!();
    println!("| workers | requests admitted in {windows} windows | ideal 2 x {N} x {windows} | utilisation | 429s | max requests per hash | job time | parts run by each worker |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for workers in [1, 2, 4] {
        let o = rt.block_on(one(workers, windows, &redis, &bin))?;
        let parts: Vec<String> = o.parts.iter().map(usize::to_string).collect();
        println!(
            "| {workers} | {} | {} | {:.1}% | {} | {} | {:.1} s | {} |",
            o.in_span,
            o.ideal,
            100.0 * o.in_span as f64 / o.ideal as f64,
            o.refused,
            o.per_hash_max,
            o.secs,
            parts.join(" / ")
        );
    }
    Ok(())
}
