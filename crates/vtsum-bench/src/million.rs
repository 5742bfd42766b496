//! A million cached hashes: `vtsum cache import` of a cache export of N answers into a
//! fresh store, then `vtsum scan` of all N (every one in the cache) to CSV and to JSON
//! Lines, each a whole process timed with its peak resident size, against a fake
//! VirusTotal that must receive no request. The anchor in the same run reads the same
//! rows without vtsum: `sqlite3 DB 'SELECT * FROM answers'` (`cache` before issue 13) for SQLite, every key of the
//! store read back with pipelined `DUMP`s for Redis. Also the store's bytes per entry, and
//! `--store none` scans the fake answers (a few thousand hashes, then ten times as many):
//! the peak size there says what each row costs when nothing is cached.
//!
//! `vtsum-bench million [--rows 1000000] [--store sqlite|redis] [--vtsum PATH]
//! [--redis URL] [--none-rows 3000,30000] [--dir DIR]`; `--vtsum` runs another binary
//! (the figures before a change). Needs GNU time (`/usr/bin/time`) and `sqlite3`; Redis:
//! a `redis-server` is started unless `--redis` names one.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::seed::{finish, generate, header, line, under_time, Bench, Timed, KEY};

pub fn run(args: &[String]) -> Result<(), String> {
    let rows: usize = crate::flag(args, "--rows", 1_000_000)?;
    let kind: String = crate::flag(args, "--store", "sqlite".to_string())?;
    let bin = match args.iter().position(|a| a == "--vtsum") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or("--vtsum needs a path")?),
        None => crate::vtsum_binary()?,
    };
    let none_rows: String = crate::flag(args, "--none-rows", "3000,30000".to_string())?;
    let none_rows: Vec<usize> = none_rows
        .split(',')
        .filter(|s| !s.is_empty() && *s != "0")
        .map(|s| s.parse().map_err(|_| format!("bad --none-rows {s:?}")))
        .collect::<Result<_, _>>()?;
    let given_redis = crate::flag(
        args,
        "--redis",
        std::env::var("VTSUM_BENCH_REDIS").unwrap_or_default(),
    )?;
    let dir = PathBuf::from(crate::flag(
        args,
        "--dir",
        format!("target/bench/million-{rows}"),
    )?);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (list_bytes, export_bytes) = generate(&dir, rows)?;
    eprintln!("input ready in {:.1} s", started.elapsed().as_secs_f64());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let fake = rt
        .block_on(fakevt::spawn(fakevt::Config {
            corpus_size: none_rows.iter().copied().max().unwrap_or(0).max(300),
            ..vtsum_test_utils::fake_config(&[KEY], &[(1_000_000, Duration::from_secs(1))], None)
        }))
        .map_err(|e| e.to_string())?;
    let run = std::env::temp_dir().join(format!("vtsum-bench-million-{}", std::process::id()));
    std::fs::create_dir_all(&run).map_err(|e| e.to_string())?;
    let bench = Bench {
        bin,
        fake,
        run: run.clone(),
        list: dir.join("hashes.txt"),
        export: dir.join("export.jsonl"),
        rows,
    };
    println!(
        "binary: {}; {rows} hashes ({:.0} MB), cache export {:.0} MB ({:.0} bytes/entry), \
         one in {} unknown; cores: {}",
        bench.bin.display(),
        list_bytes as f64 / 1e6,
        export_bytes as f64 / 1e6,
        export_bytes as f64 / rows as f64,
        crate::seed::UNKNOWN_EVERY,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    let result = match kind.as_str() {
        "sqlite" => sqlite(&bench),
        "redis" => crate::million_redis::redis(&bench, &given_redis),
        other => Err(format!("--store {other:?}: use sqlite or redis")),
    }
    .and_then(|()| none(&bench, &none_rows));
    let _ = std::fs::remove_dir_all(&run);
    result
}

