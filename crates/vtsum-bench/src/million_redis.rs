//! The `million` bench on Redis: import, then the cached scans, against an anchor that
//! reads every key the import wrote (SCAN under the store's prefix, then `DUMP` of each,
//! 1,000 to a pipeline) from this process; and the server's memory per entry.

use std::time::Instant;

use vtsum_test_utils::RedisServer;

use crate::seed::{header, line, Bench};

/// SCANs every key under `prefix` and DUMPs each (whatever its type), pipelined 1,000 at
/// a time: the keys and bytes read.
fn dump_all(url: &str, prefix: &str) -> Result<(usize, usize), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut con = client.get_connection().map_err(|e| e.to_string())?;
    let mut cursor: u64 = 0;
    let (mut keys, mut bytes) = (0, 0);
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query(&mut con)
            .map_err(|e| e.to_string())?;
        let mut pipe = redis::pipe();
        for k in &batch {
            pipe.cmd("DUMP").arg(k);
        }
        let dumped: Vec<Option<Vec<u8>>> = pipe.query(&mut con).map_err(|e| e.to_string())?;
        keys += batch.len();
        bytes += dumped.iter().flatten().map(Vec::len).sum::<usize>();
        if next == 0 {
            return Ok((keys, bytes));
        }
        cursor = next;
    }
}

fn used_memory(url: &str) -> Result<u64, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut con = client.get_connection().map_err(|e| e.to_string())?;
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query(&mut con)
        .map_err(|e| e.to_string())?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "INFO memory gave no used_memory".to_string())
}

/// Deletes every key under `prefix` (a server the bench did not start keeps its others).
fn clear(url: &str, prefix: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut con = client.get_connection().map_err(|e| e.to_string())?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut con)
        .map_err(|e| e.to_string())?;
    for chunk in keys.chunks(1000) {
        redis::cmd("UNLINK")
            .arg(chunk)
            .query::<i64>(&mut con)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

pub(crate) fn redis(bench: &Bench, given: &str) -> Result<(), String> {
    let own = if given.is_empty() {
        Some(RedisServer::spawn(false)?)
    } else {
        None
    };
    let base = own.as_ref().map_or(given.to_string(), RedisServer::url);
    let prefix = format!("vtsum-bench-million:{}:", std::process::id());
    let store = format!("{base}?prefix={prefix}");
    let result = measure(bench, &base, &prefix, &store);
    if own.is_none() {
        clear(&base, &prefix)?;
    }
    result
}

fn measure(bench: &Bench, base: &str, prefix: &str, store: &str) -> Result<(), String> {
    let rows = bench.rows;
    let memory_before = used_memory(base)?;
    let import = bench.import(store)?;
    let memory = used_memory(base)?.saturating_sub(memory_before);
    dump_all(base, prefix)?;
    let started = Instant::now();
    let (keys, bytes) = dump_all(base, prefix)?;
    let anchor = started.elapsed().as_secs_f64();
    let before = bench.requests();
    let csv = bench.scan(store, "csv", &bench.list, rows)?;
    let jsonl = bench.scan(store, "jsonl", &bench.list, rows)?;
    let asked = bench.requests() - before;
    header(&format!("{rows} hashes all in the Redis cache"));
    line(
        "`vtsum cache import export.jsonl` (seeding)",
        import.secs,
        rows,
        Some(import.peak_mb),
        anchor,
    );
    line(
        &format!("SCAN + pipelined DUMP of the store's {keys} keys (anchor, {bytes} bytes)"),
        anchor,
        rows,
        None,
        anchor,
    );
    line(
        "`vtsum scan --format csv -o out.csv hashes.txt`",
        csv.secs,
        rows,
        Some(csv.peak_mb),
        anchor,
    );
    line(
        "`vtsum scan --format jsonl -o out.jsonl hashes.txt`",
        jsonl.secs,
        rows,
        Some(jsonl.peak_mb),
        anchor,
    );
    println!();
    println!(
        "Redis used_memory after the import: {:.0} bytes/entry; requests the fake VirusTotal \
         received during the scans: {asked}",
        memory as f64 / rows as f64
    );
    println!();
    if asked != 0 {
        return Err(format!("the cached scans sent {asked} requests"));
    }
    Ok(())
}
