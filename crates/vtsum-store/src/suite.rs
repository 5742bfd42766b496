//! One test suite for every `vtsum_core::store::Store` backend, written once:
//! `vtsum_store::store_suite!(module_name, || Box::new(MyStore::new()) as Box<dyn Store>);`
//! expands to one `#[test]` per check. A backend passes when it behaves as the others do.

/// Expands to a module of tests over a backend made by `$make`.
#[macro_export]
macro_rules! store_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::core::report::{CacheEntry, FileReport, ItemResult, Lookup};
            use $crate::core::store::{JobId, JobSpec, JobState, Store};
            use $crate::core::{Hash, KeyId, RowOptions};

            fn store() -> Box<dyn Store> {
                ($make)()
            }

            $crate::cache_layout_suite!();
            $crate::page_suite!();
            $crate::answer_suite!();
            $crate::object_suite!();

            fn h(c: char, len: usize) -> Hash {
                Hash::parse(&c.to_string().repeat(len)).unwrap()
            }

            fn found(sha256: char, md5: char, sha1: char, at: i64) -> CacheEntry {
                CacheEntry {
                    queried: h(sha256, 64),
                    lookup: Lookup::Found(Box::new(FileReport {
                        sha256: h(sha256, 64).to_string(),
                        md5: Some(h(md5, 32).to_string()),
                        sha1: Some(h(sha1, 40).to_string()),
                        size: Some(at as u64),
                        ..FileReport::default()
                    })),
                    fetched_at: at,
                }
            }

            fn unknown(hash: Hash, at: i64) -> CacheEntry {
                CacheEntry {
                    queried: hash,
                    lookup: Lookup::Unknown,
                    fetched_at: at,
                }
            }

            fn spec() -> JobSpec {
                JobSpec {
                    label: "suite".into(),
                    row_options: RowOptions::default(),
                    refresh: false,
                    lines_without_hash: 2,
                    duplicates: 1,
                    origin: Default::default(),
                    non_file_hashes: 0,
                    ..JobSpec::default()
                }
            }

            fn ok(from_cache: bool) -> ItemResult {
                ItemResult::Lookup {
                    lookup: Lookup::Unknown,
                    from_cache,
                    fetched_at: 1,
                }
            }

            #[test]
            fn a_found_file_is_found_by_each_of_its_three_hashes() {
                let s = store();
                s.cache_put(&found('a', 'b', 'c', 10)).unwrap();
                for q in [h('a', 64), h('b', 32), h('c', 40)] {
                    let e = s.cache_get(&q).unwrap().expect("found by every hash");
                    assert_eq!(e.fetched_at, 10);
                }
                assert!(s.cache_get(&h('d', 64)).unwrap().is_none());
            }

            #[test]
            fn unknown_answers_are_found_by_their_exact_hash_and_replaced_when_known() {
                let s = store();
                s.cache_put(&unknown(h('b', 32), 5)).unwrap();
                assert_eq!(
                    s.cache_get(&h('b', 32)).unwrap().unwrap().lookup,
                    Lookup::Unknown
                );
                s.cache_put(&found('a', 'b', 'c', 6)).unwrap();
                let e = s.cache_get(&h('b', 32)).unwrap().unwrap();
                assert!(
                    matches!(e.lookup, Lookup::Found(_)),
                    "the file became known"
                );
                let st = s.cache_stats().unwrap();
                assert_eq!((st.found, st.unknown), (1, 0));
            }

            #[test]
            fn a_newer_answer_replaces_the_older() {
                let s = store();
                s.cache_put(&found('a', 'b', 'c', 1)).unwrap();
                s.cache_put(&found('a', 'b', 'c', 2)).unwrap();
                assert_eq!(s.cache_get(&h('c', 40)).unwrap().unwrap().fetched_at, 2);
                assert_eq!(s.cache_stats().unwrap().found, 1);
            }

            #[test]
            fn stats_export_and_clear() {
                let s = store();
                s.cache_put(&found('a', 'b', 'c', 1)).unwrap();
                s.cache_put(&unknown(h('e', 64), 1)).unwrap();
                s.cache_put(&unknown(h('f', 40), 1)).unwrap();
                let st = s.cache_stats().unwrap();
                assert_eq!((st.found, st.unknown), (1, 2));
                assert!(st.bytes > 0);
                let mut seen = Vec::new();
                s.cache_export(&mut |e| {
                    seen.push(e.queried.to_string());
                    Ok(())
                })
                .unwrap();
                seen.sort();
                assert_eq!(seen.len(), 3);
                assert_eq!(s.cache_clear().unwrap(), 3);
                assert!(s.cache_get(&h('b', 32)).unwrap().is_none());
                assert_eq!(s.cache_stats().unwrap().found, 0);
            }

            #[test]
            fn stats_kept_as_entries_come_and_go_match_a_fresh_count() {
                let s = store();
                assert_eq!(s.cache_stats().unwrap().found, 0);
                s.cache_put(&unknown(h('b', 32), 1)).unwrap();
                s.cache_put(&unknown(h('e', 64), 1)).unwrap();
                // Replaces the unknown answer for 'b', then is replaced by a longer one.
                s.cache_put(&found('a', 'b', 'c', 1)).unwrap();
                s.cache_put(&found('a', 'b', 'c', 1_000_000)).unwrap();
                s.cache_put(&unknown(h('e', 64), 300)).unwrap();
                // Counted from scratch on a backend that counts on first ask.
                let fresh = store();
                fresh.cache_put(&found('a', 'b', 'c', 1_000_000)).unwrap();
                fresh.cache_put(&unknown(h('e', 64), 300)).unwrap();
                let kept = s.cache_stats().unwrap();
                assert_eq!(kept, fresh.cache_stats().unwrap());
                assert_eq!((kept.found, kept.unknown), (1, 1));
                s.cache_clear().unwrap();
                s.cache_put(&unknown(h('f', 40), 1)).unwrap();
                let after = s.cache_stats().unwrap();
                assert_eq!((after.found, after.unknown), (0, 1));
                assert!(after.bytes > 0 && after.bytes < kept.bytes);
            }

            #[test]
            fn the_ledger_counts_per_key_and_day() {
                let s = store();
                let (a, b) = (KeyId("aaaa0000".into()), KeyId("bbbb0000".into()));
                assert_eq!(s.ledger_used(&a, "2026-01-01").unwrap(), 0);
                assert_eq!(s.ledger_add(&a, "2026-01-01", 3).unwrap(), 3);
                assert_eq!(s.ledger_add(&a, "2026-01-01", 1).unwrap(), 4);
                assert_eq!(s.ledger_add(&b, "2026-01-01", 2).unwrap(), 2);
                assert_eq!(s.ledger_add(&a, "2026-01-02", 1).unwrap(), 1);
                assert_eq!(s.ledger_used(&a, "2026-01-01").unwrap(), 4);
                let day = s.ledger_day("2026-01-01").unwrap();
                assert_eq!(day.get(&a), Some(&4));
                assert_eq!(day.get(&b), Some(&2));
                assert_eq!(day.len(), 2);
            }

            #[test]
            fn jobs_keep_their_hashes_in_order_and_count_results_once() {
                let s = store();
                let id = JobId("0123456789abcdef0123456789abcdef".into());
                let hashes = vec![h('1', 32), h('2', 40), h('3', 64), h('4', 32)];
                assert!(s
                    .job_create(&id, &spec(), &vtsum_core::Target::files(&hashes), 100)
                    .unwrap());
                assert!(
                    !s.job_create(&id, &spec(), &vtsum_core::Target::files(&hashes), 101)
                        .unwrap(),
                    "idempotent"
                );
                let job = s.job_get(&id).unwrap().unwrap();
                assert_eq!((job.total, job.done, job.state), (4, 0, JobState::Queued));
                assert_eq!(job.spec, spec());
                s.job_record(&id, 2, &ok(true), 102).unwrap();
                s.job_record(&id, 2, &ok(false), 103).unwrap();
                s.job_record(
                    &id,
                    0,
                    &ItemResult::Error {
                        message: "x".into(),
                    },
                    104,
                )
                .unwrap();
                let job = s.job_get(&id).unwrap().unwrap();
                assert_eq!((job.done, job.cache_hits, job.errors), (2, 1, 1));
                let pending: Vec<u64> = s
                    .job_pending(&id)
                    .unwrap()
                    .iter()
                    .map(|i| i.index)
                    .collect();
                assert_eq!(pending, vec![1, 3]);
                let items = s.job_items(&id, 1, 2).unwrap();
                assert_eq!(items.len(), 2);
                assert_eq!(items[0].target, vtsum_core::Target::File(hashes[1].clone()));
                assert_eq!(items[1].result, Some(ok(true)), "the first result wins");
                assert_eq!(s.job_items(&id, 0, 100).unwrap().len(), 4);
            }

            #[test]
            fn many_results_are_recorded_at_once_and_each_only_once() {
                let s = store();
                let id = JobId("fedcba9876543210fedcba9876543210".into());
                let hashes = vec![h('5', 32), h('6', 40), h('7', 64), h('8', 32)];
                s.job_create(&id, &spec(), &vtsum_core::Target::files(&hashes), 100)
                    .unwrap();
                s.job_record(&id, 1, &ok(false), 101).unwrap();
                let error = ItemResult::Error {
                    message: "x".into(),
                };
                // Index 1 already has its result: it stays, and is not counted again.
                let batch = [(0, &ok(true)), (1, &ok(true)), (3, &error)];
                s.job_record_many(&id, &batch, 102).unwrap();
                s.job_record_many(&id, &batch, 103).unwrap();
                let job = s.job_get(&id).unwrap().unwrap();
                assert_eq!((job.done, job.cache_hits, job.errors), (3, 1, 1));
                let items = s.job_items(&id, 0, 10).unwrap();
                let results: Vec<_> = items.iter().map(|i| i.result.clone()).collect();
                assert_eq!(
                    results,
                    vec![Some(ok(true)), Some(ok(false)), None, Some(error.clone())]
                );
                s.job_record_many(&id, &[], 104).unwrap();
                assert_eq!(s.job_get(&id).unwrap().unwrap().done, 3);
            }

            #[test]
            fn a_big_batch_of_results_is_recorded_whole() {
                // More than one script's or statement's worth, on a backend that cuts it.
                let s = store();
                let id = JobId("b".repeat(32));
                let hashes: Vec<Hash> = (0..600u32)
                    .map(|i| Hash::parse(&format!("{i:064x}")).unwrap())
                    .collect();
                s.job_create(&id, &spec(), &vtsum_core::Target::files(&hashes), 100)
                    .unwrap();
                let (hit, miss) = (ok(true), ok(false));
                let batch: Vec<(u64, &ItemResult)> = (0..600u64)
                    .map(|i| (i, if i % 3 == 0 { &hit } else { &miss }))
                    .collect();
                s.job_record_many(&id, &batch, 101).unwrap();
                let job = s.job_get(&id).unwrap().unwrap();
                assert_eq!((job.done, job.cache_hits, job.errors), (600, 200, 0));
                assert!(s.job_pending(&id).unwrap().is_empty());
                let last = s.job_items(&id, 599, 1).unwrap().remove(0);
                assert_eq!(last.result, Some(miss));
            }

            #[test]
            fn job_state_list_and_delete() {
                let s = store();
                let a = JobId("a".repeat(32));
                let b = JobId("b".repeat(32));
                s.job_create(&a, &spec(), &vtsum_core::Target::files(&[h('1', 32)]), 100)
                    .unwrap();
                s.job_create(&b, &spec(), &vtsum_core::Target::files(&[h('2', 32)]), 200)
                    .unwrap();
                s.job_set_state(&a, JobState::WaitingQuota, Some(86_400), None, 150)
                    .unwrap();
                let job = s.job_get(&a).unwrap().unwrap();
                assert_eq!(
                    (job.state, job.resumes_at, job.updated_at),
                    (JobState::WaitingQuota, Some(86_400), 150)
                );
                s.job_set_state(&a, JobState::Failed, None, Some("boom"), 160)
                    .unwrap();
                assert_eq!(
                    s.job_get(&a).unwrap().unwrap().error.as_deref(),
                    Some("boom")
                );
                let ids: Vec<JobId> = s.job_list().unwrap().into_iter().map(|j| j.id).collect();
                assert_eq!(ids, vec![b.clone(), a.clone()], "newest first");
                assert!(s.job_delete(&a).unwrap());
                assert!(!s.job_delete(&a).unwrap());
                assert!(s.job_get(&a).unwrap().is_none());
                assert!(s.job_items(&a, 0, 10).unwrap().is_empty());
                assert_eq!(s.job_list().unwrap().len(), 1);
                // Jobs created within one second list in creation order too (newest
                // first), whatever their ids.
                let ids: Vec<JobId> = ["f", "0", "9", "1"]
                    .iter()
                    .map(|c| JobId(c.repeat(32)))
                    .collect();
                for id in &ids {
                    s.job_create(id, &spec(), &vtsum_core::Target::files(&[h('3', 32)]), 300)
                        .unwrap();
                }
                let listed: Vec<JobId> = s.job_list().unwrap().into_iter().map(|j| j.id).collect();
                let newest_first: Vec<JobId> = ids.iter().rev().cloned().chain([b]).collect();
                assert_eq!(listed, newest_first, "creation order within a second");
            }
        }
    };
}
