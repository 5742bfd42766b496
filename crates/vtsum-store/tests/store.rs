//! The store suite against every backend, plus what only SQLite has to prove: data survives
//! reopening, and several connections (as several processes would) count exactly.

use std::sync::Arc;

use vtsum_test_utils::{redis_url, unique_prefix};

use vtsum_core::store::{JobId, JobSpec, Store};
use vtsum_core::{Hash, KeyId, RowOptions};
use vtsum_store::memory::MemoryStore;
use vtsum_store::redis::RedisStore;
use vtsum_store::sqlite::SqliteStore;

vtsum_store::store_suite!(memory, || Box::new(MemoryStore::new()) as Box<dyn Store>);

vtsum_store::store_suite!(sqlite, || {
    // Each test gets its own file; the directory is leaked so it outlives the store.
    let dir = tempfile::tempdir().unwrap().keep();
    Box::new(SqliteStore::open(&dir.join("suite.db")).unwrap()) as Box<dyn Store>
});

vtsum_store::watch_suite!(sqlite_watch, || {
    // Each test gets its own file; the directory is leaked so it outlives the store.
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(SqliteStore::open(&dir.join("watch.db")).unwrap())
        as Arc<dyn vtsum_core::watch::WatchStore>
});
vtsum_store::watch_suite!(redis_watch, || {
    std::sync::Arc::new(redis_store()) as std::sync::Arc<dyn vtsum_core::watch::WatchStore>
});

fn redis_store() -> RedisStore {
    let url = format!("{}?prefix={}", redis_url(), unique_prefix());
    RedisStore::open(&url).unwrap_or_else(|e| {
        panic!("{e}\nthe Redis tests need a server: run ./scripts/test.sh, or set VTSUM_TEST_REDIS=redis://host:port/db")
    })
}

vtsum_store::store_suite!(redis, || Box::new(redis_store()) as Box<dyn Store>);

