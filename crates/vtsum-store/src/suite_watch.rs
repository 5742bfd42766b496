//! One conformance suite for every `vtsum_core::watch::WatchStore` backend, written once:
//! `vtsum_store::watch_suite!(name, || Arc::new(MyStore::new()) as Arc<dyn WatchStore>);`
//! expands to one `#[test]` per check, each on a fresh, empty store from the closure.
//!
//! The checks follow the trait's documented contract. Here: lists and their settings,
//! items in the order they were added, claims that exclude while they last and run out,
//! what is due under each interval, deleting a list whole. In [`crate::suite_outbox`]:
//! answers as history, changes by `vtsum_core::diff::reasons`, the outbox's claims,
//! retries and deliveries, the re-checks' daily ledger, and hostile text that must come
//! back exactly. Every time is passed explicitly: no check sleeps. Boundaries the contract
//! leaves open (an answer exactly one interval old, a claim at exactly its `until`) are
//! stepped over rather than pinned.

/// Expands to a module of watchlist tests over a store made by `$make`.
#[macro_export]
macro_rules! watch_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use std::sync::Arc;
            use $crate::core::diff::{reasons, Reason, Snapshot};
            use $crate::core::extract::ioc::IndicatorKind;
            use $crate::core::watch::WatchStore;
            use $crate::core::watch::{ChangeRecord, HookId, OutboxStats, WatchItem, WatchList};
            use $crate::core::{Error, Hash, Target, Verdict};

            fn store() -> Arc<dyn WatchStore> {
                ($make)()
            }

            /// A list with threshold 5, created at 100.
            fn list(name: &str, every: u64, every_unknown: u64) -> WatchList {
                WatchList {
                    name: name.into(),
                    every,
                    every_unknown,
                    threshold: 5,
                    created_at: 100,
                }
            }

            fn file(c: char) -> Target {
                Target::File(Hash::parse(&c.to_string().repeat(64)).unwrap())
            }

            fn snap(verdict: Verdict, malicious: u32, label: Option<&str>) -> Snapshot {
                Snapshot {
                    verdict,
                    malicious,
                    total: if verdict == Verdict::Unknown { 0 } else { 70 },
                    threat_label: label.map(String::from),
                }
            }

            fn clean() -> Snapshot {
                snap(Verdict::Clean, 0, None)
            }

            fn bad() -> Snapshot {
                snap(Verdict::Malicious, 30, Some("trojan.x"))
            }

            /// A store with list `name` holding `targets`, added at 0.
            fn with(name: &str, every: u64, targets: &[Target]) -> Arc<dyn WatchStore> {
                let s = store();
                s.watch_put(&list(name, every, every)).unwrap();
                s.watch_add(name, targets, 0).unwrap();
                s
            }

            fn item(s: &dyn WatchStore, name: &str, target: &Target) -> WatchItem {
                let items = s.watch_items(name).unwrap();
                let found = items.into_iter().find(|i| &i.target == target);
                found.expect("the item is on its list")
            }

            /// Records `after` for an item, answered at `now`, with no hooks.
            fn record(
                s: &dyn WatchStore,
                it: &WatchItem,
                after: &Snapshot,
                now: i64,
            ) -> Option<ChangeRecord> {
                s.watch_record(it, after, now, None, now, &[])
                    .unwrap()
                    .change
            }

            /// The (list, key) pairs of claimed items.
            fn keys(items: &[WatchItem]) -> Vec<(String, String)> {
                items
                    .iter()
                    .map(|i| (i.list.clone(), i.target.key()))
                    .collect()
            }

            fn on(name: &str, targets: &[&Target]) -> Vec<(String, String)> {
                targets
                    .iter()
                    .map(|t| (name.to_string(), t.key()))
                    .collect()
            }

            $crate::watch_claim_suite!();
            $crate::watch_record_suite!();
            $crate::outbox_suite!();
        }
    };
}

