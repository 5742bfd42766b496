//! A cache file written by an older vtsum (schema 1: one JSON entry a row, engines inside)
//! opens in the new layout with every answer, its engines and its counts.

use vtsum_core::report::{CacheEntry, EngineResult, FileReport, ItemResult, Lookup, Stats};
use vtsum_core::results::ResultQuery;
use vtsum_core::store::{JobId, JobSpec, Store};
use vtsum_core::vt::v3;
use vtsum_core::Hash;
use vtsum_core::{RowOptions, Verdict};
use vtsum_store::sqlite::SqliteStore;

/// Schema 1's cache, as vtsum wrote it until the layout changed.
const V1: &str = "
CREATE TABLE cache (id TEXT PRIMARY KEY, kind TEXT NOT NULL, fetched_at INTEGER NOT NULL,
    entry TEXT NOT NULL);
CREATE TABLE cache_alias (hash TEXT PRIMARY KEY,
    id TEXT NOT NULL REFERENCES cache(id) ON DELETE CASCADE);
CREATE TABLE cache_counts (one INTEGER PRIMARY KEY CHECK (one = 1), found INTEGER NOT NULL,
    unknown INTEGER NOT NULL, bytes INTEGER NOT NULL);
INSERT INTO cache_counts VALUES (1, 7, 7, 7);
CREATE TRIGGER cache_counts_insert AFTER INSERT ON cache BEGIN
    UPDATE cache_counts SET found = found + 1; END;
CREATE TABLE jobs (id TEXT PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, cache_hits INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0, resumes_at INTEGER, error TEXT);
CREATE TABLE job_items (job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, hash TEXT NOT NULL, result TEXT, PRIMARY KEY (job_id, idx))
    WITHOUT ROWID;
PRAGMA user_version = 1;
";

fn h(c: char, n: usize) -> Hash {
    Hash::parse(&c.to_string().repeat(n)).unwrap()
}

fn old_found() -> CacheEntry {
    let mut file = FileReport {
        sha256: "a".repeat(64),
        md5: Some("b".repeat(32)),
        sha1: Some("c".repeat(40)),
        stats: Stats {
            malicious: 9,
            undetected: 50,
            ..Stats::default()
        },
        analysed: true,
        threat_label: Some("trojan.x".into()),
        names: vec!["x.exe".into()],
        ..FileReport::default()
    };
    file.engines.insert(
        "Engine".into(),
        EngineResult {
            category: "malicious".into(),
            result: Some("Evil".into()),
            version: None,
            update: None,
        },
    );
    CacheEntry {
        queried: h('b', 32),
        lookup: Lookup::Found(Box::new(file)),
        fetched_at: 100,
    }
}

#[test]
fn a_schema_1_cache_is_converted_with_its_engines_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let found = old_found();
    let unknown = CacheEntry {
        queried: h('d', 40),
        lookup: Lookup::Unknown,
        fetched_at: 5,
    };
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(V1).unwrap();
        for (id, kind, entry, aliases) in [
            (
                "a".repeat(64),
                "found",
                &found,
                vec!["a".repeat(64), "b".repeat(32), "c".repeat(40)],
            ),
            ("d".repeat(40), "unknown", &unknown, vec!["d".repeat(40)]),
        ] {
            let text = serde_json::to_string(entry).unwrap();
            conn.execute(
                "INSERT INTO cache VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, kind, entry.fetched_at, text],
            )
            .unwrap();
            for alias in aliases {
                conn.execute("INSERT INTO cache_alias VALUES (?1, ?2)", [&alias, &id])
                    .unwrap();
            }
        }
        // An entry no version could read: dropped, not fatal.
        conn.execute(
            "INSERT INTO cache VALUES ('e', 'found', 1, '{not json')",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    for hash in [h('a', 64), h('b', 32), h('c', 40)] {
        let got = store.cache_get(&hash).unwrap().expect("found by each hash");
        let Lookup::Found(file) = &got.lookup else {
            panic!("found")
        };
        assert_eq!(file.stats.malicious, 9);
        assert_eq!(file.threat_label.as_deref(), Some("trojan.x"));
        assert!(file.engines.is_empty(), "reports read no engines");
        assert_eq!(got.queried, h('b', 32));
    }
    let document = store
        .cache_document(&h('c', 40))
        .unwrap()
        .expect("a document");
    let engines = v3::parse_file(document.text().as_bytes()).unwrap().engines;
    let Lookup::Found(old) = &found.lookup else {
        unreachable!()
    };
    assert_eq!(engines, old.engines);
    assert_eq!(store.cache_get(&h('d', 40)).unwrap(), Some(unknown));
    let stats = store.cache_stats().unwrap();
    assert_eq!((stats.found, stats.unknown), (1, 1), "counted afresh");
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let left: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('cache', 'cache_alias')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the old tables are gone");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    // Opening again changes nothing.
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(again.cache_stats().unwrap(), stats);
}

