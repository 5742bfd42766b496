//! The watch suite's checks of answers, changes and the webhook outbox: a first answer
//! is a baseline, a different one a change by `vtsum_core::diff::reasons` listed by
//! `watch_changes`, an equal one or an error none, an item removed meanwhile untouched;
//! each change queues one delivery per hook, claimed by one sender at a time until the
//! claim runs out, retried from its `retry_at`, delivered once. Also the re-checks' daily
//! ledger, and hostile text through items, history and changes. Expanded inside each
//! [`crate::watch_suite!`] module (it uses that module's helpers: `store`, `with`, `item`,
//! `record`, `snap`, `clean`, `bad`).

/// Answers, history and changes; only for use inside [`crate::watch_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! watch_record_suite {
    () => {
        /// A store whose list `w` made one change (clean to bad at 1000) for `hooks`.
        fn changed(hooks: &[HookId]) -> (Arc<dyn WatchStore>, ChangeRecord) {
            let s = with("w", 10_000, &[file('a')]);
            record(&*s, &item(&*s, "w", &file('a')), &clean(), 500);
            let it = item(&*s, "w", &file('a'));
            let rec = s.watch_record(&it, &bad(), 990, Some("https://vt/a"), 1000, hooks);
            let change = rec.unwrap().change.expect("clean to malicious is a change");
            (s, change)
        }

        fn stats(delivered: u64, pending: u64, failing: u64) -> OutboxStats {
            OutboxStats {
                delivered,
                pending,
                failing,
            }
        }

        #[test]
        fn the_first_answer_is_a_baseline_and_a_different_one_a_change() {
            let s = with("l", 1000, &[file('a')]);
            let key = file('a').key();
            let first = s.watch_record(&item(&*s, "l", &file('a')), &clean(), 150, None, 200, &[]);
            assert_eq!(first.unwrap().change, None, "a baseline");
            assert_eq!(s.watch_history("l", &key).unwrap().len(), 1);
            assert!(s.watch_changes(0, 10).unwrap().is_empty());
            let link = Some("https://www.virustotal.com/gui/file/aaaa");
            let it = item(&*s, "l", &file('a'));
            assert_eq!(it.last, Some(clean()));
            let rec = s.watch_record(&it, &bad(), 390, link, 400, &[]).unwrap();
            let change = rec
                .change
                .expect("clean 0/70 to malicious 30/70 is a change");
            let why = reasons(&clean(), &bad(), 5);
            assert!(why.contains(&Reason::Verdict) && why.contains(&Reason::CrossedThreshold));
            assert!(change.id > 0);
            assert_eq!(
                (change.at, change.list.as_str(), change.input.as_str()),
                (400, "l", file('a').value())
            );
            assert_eq!(
                (&change.before, &change.after, &change.reasons),
                (&clean(), &bad(), &why)
            );
            assert_eq!(change.permalink.as_deref(), link);
            assert_eq!(s.watch_changes(0, 10).unwrap(), [change]);
            let history = s.watch_history("l", &key).unwrap();
            let got: Vec<_> = history
                .into_iter()
                .map(|h| (h.checked_at, h.answered_at, h.snapshot))
                .collect();
            assert_eq!(
                got,
                [(200, 150, clean()), (400, 390, bad())],
                "oldest first"
            );
            let it = item(&*s, "l", &file('a'));
            assert_eq!(
                (it.checked_at, it.answered_at, it.last),
                (Some(400), Some(390), Some(bad()))
            );
            assert_eq!(it.permalink.as_deref(), link);
            assert!(s.watch_history("l", &file('b').key()).unwrap().is_empty());
        }

        #[test]
        fn changes_list_oldest_first_from_since_and_at_most_limit() {
            let s = with("l", 1000, &[file('a'), file('b')]);
            let mut made = Vec::new();
            for (c, at) in [('b', 300), ('a', 500)] {
                record(&*s, &item(&*s, "l", &file(c)), &clean(), at - 100);
                made.push(record(&*s, &item(&*s, "l", &file(c)), &bad(), at).unwrap());
            }
            assert!(made[0].id != made[1].id);
            assert_eq!(s.watch_changes(0, 10).unwrap(), made);
            assert_eq!(s.watch_changes(300, 10).unwrap(), made, "at or after since");
            assert_eq!(s.watch_changes(301, 10).unwrap(), made[1..]);
            assert_eq!(s.watch_changes(0, 1).unwrap(), made[..1]);
            assert!(s.watch_changes(501, 10).unwrap().is_empty());
        }

        #[test]
        fn an_equal_answer_or_an_error_is_no_change() {
            let s = with("l", 1000, &[file('a')]);
            record(&*s, &item(&*s, "l", &file('a')), &bad(), 10);
            assert_eq!(
                record(&*s, &item(&*s, "l", &file('a')), &bad(), 20),
                None,
                "equal"
            );
            let error = Snapshot {
                total: 0,
                ..snap(Verdict::Error, 0, None)
            };
            let it = item(&*s, "l", &file('a'));
            let rec = s.watch_record(&it, &error, 30, None, 30, &[HookId("hook-1".into())]);
            assert_eq!(rec.unwrap().change, None, "an error says nothing");
            assert_eq!(s.watch_history("l", &file('a').key()).unwrap().len(), 3);
            assert!(s.watch_changes(0, 10).unwrap().is_empty());
            assert_eq!(s.outbox_stats().unwrap(), stats(0, 0, 0));
        }

        #[test]
        fn recording_an_item_removed_meanwhile_changes_nothing() {
            let s = with("l", 1000, &[file('a'), file('b')]);
            let (a, b) = (item(&*s, "l", &file('a')), item(&*s, "l", &file('b')));
            record(&*s, &a, &clean(), 10);
            s.watch_remove("l", &[file('a').key(), file('b').key()])
                .unwrap();
            let hooks = [HookId("hook-1".into())];
            let rec = s
                .watch_record(&item_after(&a), &bad(), 20, None, 20, &hooks)
                .unwrap();
            assert_eq!(rec.change, None);
            assert_eq!(
                s.watch_record(&b, &clean(), 20, None, 20, &[])
                    .unwrap()
                    .change,
                None
            );
            assert!(s.watch_items("l").unwrap().is_empty(), "not put back");
            assert!(s.watch_history("l", &file('b').key()).unwrap().is_empty());
            assert!(s.watch_changes(0, 10).unwrap().is_empty());
            assert_eq!(s.outbox_stats().unwrap(), stats(0, 0, 0));
        }

        /// The item as a round holds it after its baseline.
        fn item_after(it: &WatchItem) -> WatchItem {
            WatchItem {
                last: Some(clean()),
                checked_at: Some(10),
                answered_at: Some(10),
                ..it.clone()
            }
        }

        #[test]
        fn the_recheck_ledger_reserves_up_to_its_cap_per_day() {
            let s = store();
            let d = "2026-03-01";
            assert_eq!(s.recheck_spent(d).unwrap(), 0);
            let r = s.recheck_reserve(d, 10, 4).unwrap();
            assert_eq!((r.before, r.granted), (0, 4));
            let r = s.recheck_reserve(d, 10, 9).unwrap();
            assert_eq!((r.before, r.granted), (4, 6), "only up to the cap");
            let r = s.recheck_reserve(d, 10, 3).unwrap();
            assert_eq!((r.before, r.granted), (10, 0), "the cap is reached");
            s.recheck_refund(d, 5).unwrap();
            assert_eq!(s.recheck_spent(d).unwrap(), 5, "what a round did not spend");
            s.recheck_refund(d, 50).unwrap();
            assert_eq!(s.recheck_spent(d).unwrap(), 0, "never below 0");
            let r = s.recheck_reserve("2026-03-02", 10, 2).unwrap();
            assert_eq!((r.before, r.granted), (0, 2), "days are separate");
            assert_eq!(s.recheck_spent(d).unwrap(), 0);
        }

        /// Rounds in many processes reserve at once: together they never pass the cap.
        #[test]
        fn reservations_at_once_never_pass_the_cap() {
            let s = store();
            let granted: u64 = std::thread::scope(|scope| {
                let tasks: Vec<_> = (0..8)
                    .map(|_| scope.spawn(|| s.recheck_reserve("2026-03-03", 20, 7).unwrap()))
                    .collect();
                tasks.into_iter().map(|t| t.join().unwrap().granted).sum()
            });
            assert_eq!(granted, 20);
            assert_eq!(s.recheck_spent("2026-03-03").unwrap(), 20);
        }

        #[test]
        fn hostile_text_comes_back_exactly() {
            let value = r#"https://ex.example/p?q="a'b"|c&d=ünï/☃/𝔘"#;
            let target = Target::Object {
                kind: IndicatorKind::Url,
                value: value.into(),
                written: Some(r#"hxxps://ex[.]example/p?q="a'b"|c&d=ünï/☃/𝔘"#.into()),
            };
            let s = with("h.o-s_t", 1000, std::slice::from_ref(&target));
            let it = item(&*s, "h.o-s_t", &target);
            assert_eq!((&it.target, it.input.as_str()), (&target, value));
            let claimed = s.watch_claim_due(0, 10, 10).unwrap();
            assert_eq!(
                claimed.iter().map(|i| &i.target).collect::<Vec<_>>(),
                [&target]
            );
            let before = snap(Verdict::Clean, 0, Some(r#"a "quoted" \back\slash | ünï ☃"#));
            let after = snap(Verdict::Malicious, 30, Some(r#"tro"jan\x|ü𝔘'"#));
            let link = r#"https://www.virustotal.com/gui/url/"ü|\"#;
            record(&*s, &claimed[0], &before, 10);
            let it = item(&*s, "h.o-s_t", &target);
            let change = s
                .watch_record(&it, &after, 20, Some(link), 20, &[])
                .unwrap()
                .change;
            let change = change.expect("a change");
            assert_eq!(
                (change.input.as_str(), &change.before, &change.after),
                (value, &before, &after)
            );
            assert_eq!(
                s.watch_changes(0, 10).unwrap(),
                std::slice::from_ref(&change)
            );
            let history = s.watch_history("h.o-s_t", &target.key()).unwrap();
            let snaps: Vec<Snapshot> = history.into_iter().map(|h| h.snapshot).collect();
            assert_eq!(snaps, [before, after.clone()]);
            let it = item(&*s, "h.o-s_t", &target);
            assert_eq!(
                (it.last, it.permalink.as_deref()),
                (Some(after), Some(link))
            );
            assert_eq!(change.permalink.as_deref(), Some(link));
            assert_eq!(s.watch_remove("h.o-s_t", &[target.key()]).unwrap(), 1);
        }
    };
}

/// The webhook outbox; only for use inside [`crate::watch_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! outbox_suite {
    () => {
        #[test]
        fn a_change_queues_one_delivery_per_hook_claimed_one_sender_at_a_time() {
            let both = [HookId("hook-1".into()), HookId("hook-2".into())];
            let (h1, h2, one) = (&both[0], &both[1], &both[..1]);
            let (s, change) = changed(&both);
            let all = s.outbox_of(change.id).unwrap();
            let mut hooks: Vec<&HookId> = all.iter().map(|d| &d.hook).collect();
            hooks.sort();
            assert_eq!(hooks, [h1, h2]);
            for d in &all {
                assert_eq!(
                    (d.attempts, &d.last_error, d.delivered_at),
                    (0, &None, None)
                );
                assert_eq!(d.change, change);
            }
            assert_eq!(s.outbox_stats().unwrap(), stats(0, 2, 0));
            let first = s.outbox_claim(one, 1000, 1100, 10).unwrap();
            assert_eq!(first.iter().map(|d| &d.hook).collect::<Vec<_>>(), [h1]);
            assert_eq!(first[0].change, change);
            assert!(s.outbox_claim(one, 1099, 1200, 10).unwrap().is_empty());
            let other = s.outbox_claim(&both, 1099, 1200, 10).unwrap();
            assert_eq!(
                other.iter().map(|d| &d.hook).collect::<Vec<_>>(),
                [h2],
                "h1's is held"
            );
            // A crashed sender's claim runs out.
            let again = s.outbox_claim(one, 1101, 1200, 10).unwrap();
            assert_eq!(
                again.iter().map(|d| d.id).collect::<Vec<_>>(),
                [first[0].id]
            );
            s.outbox_delivered(first[0].id, 1150).unwrap();
            assert!(s
                .outbox_claim(&both, 1_000_000, 1_000_001, 10)
                .unwrap()
                .iter()
                .all(|d| d.id != first[0].id));
            assert_eq!(s.outbox_stats().unwrap(), stats(1, 1, 0));
            s.outbox_delivered(first[0].id, 1160).unwrap();
            assert_eq!(
                s.outbox_stats().unwrap(),
                stats(1, 1, 0),
                "delivered twice is harmless"
            );
            let of = s.outbox_of(change.id).unwrap();
            let d = of.iter().find(|d| d.id == first[0].id).unwrap();
            assert_eq!(d.delivered_at, Some(1150));
        }

        #[test]
        fn a_failed_delivery_is_retried_from_its_retry_at() {
            let one = [HookId("hook-1".into())];
            let (s, change) = changed(&one);
            let id = s.outbox_claim(&one, 1000, 1100, 10).unwrap()[0].id;
            s.outbox_failed(id, 2000, "HTTP 500 \"down\"").unwrap();
            let d = s.outbox_of(change.id).unwrap().remove(0);
            assert_eq!(
                (d.id, d.attempts, d.last_error.as_deref()),
                (id, 1, Some("HTTP 500 \"down\""))
            );
            assert_eq!(d.delivered_at, None);
            assert_eq!(s.outbox_stats().unwrap(), stats(0, 1, 1));
            assert!(s.outbox_claim(&one, 1999, 2100, 10).unwrap().is_empty());
            let retry = s.outbox_claim(&one, 2000, 2100, 10).unwrap();
            assert_eq!(
                retry.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(),
                [(id, 1)]
            );
            s.outbox_failed(id, 3000, "timeout").unwrap();
            assert_eq!(s.outbox_of(change.id).unwrap()[0].attempts, 2);
            s.outbox_delivered(id, 3000).unwrap();
            assert_eq!(s.outbox_stats().unwrap(), stats(1, 0, 0));
            assert!(s
                .outbox_claim(&one, 1_000_000, 1_000_001, 10)
                .unwrap()
                .is_empty());
        }
    };
}
