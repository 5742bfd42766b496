//! Quota utilisation: 1, 2 and 4 keys at a compressed public-API rate (4 requests per
//! second instead of per minute) against the fake VirusTotal, over at least ten windows.
//! Utilisation is what the fake admitted in the first W windows after its first request,
//! divided by the ideal K x N x W; the 429 count comes from the fake's own counters.

use std::sync::Arc;
use std::time::Duration;

use vtsum_core::engine::{Cancel, Engine, EngineConfig, RunOptions, RunOutcome};
use vtsum_core::store::JobSpec;
use vtsum_core::vt::{ApiVersion, ClientConfig};
use vtsum_core::{ApiKey, Hash, RowOptions};
use vtsum_store::memory::MemoryStore;

const N: u32 = 4;

struct Outcome {
    in_span: usize,
    hashes_in_span: usize,
    ideal: usize,
    refused: usize,
    per_hash_max: f64,
}
const WINDOW: Duration = Duration::from_secs(1);

async fn one(keys: usize, windows: usize, version: ApiVersion) -> Result<Outcome, String> {
    let names: Vec<String> = (0..keys).map(|i| format!("bench-key-{i}")).collect();
    let fake = fakevt::spawn(fakevt::Config {
        keys: names.clone(),
        limits: fakevt::Limits {
            windows: vec![(N, WINDOW)],
            daily: None,
        },
        seed: 1,
        corpus_size: 400,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .map_err(|e| e.to_string())?;
    let total = keys * N as usize * (windows + 1);
    let hashes: Vec<Hash> = (0..total)
        .map(|i| match fake.corpus().files().get(i) {
            Some(f) => Hash::parse(&f.sha256),
            None => Hash::parse(&fakevt::unknown_hash(i as u64)),
        })
        .collect::<Option<_>>()
        .ok_or("bad hash")?;
    let engine = Engine::new(
        EngineConfig {
            keys: names.iter().map(ApiKey::new).collect(),
            rate: format!("{N}/{}ms", WINDOW.as_millis())
                .parse()
                .map_err(|e| format!("{e}"))?,
            daily_fallback: None,
            client: ClientConfig {
                base_url: fake.url(),
                version,
                timeout: Duration::from_secs(10),
            },
            concurrency: 16,
            max_age_found: Duration::from_secs(86_400),
            max_age_unknown: Duration::from_secs(86_400),
            retries: 3,
            backoff: Duration::from_millis(100),
        },
        Arc::new(MemoryStore::new()),
    )
    .map_err(|e| e.to_string())?;
    let spec = JobSpec {
        label: "bench".into(),
        row_options: RowOptions::default(),
        refresh: false,
        lines_without_hash: 0,
        duplicates: 0,
        origin: Default::default(),
        non_file_hashes: 0,
        ..JobSpec::default()
    };
    let (job, _) = engine
        .open_scan(spec, &vtsum_core::Target::files(&hashes))
        .map_err(|e| e.to_string())?;
    let outcome = engine
        .run_job(&job.id, RunOptions::default(), &|_| {}, &Cancel::new())
        .await
        .map_err(|e| e.to_string())?;
    if outcome != RunOutcome::Done {
        return Err(format!("run ended {outcome:?}"));
    }
    let c = fake.counters();
    // Utilisation counts quota units: a v2 request for four hashes costs four (DESIGN.md),
    // so batching saves round trips, not quota.
    let admitted: Vec<(f64, usize)> = c
        .arrivals
        .iter()
        .filter(|a| a.status != 429 && a.status != 401)
        .map(|a| (a.at_ms, a.hashes.len().max(1)))
        .collect();
    let t0 = admitted.iter().map(|a| a.0).fold(f64::INFINITY, f64::min);
    let span_ms = windows as f64 * WINDOW.as_secs_f64() * 1000.0;
    let in_span = admitted.iter().filter(|a| a.0 < t0 + span_ms).count();
    let hashes_in_span: usize = admitted
        .iter()
        .filter(|a| a.0 < t0 + span_ms)
        .map(|a| a.1)
        .sum();
    let ideal = keys * N as usize * windows;
    let refused = c.arrivals.iter().filter(|a| a.status == 429).count();
    let per_hash_max = c.requests_by_hash.values().copied().max().unwrap_or(0) as f64;
    Ok(Outcome {
        in_span,
        hashes_in_span,
        ideal,
        refused,
        per_hash_max,
    })
}

pub fn run(args: &[String]) -> Result<(), String> {
    let windows: usize = crate::flag(args, "--windows", 10)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!("rate per key: {N} per {} ms (the public API's 4/min, compressed), {windows} windows measured", WINDOW.as_millis());
    println!();
    println!("| API | keys | requests admitted in {windows} windows | quota units used | ideal K x N x W | utilisation | 429s | max requests per hash |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (version, name) in [
        (ApiVersion::V3, "v3"),
        (ApiVersion::V2, "v2 (batches of 4)"),
    ] {
        for keys in [1, 2, 4] {
            let o = rt.block_on(one(keys, windows, version))?;
            println!(
                "| {name} | {keys} | {} | {} | {} | {:.1}% | {} | {} |",
                o.in_span,
                o.hashes_in_span,
                o.ideal,
                100.0 * o.hashes_in_span as f64 / o.ideal as f64,
                o.refused,
                o.per_hash_max
            );
        }
    }
    Ok(())
}