#[test]
fn redis_counts_exactly_from_many_connections_at_once() {
    let url = format!("{}?prefix={}", redis_url(), unique_prefix());
    let key = KeyId("feedbeef".into());
    let id = JobId("e".repeat(32));
    let hashes: Vec<Hash> = (0..40)
        .map(|i| Hash::parse(&format!("{i:032x}")).unwrap())
        .collect();
    RedisStore::open(&url)
        .unwrap()
        .job_create(&id, &spec(), &vtsum_core::Target::files(&hashes), 1)
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            let (key, id) = (key.clone(), id.clone());
            std::thread::spawn(move || {
                let s = RedisStore::open(&url).unwrap();
                for i in 0..40u64 {
                    s.ledger_add(&key, "2026-11-25", 1).unwrap();
                    // Every thread records every index: only the first result counts.
                    let r = vtsum_core::report::ItemResult::Error {
                        message: format!("t{t}"),
                    };
                    s.job_record(&id, i, &r, 2).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = RedisStore::open(&url).unwrap();
    assert_eq!(s.ledger_used(&key, "2026-11-25").unwrap(), 160);
    let job = s.job_get(&id).unwrap().unwrap();
    assert_eq!((job.done, job.errors), (40, 40));
    assert!(s.job_pending(&id).unwrap().is_empty());
}

fn spec() -> JobSpec {
    JobSpec {
        label: String::new(),
        row_options: RowOptions::default(),
        refresh: false,
        lines_without_hash: 0,
        duplicates: 0,
        origin: Default::default(),
        non_file_hashes: 0,
        ..JobSpec::default()
    }
}

#[test]
fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/v.db");
    let key = KeyId("12345678".into());
    {
        let s = SqliteStore::open(&path).unwrap();
        s.ledger_add(&key, "2026-11-24", 7).unwrap();
        s.job_create(
            &JobId("c".repeat(32)),
            &spec(),
            &[vtsum_core::Target::File(
                Hash::parse(&"a".repeat(32)).unwrap(),
            )],
            1,
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.ledger_used(&key, "2026-11-24").unwrap(), 7);
    assert_eq!(s.job_get(&JobId("c".repeat(32))).unwrap().unwrap().total, 1);
}

#[test]
fn concurrent_connections_on_one_file_count_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let id = JobId("d".repeat(32));
    let hashes: Vec<Hash> = (0..400)
        .map(|i| Hash::parse(&format!("{i:032x}")).unwrap())
        .collect();
    SqliteStore::open(&path)
        .unwrap()
        .job_create(&id, &spec(), &vtsum_core::Target::files(&hashes), 1)
        .unwrap();
    let key = KeyId("abcdef01".into());
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let path = path.clone();
            let id = id.clone();
            let key = key.clone();
            std::thread::spawn(move || {
                // Its own connection, as another process would have.
                let s = SqliteStore::open(&path).unwrap();
                for i in 0..500 {
                    s.ledger_add(&key, "2026-11-24", 1).unwrap();
                    if i < 200 {
                        let result = vtsum_core::report::ItemResult::Error {
                            message: format!("{t}"),
                        };
                        s.job_record(&id, (t * 200 + i) as u64, &result, 2).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(s.ledger_used(&key, "2026-11-24").unwrap(), 1000);
    let job = s.job_get(&id).unwrap().unwrap();
    assert_eq!((job.done, job.errors), (400, 400));
    assert!(s.job_pending(&id).unwrap().is_empty());
}

#[test]
fn a_large_job_is_created_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("big.db")).unwrap();
    let hashes: Vec<Hash> = (0..100_000u64)
        .map(|i| Hash::parse(&format!("{i:064x}")).unwrap())
        .collect();
    let id = JobId("e".repeat(32));
    assert!(s
        .job_create(&id, &spec(), &vtsum_core::Target::files(&hashes), 1)
        .unwrap());
    assert_eq!(s.job_get(&id).unwrap().unwrap().total, 100_000);
    assert_eq!(
        s.job_items(&id, 99_999, 10).unwrap()[0].target,
        vtsum_core::Target::File(hashes[99_999].clone())
    );
}

#[test]
fn store_urls_open_or_explain() {
    let dir = tempfile::tempdir().unwrap();
    let default = dir.path().join("default.db");
    let s = vtsum_store::open("none", &default).unwrap();
    assert!(s.describe().contains("memory"));
    let s = vtsum_store::open("sqlite", &default).unwrap();
    assert!(s.describe().ends_with("default.db"));
    let other = format!("sqlite:{}", dir.path().join("x.db").display());
    assert!(vtsum_store::open(&other, &default)
        .unwrap()
        .describe()
        .ends_with("x.db"));
    // A URL vtsum cannot use never repeats its password.
    let e = vtsum_store::open("postgres://admin:hunter2@db.example/x", &default)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("invalid store") && e.contains("db.example") && !e.contains("hunter2"),
        "{e}"
    );
    for bad in ["redis://", "postgres://x", "nonsense"] {
        let e = vtsum_store::open(bad, &default).err().unwrap().to_string();
        assert!(e.contains("invalid store"), "{bad}: {e}");
    }
    let s = vtsum_store::open(&redis_url(), &default).unwrap();
    assert!(s.describe().contains("prefix vtsum:"));
    // Nothing listens on port 1: the message names the server (without a password) and
    // says what to check.
    let e = vtsum_store::open("redis://:hunter2@127.0.0.1:1/0", &default)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("127.0.0.1:1") && e.contains("reachable") && !e.contains("hunter2"),
        "{e}"
    );
}

/// Both stores that share quotas grant a batch the day's last units rather than none.
#[test]
fn shared_quotas_grant_the_day_s_last_units_to_a_bigger_batch() {
    use vtsum_core::store::{QuotaRequest, SharedGrant};
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("q.db")).unwrap());
    let url = format!("{}?prefix={}", redis_url(), unique_prefix());
    let redis: Arc<dyn Store> = Arc::new(RedisStore::open(&url).unwrap());
    for store in [sqlite, redis] {
        let key = KeyId("batch-key".into());
        let day = vtsum_core::quota::utc_day();
        store.ledger_add(&key, &day, 497).unwrap();
        let windows = [(100, std::time::Duration::from_secs(1))];
        let req = |token: &'static str, cost| QuotaRequest {
            key: &key,
            windows: &windows,
            daily: Some(500),
            day: &day,
            cost,
            token,
            hold: std::time::Duration::from_secs(40),
        };
        let described = store.describe();
        assert_eq!(
            store.quota_acquire(&req("b1", 4)).unwrap(),
            SharedGrant::Granted(3),
            "{described}"
        );
        assert_eq!(store.ledger_used(&key, &day).unwrap(), 500, "{described}");
        assert_eq!(
            store.quota_acquire(&req("b2", 1)).unwrap(),
            SharedGrant::DayOut,
            "{described}"
        );
    }
}
