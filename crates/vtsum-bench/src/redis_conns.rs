//! Why the Redis store pools synchronous connections instead of sharing one multiplexed
//! async connection: the store's trait is synchronous and called from blocking threads, so
//! both are driven the way the store would drive them. 32 threads fetch a ~16 KB value
//! (a cached answer's size) for a few seconds through (a) a pool of 8 synchronous
//! connections checked out per call, as `redis_link` does, (b) one redis-rs
//! `ConnectionManager` (multiplexed, reconnecting) on a runtime thread of its own, each
//! call handed to it and the answer handed back, (c) one synchronous connection behind a
//! mutex (the store before).
//!
//! Needs `redis-server` on the PATH (one is started on a free port), or `--redis URL`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use vtsum_test_utils::RedisServer;

const THREADS: usize = 32;
const KEY: &str = "vtsum-bench-redis-conns";

/// Calls of `get` from every thread for `secs`, per second.
fn rate(secs: u64, get: &(dyn Fn() -> Result<usize, String> + Sync)) -> Result<f64, String> {
    let done = AtomicU64::new(0);
    let until = Instant::now() + Duration::from_secs(secs);
    let failed = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                while Instant::now() < until {
                    match get() {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                            return;
                        }
                    };
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    Ok(done.load(Ordering::Relaxed) as f64 / secs as f64)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let secs: u64 = crate::flag(args, "--seconds", 5)?;
    let given: String = crate::flag(args, "--redis", String::new())?;
    let own = if given.is_empty() {
        Some(RedisServer::spawn(false)?)
    } else {
        None
    };
    let url = own.as_ref().map_or(given, RedisServer::url);
    let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
    let e = |e: redis::RedisError| e.to_string();
    let mut setup = client.get_connection().map_err(e)?;
    redis::cmd("SET")
        .arg(KEY)
        .arg("x".repeat(16_000))
        .query::<()>(&mut setup)
        .map_err(e)?;

    let idle: Mutex<Vec<redis::Connection>> = Mutex::new(Vec::new());
    let pooled = rate(secs, &|| {
        let conn = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match conn {
            Some(c) => c,
            None => client.get_connection().map_err(e)?,
        };
        let v: String = redis::cmd("GET").arg(KEY).query(&mut conn).map_err(e)?;
        let mut idle = idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < 8 {
            idle.push(conn);
        }
        Ok(v.len())
    })?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = rt.handle().clone();
    let driver = std::thread::spawn(move || rt.block_on(async { stop_rx.await.ok() }));
    let manager = handle
        .block_on(redis::aio::ConnectionManager::new(client.clone()))
        .map_err(e)?;
    let multiplexed = rate(secs, &|| {
        let (tx, rx) = mpsc::sync_channel(1);
        let mut conn = manager.clone();
        handle.spawn(async move {
            let v: redis::RedisResult<String> =
                redis::cmd("GET").arg(KEY).query_async(&mut conn).await;
            let _ = tx.send(v);
        });
        let v = rx.recv().map_err(|e| e.to_string())?.map_err(e)?;
        Ok(v.len())
    })?;
    let _ = stop_tx.send(());
    let _ = driver.join();

    let one = Mutex::new(client.get_connection().map_err(e)?);
    let locked = rate(secs, &|| {
        let mut conn = one.lock().unwrap_or_else(|e| e.into_inner());
        let v: String = redis::cmd("GET").arg(KEY).query(&mut *conn).map_err(e)?;
        Ok(v.len())
    })?;

    println!("{THREADS} threads, GET of a 16 KB value, {secs} s each");
    println!();
    println!("| connection | calls/s |");
    println!("| --- | ---: |");
    println!("| pool of 8 synchronous connections (the store now) | {pooled:.0} |");
    println!(
        "| one multiplexed ConnectionManager, calls handed to its runtime | {multiplexed:.0} |"
    );
    println!("| one synchronous connection behind a mutex (before) | {locked:.0} |");
    Ok(())
}
