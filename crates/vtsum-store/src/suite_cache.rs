//! The store suite's checks of the cache layout every backend keeps: reports read the
//! columns only, VirusTotal's document comes back exactly as it went in, batches answer
//! as single reads do, and an export carries everything to another store. Expanded inside
//! each `store_suite!` module (it uses that module's `store`, `h`, `found`, `unknown`).

/// Expands to the cache-layout tests; only for use inside [`crate::store_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! cache_layout_suite {
    () => {
        fn with_document(text: &str) -> CacheEntry {
            let mut entry = found('a', 'b', 'c', 7);
            if let Lookup::Found(file) = &mut entry.lookup {
                file.document = Some($crate::core::report::Document::new(text.into()).unwrap());
                file.threat_label = Some("trojan.x".into());
            }
            entry
        }

        #[test]
        fn reports_read_the_columns_and_the_document_comes_back_as_it_went_in() {
            let s = store();
            // Out of key order, odd spacing and a number written oddly: kept as text.
            let text = r#"{"data": {"zz": 1, "attributes": {"size": 1.50e3}}}"#;
            s.cache_put(&with_document(text)).unwrap();
            let got = s.cache_get(&h('c', 40)).unwrap().unwrap();
            let Lookup::Found(file) = &got.lookup else {
                panic!("found")
            };
            assert!(file.document.is_none() && file.engines.is_empty());
            assert_eq!(file.threat_label.as_deref(), Some("trojan.x"));
            for q in [h('a', 64), h('b', 32), h('c', 40)] {
                let document = s.cache_document(&q).unwrap().expect("a document");
                assert_eq!(document.text(), text);
            }
            s.cache_put(&unknown(h('d', 64), 1)).unwrap();
            assert!(s.cache_document(&h('d', 64)).unwrap().is_none());
            assert!(s.cache_document(&h('e', 64)).unwrap().is_none());
        }

        #[test]
        fn a_file_without_a_document_keeps_its_engines_in_one_built_for_it() {
            let s = store();
            let mut entry = found('a', 'b', 'c', 7);
            let engine = $crate::core::report::EngineResult {
                category: "malicious".into(),
                result: Some("Evil <b>".into()),
                version: None,
                update: Some("20240101".into()),
            };
            if let Lookup::Found(file) = &mut entry.lookup {
                file.engines.insert("Engine One".into(), engine.clone());
            }
            s.cache_put(&entry).unwrap();
            let document = s.cache_document(&h('b', 32)).unwrap().unwrap();
            let back = $crate::core::vt::v3::parse_file(document.text().as_bytes()).unwrap();
            assert_eq!(back.engines.get("Engine One"), Some(&engine));
        }

        #[test]
        fn a_batch_answers_as_single_reads_do_in_the_order_asked() {
            let s = store();
            s.cache_put_many(&[
                found('a', 'b', 'c', 1),
                found('1', '2', '3', 2),
                unknown(h('d', 64), 3),
                unknown(h('e', 32), 4),
            ])
            .unwrap();
            let asked = [
                h('3', 40),
                h('e', 32),
                h('9', 64),
                h('b', 32),
                h('a', 64),
                h('d', 64),
                h('2', 32),
                h('b', 32),
                h('f', 40),
            ];
            let batch = s.cache_get_many(&asked).unwrap();
            let single: Vec<_> = asked.iter().map(|q| s.cache_get(q).unwrap()).collect();
            assert_eq!(batch, single);
            let found_at: Vec<Option<i64>> = batch
                .iter()
                .map(|e| e.as_ref().map(|e| e.fetched_at))
                .collect();
            assert_eq!(
                found_at,
                [
                    Some(2),
                    Some(4),
                    None,
                    Some(1),
                    Some(1),
                    Some(3),
                    Some(2),
                    Some(1),
                    None
                ]
            );
            let many: Vec<Hash> = (0..700u32)
                .map(|i| Hash::parse(&format!("{i:064x}")).unwrap())
                .collect();
            let none = s.cache_get_many(&many).unwrap();
            assert_eq!(none.len(), 700, "batches past a chunk keep every answer");
            assert!(none.iter().all(Option::is_none));
        }

        #[test]
        fn an_export_carries_answers_and_documents_to_another_store() {
            let (s, other) = (store(), store());
            s.cache_put(&with_document(r#"{"data": {"k": [1, 2]}}"#))
                .unwrap();
            s.cache_put(&unknown(h('d', 40), 3)).unwrap();
            let mut exported = Vec::new();
            s.cache_export(&mut |e| {
                exported.push(e);
                Ok(())
            })
            .unwrap();
            assert_eq!(exported.len(), 2);
            other.cache_put_many(&exported).unwrap();
            for q in [h('b', 32), h('d', 40)] {
                assert_eq!(other.cache_get(&q).unwrap(), s.cache_get(&q).unwrap());
                assert_eq!(
                    other.cache_document(&q).unwrap(),
                    s.cache_document(&q).unwrap()
                );
            }
        }
    };
}
