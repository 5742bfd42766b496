//! A scan's rows from the cache first (`engine::ScanRows`) over a real store: the first
//! walk hands over the cached rows up to the first miss and gives the misses to its
//! caller; the rest comes in input order; an answer the cache no longer holds when the
//! rest is written is an error row saying so, not a row left out.

mod common;

use std::sync::{Arc, Mutex};

use common::{config, memory_store};
use vtsum_core::engine::{Engine, ScanRows};
use vtsum_core::render::RowSource;
use vtsum_core::report::{CacheEntry, Lookup, Row, RowOptions, Status};
use vtsum_core::{Hash, Target};

fn hash(i: u8) -> Hash {
    Hash::parse(&format!("{i:02x}").repeat(32)).unwrap()
}

fn walk(rows: &dyn RowSource) -> Vec<Row> {
    let mut out = Vec::new();
    rows.each(&mut |row| {
        out.push(row.clone());
        Ok(())
    })
    .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_rows_come_first_the_misses_go_to_the_caller_and_a_lost_answer_says_so() {
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &[], None))
        .await
        .unwrap();
    let store = memory_store();
    let engine = Engine::new(config(&fake, &["k1"], "4/min"), store.clone()).unwrap();
    let now = chrono::Utc::now().timestamp();
    // Cached: 0, 1, 3, 4. Not: 2.
    let cached: Vec<CacheEntry> = [0u8, 1, 3, 4]
        .iter()
        .map(|&i| CacheEntry {
            queried: hash(i),
            lookup: Lookup::Unknown,
            fetched_at: now,
        })
        .collect();
    store.cache_put_many(&cached).unwrap();
    let items: Vec<Target> = (0..5).map(|i| Target::File(hash(i))).collect();
    let options = RowOptions::default();

    let given = Arc::new(Mutex::new(Vec::new()));
    let seen = given.clone();
    let store_in_run = store.clone();
    let rows = ScanRows::new(
        &engine,
        &items,
        options,
        Box::new(move |misses| {
            seen.lock().unwrap().extend(misses);
            // While "the misses run", the cache loses an answer the first walk saw.
            let clear = store_in_run.cache_clear().unwrap();
            assert_eq!(clear, 4);
            Ok(None)
        }),
    );
    let mut order = Vec::new();
    let mut before_misses = 0;
    rows.each(&mut |row| {
        if given.lock().unwrap().is_empty() {
            before_misses += 1;
        }
        order.push(row.clone());
        Ok(())
    })
    .unwrap();
    assert_eq!(*given.lock().unwrap(), vec![2]);
    assert_eq!(
        before_misses, 2,
        "rows 0 and 1 came before the misses were run"
    );
    let inputs: Vec<&str> = order.iter().map(|r| r.input.as_str()).collect();
    let want: Vec<String> = (0..5).map(|i| hash(i).as_str().to_string()).collect();
    assert_eq!(inputs, want, "input order, the miss in its place");
    assert_eq!(order[0].status, Status::Unknown);
    assert!(order[0].from_cache);
    for (i, row) in order.iter().enumerate().skip(2) {
        assert_eq!(row.status, Status::Error, "{i}");
        let message = row.error.as_deref().unwrap_or_default();
        assert!(message.contains("no longer holds"), "{message}");
    }

    // A second walk (a format that walks twice) merges from the start, the run not
    // asked for again.
    store.cache_put_many(&cached).unwrap();
    let again = walk(&rows);
    assert_eq!(again.len(), 5);
    assert_eq!(again[0].status, Status::Unknown);
    assert_eq!(again[2].status, Status::Error);
    assert_eq!(*given.lock().unwrap(), vec![2]);
}