#[test]
fn a_schema_1_job_keeps_its_results_and_pending_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let id = JobId("f".repeat(32));
    let spec = JobSpec {
        row_options: RowOptions {
            threshold: 10,
            engines: false,
        },
        ..JobSpec::default()
    };
    let found = ItemResult::Lookup {
        lookup: old_found().lookup,
        from_cache: true,
        fetched_at: 100,
    };
    let error = ItemResult::Error {
        message: "429 <b>".into(),
    };
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute(
            "INSERT INTO jobs (id, spec, state, created_at, updated_at, total, done, cache_hits,
               errors) VALUES (?1, ?2, 'running', 1, 1, 3, 2, 1, 1)",
            rusqlite::params![id.0, serde_json::to_string(&spec).unwrap()],
        )
        .unwrap();
        for (idx, hash, result) in [
            (0, "b".repeat(32), Some(&found)),
            (1, "1".repeat(64), Some(&error)),
            (2, "2".repeat(64), None),
        ] {
            conn.execute(
                "INSERT INTO job_items VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    id.0,
                    idx,
                    hash,
                    result.map(|r| serde_json::to_string(r).unwrap())
                ],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    let items = store.job_items(&id, 0, 10).unwrap();
    assert_eq!(items.len(), 3);
    let Some(ItemResult::Lookup {
        lookup: Lookup::Found(file),
        from_cache: true,
        ..
    }) = &items[0].result
    else {
        panic!("the found result is kept: {:?}", items[0].result)
    };
    assert_eq!(file.stats.malicious, 9);
    assert_eq!(items[1].result, Some(error));
    assert_eq!(items[2].result, None);
    let pending = store.job_pending(&id).unwrap();
    assert_eq!(pending.iter().map(|i| i.index).collect::<Vec<_>>(), vec![2]);
    let job = store.job_get(&id).unwrap().unwrap();
    assert_eq!((job.done, job.cache_hits, job.errors), (2, 1, 1));
    // 9 detections under the job's threshold of 10: suspicious, not malicious.
    let page = store
        .job_page(
            &job,
            &ResultQuery {
                limit: 10,
                verdict: Some(Verdict::Suspicious),
                options: spec.row_options,
                ..ResultQuery::default()
            },
        )
        .unwrap();
    assert_eq!(page.matching, 1);
    assert_eq!(page.rows[0].0, 0);
    let page = store
        .job_page(&job, &text_query("trojan", spec.row_options))
        .unwrap();
    assert_eq!(page.matching, 1, "the moved result is searchable");
}

fn text_query(text: &str, options: RowOptions) -> ResultQuery {
    ResultQuery {
        limit: 10,
        text: ResultQuery::new_text(text),
        options,
        ..ResultQuery::default()
    }
}

/// A schema 3 file had no `job_text`: opening it fills the text of the results it holds,
/// so a free-text page (which looks there first) still finds them; results recorded
/// after it are searchable as they come.
#[test]
fn a_schema_3_job_is_searchable_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    let id = JobId("e".repeat(32));
    let spec = JobSpec::default();
    let targets = vtsum_core::target::Target::files(&[h('b', 32), h('d', 32)]);
    let found = |label: &str| ItemResult::Lookup {
        lookup: Lookup::Found(Box::new(FileReport {
            sha256: "a".repeat(64),
            threat_label: Some(label.into()),
            analysed: true,
            ..FileReport::default()
        })),
        from_cache: false,
        fetched_at: 100,
    };
    {
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.job_create(&id, &spec, &targets, 1).unwrap());
        store
            .job_record(&id, 0, &found("trojan.before"), 2)
            .unwrap();
    }
    {
        // What schema 3 looked like: no text table, no trigger.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER job_results_text; DROP TABLE job_text; PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    store.job_record(&id, 1, &found("trojan.after"), 3).unwrap();
    let job = store.job_get(&id).unwrap().unwrap();
    for (text, index) in [("before", 0), ("after", 1)] {
        let page = store
            .job_page(&job, &text_query(text, spec.row_options))
            .unwrap();
        assert_eq!(page.matching, 1, "{text}");
        assert_eq!(page.rows[0].0, index, "{text}");
    }
}
