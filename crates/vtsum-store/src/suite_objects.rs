//! The store suite's checks of URLs, domains and IP addresses (issue 15): their answers
//! come back whole (document included) by kind and normal form, never mixed with files,
//! and a job's object items and results survive the store as they went in. Expanded
//! inside each `store_suite!` module (it uses that module's `store` and `spec`).

/// Expands to the object tests; only for use inside [`crate::store_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! object_suite {
    () => {
        fn url_object(title: &str) -> $crate::core::report::ObjectReport {
            $crate::core::report::ObjectReport {
                id: "ab".repeat(32),
                stats: $crate::core::report::Stats {
                    malicious: 9,
                    undetected: 60,
                    ..Default::default()
                },
                analysed: true,
                title: Some(title.into()),
                categories: vec!["phishing".into()],
                document: Some(
                    $crate::core::report::Document::new(r#"{"data": {"type": "url"}}"#.into())
                        .unwrap(),
                ),
                ..Default::default()
            }
        }

        #[test]
        fn objects_come_back_whole_by_kind_and_value() {
            use $crate::core::report::ObjectEntry;
            use $crate::core::Kind;
            let s = store();
            let url = "https://evil.example/a?b=1";
            let entry = ObjectEntry {
                kind: Kind::Url,
                value: url.into(),
                lookup: Lookup::Object(Box::new(url_object("<script>x</script>"))),
                fetched_at: 42,
            };
            s.object_put(&entry).unwrap();
            assert_eq!(s.object_get(Kind::Url, url).unwrap(), Some(entry));
            // The same text as another kind is another lookup.
            assert_eq!(s.object_get(Kind::Domain, url).unwrap(), None);
            let gone = ObjectEntry {
                kind: Kind::Domain,
                value: "gone.example".into(),
                lookup: Lookup::Unknown,
                fetched_at: 43,
            };
            s.object_put(&gone).unwrap();
            assert_eq!(
                s.object_get(Kind::Domain, "gone.example").unwrap(),
                Some(gone)
            );
            // Neither cache takes the other's answers.
            let file = ObjectEntry {
                kind: Kind::File,
                value: "a".repeat(64),
                lookup: Lookup::Unknown,
                fetched_at: 1,
            };
            assert!(s.object_put(&file).is_err());
            let mixed = CacheEntry {
                queried: h('a', 64),
                lookup: Lookup::Object(Box::new(url_object("t"))),
                fetched_at: 1,
            };
            assert!(s.cache_put(&mixed).is_err());
            assert!(s.cache_get(&h('a', 64)).unwrap().is_none());
        }

        #[test]
        fn a_job_keeps_its_object_items_and_their_results() {
            use $crate::core::extract::ioc::IndicatorKind;
            use $crate::core::Target;
            let s = store();
            let id = JobId("0b".repeat(16));
            let items = vec![
                Target::File(h('a', 64)),
                Target::Object {
                    kind: IndicatorKind::Url,
                    value: "https://evil.example/a".into(),
                    written: Some("hxxps://evil[.]example/a".into()),
                },
                Target::Object {
                    kind: IndicatorKind::Ip,
                    value: "2001:db8::1".into(),
                    written: None,
                },
            ];
            assert!(s.job_create(&id, &spec(), &items, 1).unwrap());
            let pending: Vec<Target> = s
                .job_pending(&id)
                .unwrap()
                .into_iter()
                .map(|i| i.target)
                .collect();
            assert_eq!(pending, items);
            let result = ItemResult::Lookup {
                lookup: Lookup::Object(Box::new(url_object("Login – <b>bank</b>"))),
                from_cache: false,
                fetched_at: 5,
            };
            s.job_record(&id, 1, &result, 6).unwrap();
            let got = s.job_items(&id, 0, 10).unwrap();
            assert_eq!(got[1].target, items[1]);
            let Some(ItemResult::Lookup {
                lookup: Lookup::Object(object),
                fetched_at: 5,
                from_cache: false,
            }) = &got[1].result
            else {
                panic!("{:?}", got[1].result);
            };
            // What a row shows comes back; the document stays in the objects' cache.
            assert_eq!(object.title.as_deref(), Some("Login – <b>bank</b>"));
            assert_eq!(object.stats.malicious, 9);
            assert_eq!(object.categories, ["phishing"]);
            assert!(got[0].result.is_none() && got[2].result.is_none());
            let job = s.job_get(&id).unwrap().unwrap();
            assert_eq!((job.total, job.done), (3, 1));
        }
    };
}