fn sqlite(bench: &Bench) -> Result<(), String> {
    let rows = bench.rows;
    let db = bench.run.join("vtsum.db");
    let store = format!("sqlite:{}", db.display());
    let import = bench.import(&store)?;
    let after_import = db_bytes(&db);
    // The anchor: the same rows read by sqlite3 itself, page cache warm as for vtsum:
    // the cache's table, `answers` (columns) since issue 13, `cache` (JSON) before it.
    let table = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT name FROM sqlite_master WHERE name IN ('answers', 'cache')")
        .output()
        .map_err(|e| format!("sqlite3: {e} (apt-get install sqlite3)"))?;
    let table = String::from_utf8_lossy(&table.stdout).trim().to_string();
    let query = format!("SELECT * FROM {table}");
    let anchor = || -> Result<Timed, String> {
        let (mut cmd, rss) = under_time(Path::new("sqlite3"));
        cmd.arg(&db).arg(&query);
        finish(
            (cmd, rss),
            Stdio::null(),
            "sqlite3 (apt-get install sqlite3)",
        )
    };
    anchor()?;
    let sql = anchor()?;
    let before = bench.requests();
    let csv = bench.scan(&store, "csv", &bench.list, rows)?;
    let jsonl = bench.scan(&store, "jsonl", &bench.list, rows)?;
    let asked = bench.requests() - before;
    let after_scans = db_bytes(&db);
    header(&format!("{rows} hashes all in the SQLite cache"));
    line(
        "`vtsum cache import export.jsonl` (seeding)",
        import.secs,
        rows,
        Some(import.peak_mb),
        sql.secs,
    );
    line(
        &format!("`sqlite3 DB '{query}' > /dev/null` (anchor)"),
        sql.secs,
        rows,
        Some(sql.peak_mb),
        sql.secs,
    );
    line(
        "`vtsum scan --format csv -o out.csv hashes.txt`",
        csv.secs,
        rows,
        Some(csv.peak_mb),
        sql.secs,
    );
    line(
        "`vtsum scan --format jsonl -o out.jsonl hashes.txt`",
        jsonl.secs,
        rows,
        Some(jsonl.peak_mb),
        sql.secs,
    );
    println!();
    println!(
        "SQLite file (with -wal): {:.0} bytes/entry after the import, {:.0} bytes/entry with \
         the two scans' jobs; requests the fake VirusTotal received during the scans: {asked}",
        after_import as f64 / rows as f64,
        after_scans as f64 / rows as f64
    );
    println!();
    if asked != 0 {
        return Err(format!("the cached scans sent {asked} requests"));
    }
    Ok(())
}

fn db_bytes(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| {
            let mut p = db.as_os_str().to_owned();
            p.push(s);
            std::fs::metadata(PathBuf::from(p)).map_or(0, |m| m.len())
        })
        .sum()
}

/// `--store none`: scans the fake answers, nothing cached; the peak grows with the rows
/// held.
fn none(bench: &Bench, sizes: &[usize]) -> Result<(), String> {
    if sizes.is_empty() {
        return Ok(());
    }
    println!("`vtsum scan --store none` (every hash asked of the fake VirusTotal)");
    println!();
    println!("| hashes | seconds | rows/s | peak RSS | requests |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    let mut peaks = Vec::new();
    for &n in sizes {
        let list = bench.run.join(format!("none-{n}.txt"));
        std::fs::write(&list, bench.fake.corpus().sha256s(n).join("\n"))
            .map_err(|e| e.to_string())?;
        let before = bench.requests();
        let t = bench.scan("none", "csv", &list, n)?;
        let asked = bench.requests() - before;
        println!(
            "| {n} | {:.2} | {:.0} | {:.0} MB | {asked} |",
            t.secs,
            n as f64 / t.secs,
            t.peak_mb
        );
        peaks.push((n, t.peak_mb));
    }
    if let (Some(first), Some(last)) = (peaks.first(), peaks.last()) {
        if last.0 > first.0 {
            println!();
            println!(
                "peak growth: {:.1} KB per row",
                (last.1 - first.1) * 1024.0 / (last.0 - first.0) as f64
            );
        }
    }
    println!();
    Ok(())
}
