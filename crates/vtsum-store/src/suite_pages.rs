//! The store suite's check of result pages: every backend answers `job_page` and
//! `job_counts` as the reference walk over `job_items` does, for every sort key, both
//! directions, each verdict, free text and offsets. Expanded inside each `store_suite!`
//! module (it uses that module's `store` and `spec`).

/// Expands to the page tests; only for use inside [`crate::store_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! page_suite {
    () => {
        /// A job of varied rows: found files with detections, labels, names and dates (or
        /// none), unknown hashes and errors.
        fn varied_job(s: &dyn Store) -> $crate::core::store::JobInfo {
            use $crate::core::report::Stats;
            let id = JobId("9".repeat(32));
            let hashes: Vec<Hash> = (0..120u32)
                .map(|i| Hash::parse(&format!("{:064x}", u64::from(i) * 7919 % 120)).unwrap())
                .collect();
            // Every sixth item a URL, a domain or an IP address, some written defanged.
            let targets: Vec<vtsum_core::Target> = hashes
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    object_target(i as u32).unwrap_or(vtsum_core::Target::File(h.clone()))
                })
                .collect();
            let spec = JobSpec {
                objects: targets.iter().filter(|t| t.hash().is_none()).count() as u64,
                ..spec()
            };
            s.job_create(&id, &spec, &targets, 1).unwrap();
            let results: Vec<ItemResult> = (0..120u32)
                .map(|i| match i % 6 {
                    3 if i % 4 == 3 => ItemResult::Lookup {
                        lookup: Lookup::Object(Box::new($crate::core::report::ObjectReport {
                            stats: Stats {
                                malicious: i % 5,
                                undetected: 50,
                                ..Stats::default()
                            },
                            analysed: true,
                            title: Some(format!("Evil <b>{i}</b> Trojan.1")),
                            threat_names: vec![format!("Trojan.{}", i % 4)],
                            tags: vec!["PeExe".into()],
                            ..Default::default()
                        })),
                        from_cache: false,
                        fetched_at: 4,
                    },
                    3 => ItemResult::Lookup {
                        lookup: Lookup::Unknown,
                        from_cache: false,
                        fetched_at: 4,
                    },
                    4 => ItemResult::Error {
                        message: format!("boom {i}"),
                    },
                    5 => ItemResult::Lookup {
                        lookup: Lookup::Unknown,
                        from_cache: i % 4 == 1,
                        fetched_at: 3,
                    },
                    _ => ItemResult::Lookup {
                        lookup: Lookup::Found(Box::new(FileReport {
                            sha256: format!("{:064x}", 1000 + i),
                            md5: (i % 3 == 0).then(|| format!("{:032x}", 77 + i)),
                            stats: Stats {
                                malicious: i % 7,
                                suspicious: i % 2,
                                undetected: 60,
                                ..Stats::default()
                            },
                            analysed: i % 10 != 0,
                            threat_label: (i % 5 != 0).then(|| format!("Trojan.{}", i % 4)),
                            type_description: (i % 3 != 1)
                                .then(|| ["Win32 EXE", "PDF"][i as usize % 2].into()),
                            meaningful_name: (i % 4 != 0).then(|| format!("Ünï \"{i}\".exe")),
                            // A control character: JSON writes it \u0001, which no
                            // search for "u0001x" may find.
                            names: vec![
                                format!("n{i}.bin"),
                                "[a,b]".into(),
                                "\u{1}x".into(),
                                format!("{}%_x\\y", i % 3),
                            ],
                            tags: if i % 2 == 0 {
                                vec!["PeExe".into()]
                            } else {
                                Vec::new()
                            },
                            first_seen: (i % 9 != 0)
                                .then(|| 1_600_000_000 + i64::from(i % 13) * 86_400),
                            last_seen: Some(1_700_000_000 - i64::from(i)),
                            ..FileReport::default()
                        })),
                        from_cache: i % 3 == 0,
                        fetched_at: 2,
                    },
                })
                .collect();
            let items: Vec<(u64, &ItemResult)> = results
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 11 != 10) // some stay pending
                .map(|(i, r)| (i as u64, r))
                .collect();
            s.job_record_many(&id, &items, 2).unwrap();
            s.job_get(&id).unwrap().unwrap()
        }

        /// The object an item of [`varied_job`] looks up, if it is not a file.
        fn object_target(i: u32) -> Option<vtsum_core::Target> {
            use $crate::core::extract::ioc::IndicatorKind;
            if i % 6 != 3 {
                return None;
            }
            let (kind, value) = match i % 18 {
                3 => (
                    IndicatorKind::Url,
                    format!("https://evil{i}.example/a?u=url"),
                ),
                9 => (IndicatorKind::Domain, format!("evil{i}.example")),
                _ => (IndicatorKind::Ip, format!("203.0.113.{i}")),
            };
            let written = (i % 4 == 1).then(|| value.replace('.', "[.]"));
            Some(vtsum_core::Target::Object {
                kind,
                value,
                written,
            })
        }

        #[test]
        fn pages_by_kind_and_text_answer_as_the_reference_walk_does() {
            use $crate::core::results::{scan_page, ResultQuery, SortKey};
            use $crate::core::Kind;
            let s = store();
            let job = varied_job(s.as_ref());
            let read = |offset, limit| s.job_items(&job.id, offset, limit);
            let texts = [
                None,
                Some("evil"),
                Some("[.]"),
                Some("url"),
                Some("domain"),
                Some("203"),
                Some("3"),
                Some("trojan.1"),
                Some("<b>"),
                Some("peexe"),
            ];
            let mut found = 0;
            for kind in [
                None,
                Some(Kind::File),
                Some(Kind::Url),
                Some(Kind::Domain),
                Some(Kind::Ip),
            ] {
                for text in texts {
                    for sort in [SortKey::Index, SortKey::Input, SortKey::Malicious] {
                        let q = ResultQuery {
                            limit: 1000,
                            sort,
                            kind,
                            text: text.and_then(ResultQuery::new_text),
                            options: job.spec.row_options,
                            ..ResultQuery::default()
                        };
                        let want = scan_page(&read, &q).unwrap();
                        assert_eq!(s.job_page(&job, &q).unwrap(), want, "{q:?}");
                        found += want
                            .rows
                            .iter()
                            .filter(|(_, r)| r.kind != Kind::File)
                            .count();
                    }
                }
            }
            assert!(found > 100, "the queries find objects ({found} rows)");
        }

        #[test]
        fn pages_and_counts_answer_as_the_reference_walk_does() {
            use $crate::core::results::{scan_counts, scan_page, ResultQuery, SortKey};
            use $crate::core::Verdict;
            let s = store();
            let job = varied_job(s.as_ref());
            let read = |offset, limit| s.job_items(&job.id, offset, limit);
            let options = job.spec.row_options;
            assert_eq!(
                s.job_counts(&job, options).unwrap(),
                scan_counts(&read, options).unwrap()
            );
            let texts = [
                None,
                Some("trojan.1"),
                Some("ünï"),
                Some("\"1"),
                Some("peexe"),
                Some("[a,"),
                Some("00000000000000000000003"),
                Some("nothing"),
                Some("u0001x"),
                Some("1%_x\\"),
                Some("%"),
                Some("_x"),
                Some("0_"),
            ];
            let mut checked = 0;
            for (sort, _) in SortKey::ALL {
                for descending in [false, true] {
                    for verdict in std::iter::once(None).chain(Verdict::ALL.map(Some)) {
                        for text in texts {
                            for (offset, limit) in [(0, 7), (5, 1000), (100, 5)] {
                                let q = ResultQuery {
                                    offset,
                                    limit,
                                    sort,
                                    descending,
                                    verdict,
                                    text: text.and_then(ResultQuery::new_text),
                                    options,
                                    ..ResultQuery::default()
                                };
                                let want = scan_page(&read, &q).unwrap();
                                assert_eq!(s.job_page(&job, &q).unwrap(), want, "{q:?}");
                                checked += usize::from(!want.rows.is_empty());
                            }
                        }
                    }
                }
            }
            assert!(
                checked > 500,
                "the queries find rows ({checked} non-empty pages)"
            );
        }
    };
}
