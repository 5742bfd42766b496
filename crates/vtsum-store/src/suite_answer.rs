//! The store suite's check of the cache pass ([`Store::job_answer_from_cache`]): a
//! backend's own pass answers exactly what the lookups answer
//! ([`answer_from_cache_by_lookups`]) — the same items, results, rows, counters and
//! verdicts — across fresh, stale, future-dated, unknown and uncached answers asked by
//! sha256, md5 and sha1, with and without `--refresh`. Expanded inside each
//! `store_suite!` module (it uses that module's `store`, `h`, `found`, `unknown`, `spec`).
//!
//! [`Store::job_answer_from_cache`]: vtsum_core::store::Store::job_answer_from_cache
//! [`answer_from_cache_by_lookups`]: vtsum_core::store::answer_from_cache_by_lookups

/// Expands to the cache-pass tests; only for use inside [`crate::store_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! answer_suite {
    () => {
        /// The cache of the cache-pass checks, at `now`, and the hashes a job asks for.
        fn cache_for_the_pass(s: &dyn Store, now: i64) -> Vec<Hash> {
            let mut bad = found('a', 'b', 'c', now - 10);
            if let Lookup::Found(file) = &mut bad.lookup {
                // Exactly the default threshold: malicious.
                file.stats.malicious = 3;
                file.analysed = true;
                file.names = vec!["x.exe".into()];
                file.threat_label = Some("trojan.x".into());
            }
            let mut odd = found('7', '8', '9', now - 10);
            if let Lookup::Found(file) = &mut odd.lookup {
                file.stats.suspicious = 1;
            }
            s.cache_put_many(&[
                bad,
                odd,
                // Stale for a found file (max age 100 s).
                found('d', 'e', 'f', now - 150),
                // Dated in the future: counts as new.
                found('4', '5', '6', now + 100),
                unknown(h('1', 64), now - 10),
                // Stale for an unknown hash (max age 50 s).
                unknown(h('2', 32), now - 60),
                unknown(h('3', 40), now - 10),
            ])
            .unwrap();
            // An unknown answer for a found file's md5, stored after it: the file wins.
            s.cache_put(&unknown(h('8', 32), now - 10)).unwrap();
            vec![
                h('a', 64),
                h('b', 32),
                h('c', 40),
                h('e', 32),
                h('f', 40),
                h('1', 64),
                h('2', 32),
                h('3', 40),
                h('0', 64),
                h('5', 32),
                h('8', 32),
                h('d', 64),
            ]
        }

        #[test]
        fn the_cache_pass_answers_exactly_what_the_lookups_answer() {
            use std::time::Duration;
            use $crate::core::store::{answer_from_cache_by_lookups, Freshness};
            let now = 1_000_000;
            for (max_age_found, refresh, expected) in [
                (100, None, vec![0, 1, 2, 5, 7, 9, 10]),
                (100, Some(now - 5), vec![9]),
                (100, Some(now - 10), vec![9]),
                (100, Some(now - 11), vec![0, 1, 2, 5, 7, 9, 10]),
                (100, Some(now - 65), vec![0, 1, 2, 5, 7, 9, 10]),
                // No age is young enough for a found file, not even a future date's. (Index
                // 10's md5 also has a later unknown answer, which some backends let win.)
                (0, None, vec![5, 7]),
            ] {
                let s = store();
                let hashes = cache_for_the_pass(&*s, now);
                let fresh = Freshness {
                    max_age_found: Duration::from_secs(max_age_found),
                    max_age_unknown: Duration::from_secs(50),
                    fetched_after: refresh,
                };
                let (inside, looked) = (JobId("i".repeat(32)), JobId("l".repeat(32)));
                for id in [&inside, &looked] {
                    assert!(s
                        .job_create(id, &spec(), &vtsum_core::Target::files(&hashes), now)
                        .unwrap());
                }
                // In two chunks, the second out of the first's range, as a run sends them.
                let items: Vec<(u64, Hash)> = (0u64..).zip(hashes.iter().cloned()).collect();
                let (first, second) = items.split_at(5);
                let mut got = Vec::new();
                let mut want = Vec::new();
                for chunk in [first, second] {
                    got.extend(
                        s.job_answer_from_cache(&inside, chunk, &fresh, now)
                            .unwrap(),
                    );
                    want.extend(
                        answer_from_cache_by_lookups(&*s, &looked, chunk, &fresh, now).unwrap(),
                    );
                }
                let mut indexes: Vec<u64> = got.iter().map(|(i, _)| *i).collect();
                if max_age_found == 0 {
                    indexes.retain(|&i| i != 10);
                }
                assert_eq!(indexes, expected, "refresh after {refresh:?}");
                assert_eq!(got, want, "refresh after {refresh:?}");
                assert!(got.iter().all(|(_, r)| matches!(
                    r,
                    ItemResult::Lookup {
                        from_cache: true,
                        ..
                    }
                )));
                let rows = |id: &JobId| -> Vec<Option<ItemResult>> {
                    s.job_items(id, 0, 100)
                        .unwrap()
                        .into_iter()
                        .map(|i| i.result)
                        .collect()
                };
                assert_eq!(rows(&inside), rows(&looked));
                let (a, b) = (
                    s.job_get(&inside).unwrap().unwrap(),
                    s.job_get(&looked).unwrap().unwrap(),
                );
                let n = got.len() as u64;
                assert_eq!((a.done, a.cache_hits, a.errors), (n, n, 0));
                assert_eq!(
                    (a.done, a.cache_hits, a.errors),
                    (b.done, b.cache_hits, b.errors)
                );
                let options = RowOptions::default();
                assert_eq!(
                    s.job_counts(&a, options).unwrap(),
                    s.job_counts(&b, options).unwrap()
                );
                let pending = s.job_pending(&inside).unwrap().len();
                assert_eq!(pending, hashes.len() - got.len());
            }
        }

        #[test]
        fn the_cache_pass_leaves_recorded_results_and_other_jobs_alone() {
            use std::time::Duration;
            use $crate::core::store::Freshness;
            let now = 1_000_000;
            let s = store();
            let hashes = cache_for_the_pass(&*s, now);
            let (id, other) = (JobId("i".repeat(32)), JobId("o".repeat(32)));
            for id in [&id, &other] {
                s.job_create(id, &spec(), &vtsum_core::Target::files(&hashes), now)
                    .unwrap();
            }
            let error = ItemResult::Error {
                message: "boom".into(),
            };
            s.job_record(&id, 0, &error, now).unwrap();
            let fresh = Freshness {
                max_age_found: Duration::from_secs(100),
                max_age_unknown: Duration::from_secs(50),
                fetched_after: None,
            };
            // Only the pending items, as a run passes them.
            let items: Vec<(u64, Hash)> = (1u64..).zip(hashes[1..].iter().cloned()).collect();
            let got = s.job_answer_from_cache(&id, &items, &fresh, now).unwrap();
            assert_eq!(got.len(), 6);
            let first = s.job_items(&id, 0, 1).unwrap().remove(0);
            assert_eq!(first.result, Some(error));
            let job = s.job_get(&id).unwrap().unwrap();
            assert_eq!((job.done, job.cache_hits, job.errors), (7, 6, 1));
            assert_eq!(s.job_get(&other).unwrap().unwrap().done, 0);
            assert!(s
                .job_answer_from_cache(&id, &[], &fresh, now)
                .unwrap()
                .is_empty());
        }
    };
}