/// Lists, items and claims; only for use inside [`crate::watch_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! watch_claim_suite {
    () => {
        #[test]
        fn lists_are_created_updated_and_listed_by_name_with_their_counts() {
            let s = store();
            assert_eq!(s.watch_get("mid").unwrap(), None);
            for name in ["zeta", "alpha", "mid"] {
                s.watch_put(&list(name, 1000, 100)).unwrap();
            }
            s.watch_add("mid", &[file('a'), file('b')], 0).unwrap();
            let moved = WatchList {
                every: 7,
                every_unknown: 3,
                threshold: 9,
                created_at: 999,
                ..list("mid", 0, 0)
            };
            s.watch_put(&moved).unwrap();
            let got = s.watch_get("mid").unwrap().expect("the list exists");
            assert_eq!(
                got,
                WatchList {
                    created_at: 100,
                    ..moved
                },
                "settings updated, created_at kept"
            );
            assert_eq!(s.watch_items("mid").unwrap().len(), 2, "items stay");
            let (a, b) = (item(&*s, "mid", &file('a')), item(&*s, "mid", &file('b')));
            record(&*s, &a, &clean(), 300);
            record(&*s, &b, &clean(), 500);
            assert!(record(&*s, &a, &bad(), 400).is_some());
            let infos = s.watch_lists().unwrap();
            let names: Vec<&str> = infos.iter().map(|i| i.list.name.as_str()).collect();
            assert_eq!(names, ["alpha", "mid", "zeta"]);
            assert_eq!(infos[1].list, got);
            assert_eq!(
                (infos[1].items, infos[1].last_check, infos[1].changes),
                (2, Some(500), 1)
            );
            assert_eq!(
                (infos[0].items, infos[0].last_check, infos[0].changes),
                (0, None, 0)
            );
        }

        #[test]
        fn adding_counts_the_new_keeps_the_order_and_needs_the_list() {
            let s = with("l", 1000, &[]);
            assert_eq!(s.watch_add("l", &[file('c'), file('a')], 10).unwrap(), 2);
            assert_eq!(
                s.watch_add("l", &[file('a'), file('c')], 11).unwrap(),
                0,
                "nothing new"
            );
            assert_eq!(s.watch_add("l", &[file('b'), file('a')], 12).unwrap(), 1);
            let items = s.watch_items("l").unwrap();
            let order: Vec<Target> = items.iter().map(|i| i.target.clone()).collect();
            assert_eq!(
                order,
                [file('c'), file('a'), file('b')],
                "in the order of addition"
            );
            let a = &items[1];
            assert_eq!(
                (a.list.as_str(), a.input.as_str()),
                ("l", file('a').value())
            );
            assert_eq!((a.added_at, a.checked_at, a.answered_at), (10, None, None));
            assert_eq!((&a.last, &a.permalink), (&None, &None));
            let e = s.watch_add("missing", &[file('a')], 10).unwrap_err();
            assert!(matches!(e, Error::Watch(_)), "{e:?}");
            assert!(
                s.watch_get("missing").unwrap().is_none(),
                "not made by adding"
            );
        }

        #[test]
        fn removing_counts_what_was_listed_and_removed_items_are_never_claimed() {
            let s = with("l", 1000, &[file('a'), file('b'), file('c')]);
            let gone = [
                file('a').key(),
                file('d').key(),
                file('c').key(),
                file('a').key(),
            ];
            assert_eq!(s.watch_remove("l", &gone).unwrap(), 2);
            assert_eq!(s.watch_remove("other", &[file('b').key()]).unwrap(), 0);
            let left: Vec<Target> = s
                .watch_items("l")
                .unwrap()
                .into_iter()
                .map(|i| i.target)
                .collect();
            assert_eq!(left, [file('b')]);
            assert_eq!(
                keys(&s.watch_claim_due(5, 10, 10).unwrap()),
                on("l", &[&file('b')])
            );
        }

        #[test]
        fn new_items_are_due_at_once_within_the_limit_and_claims_exclude() {
            let targets: Vec<Target> = "abcde".chars().map(file).collect();
            let s = with("l", 1000, &[]);
            s.watch_add("l", &targets, 1000).unwrap();
            let first = s.watch_claim_due(1000, 1100, 2).unwrap();
            assert_eq!(first.len(), 2, "the limit");
            let rest = s.watch_claim_due(1000, 1100, 10).unwrap();
            let mut all = keys(&first);
            all.extend(keys(&rest));
            all.sort();
            assert_eq!(
                all,
                on("l", &targets.iter().collect::<Vec<_>>()),
                "each once"
            );
            assert!(s.watch_claim_due(1000, 1100, 10).unwrap().is_empty());
            assert!(
                s.watch_claim_due(1099, 1200, 10).unwrap().is_empty(),
                "held until 1100"
            );
            let as_added = |i: &WatchItem| targets.contains(&i.target) && i.added_at == 1000;
            assert!(
                first.iter().all(as_added),
                "claimed items as they were added"
            );
        }

        #[test]
        fn a_crashed_round_s_claim_runs_out_and_its_unrecorded_items_are_due_again() {
            let s = with("l", 1000, &[file('a'), file('b')]);
            let claimed = s.watch_claim_due(0, 100, 10).unwrap();
            assert_eq!(claimed.len(), 2);
            record(&*s, &claimed[0], &clean(), 50);
            assert!(s.watch_claim_due(99, 200, 10).unwrap().is_empty());
            let again = s.watch_claim_due(101, 200, 10).unwrap();
            assert_eq!(keys(&again), keys(&claimed[1..]), "only the unrecorded one");
        }

        #[test]
        fn the_most_overdue_come_first() {
            let s = with("l", 100, &[file('a'), file('b'), file('c')]);
            let answered = [('a', 50), ('b', 10), ('c', 30)];
            for (c, at) in answered {
                let it = item(&*s, "l", &file(c));
                s.watch_record(&it, &clean(), at, None, 60, &[]).unwrap();
            }
            let first = s.watch_claim_due(1000, 2000, 2).unwrap();
            assert_eq!(keys(&first), on("l", &[&file('b'), &file('c')]));
            let next = s.watch_claim_due(1000, 2000, 2).unwrap();
            assert_eq!(keys(&next), on("l", &[&file('a')]));
        }

        #[test]
        fn a_recorded_item_is_due_one_interval_after_its_answer() {
            let s = store();
            s.watch_put(&list("l", 1000, 100)).unwrap();
            s.watch_add("l", &[file('a'), file('c')], 0).unwrap();
            // Claimed for long: recording releases the claim.
            let claimed = s.watch_claim_due(0, 100_000, 10).unwrap();
            assert_eq!(claimed.len(), 2);
            let unknown = snap(Verdict::Unknown, 0, None);
            s.watch_record(&item(&*s, "l", &file('a')), &clean(), 50, None, 60, &[])
                .unwrap();
            s.watch_record(&item(&*s, "l", &file('c')), &unknown, 50, None, 60, &[])
                .unwrap();
            assert!(s.watch_claim_due(149, 150, 10).unwrap().is_empty());
            let due = s.watch_claim_due(151, 152, 10).unwrap();
            assert_eq!(keys(&due), on("l", &[&file('c')]), "unknown: every_unknown");
            assert!(s
                .watch_claim_due(1049, 1050, 10)
                .unwrap()
                .iter()
                .all(|i| i.target != file('a')));
            let due = s.watch_claim_due(1051, 1052, 10).unwrap();
            assert!(
                keys(&due).contains(&("l".into(), file('a').key())),
                "found: every"
            );
        }

        #[test]
        fn a_new_interval_moves_what_is_due() {
            let s = with("l", 100, &[file('a')]);
            record(&*s, &item(&*s, "l", &file('a')), &clean(), 0);
            s.watch_put(&list("l", 1000, 1000)).unwrap();
            assert!(
                s.watch_claim_due(500, 501, 10).unwrap().is_empty(),
                "moved later"
            );
            s.watch_put(&list("l", 100, 1000)).unwrap();
            assert_eq!(
                keys(&s.watch_claim_due(500, 501, 10).unwrap()),
                on("l", &[&file('a')])
            );
        }

        #[test]
        fn deleting_a_list_takes_its_items_history_and_changes_and_nothing_else() {
            let s = store();
            for name in ["gone", "kept"] {
                s.watch_put(&list(name, 1000, 1000)).unwrap();
                s.watch_add(name, &[file('a'), file('b')], 0).unwrap();
            }
            assert_eq!(
                s.watch_claim_due(0, 1, 10).unwrap().len(),
                4,
                "one claim per list"
            );
            for name in ["gone", "kept"] {
                record(&*s, &item(&*s, name, &file('a')), &clean(), 10);
                assert!(record(&*s, &item(&*s, name, &file('a')), &bad(), 20).is_some());
            }
            assert!(s.watch_delete("gone").unwrap());
            assert!(!s.watch_delete("gone").unwrap());
            assert!(s.watch_get("gone").unwrap().is_none());
            let names: Vec<String> = s
                .watch_lists()
                .unwrap()
                .into_iter()
                .map(|i| i.list.name)
                .collect();
            assert_eq!(names, ["kept"]);
            let changes = s.watch_changes(0, 100).unwrap();
            assert_eq!(
                changes.iter().map(|c| c.list.as_str()).collect::<Vec<_>>(),
                ["kept"]
            );
            assert_eq!(s.watch_items("kept").unwrap().len(), 2);
            assert_eq!(s.watch_history("kept", &file('a').key()).unwrap().len(), 2);
            let mut due = keys(&s.watch_claim_due(1_000_000, 1_000_001, 10).unwrap());
            due.sort();
            assert_eq!(due, on("kept", &[&file('a'), &file('b')]), "none of gone's");
            // Made again, the list starts empty.
            s.watch_put(&list("gone", 1000, 1000)).unwrap();
            assert!(s.watch_items("gone").unwrap().is_empty());
            assert!(s
                .watch_history("gone", &file('a').key())
                .unwrap()
                .is_empty());
            let info = s
                .watch_lists()
                .unwrap()
                .into_iter()
                .find(|i| i.list.name == "gone");
            assert_eq!(info.map(|i| (i.items, i.changes)), Some((0, 0)));
        }
    };
}
