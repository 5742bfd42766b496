//! A file's v3 document (`{"data": {"id", "type": "file", "links", "attributes"}}`) for an
//! answer that did not come as one: a v2 lookup, a cache written before documents were
//! kept, an export line without one. Built from what vtsum parsed, so it holds the fields
//! vtsum reads (stats, names, dates, engines …) and nothing VirusTotal said beyond them;
//! reading it back with [`super::v3::parse_file`] gives the same report.

use serde_json::{json, Map, Value};

use crate::report::{Document, FileReport};

/// The v3 document of `file`: its own when it has one, else one built from its fields.
pub fn of(file: &FileReport) -> Document {
    if let Some(document) = &file.document {
        return document.clone();
    }
    let s = &file.stats;
    let mut attributes = Map::new();
    let mut put = |key: &str, value: Value| {
        if !value.is_null() {
            attributes.insert(key.to_string(), value);
        }
    };
    put("sha256", json!(file.sha256));
    put("md5", json!(file.md5));
    put("sha1", json!(file.sha1));
    put(
        "last_analysis_stats",
        json!({
            "malicious": s.malicious, "suspicious": s.suspicious, "undetected": s.undetected,
            "harmless": s.harmless, "timeout": s.timeout, "type-unsupported": s.type_unsupported,
            "failure": s.failure,
        }),
    );
    put(
        "popular_threat_classification",
        match &file.threat_label {
            Some(label) => json!({ "suggested_threat_label": label }),
            None => Value::Null,
        },
    );
    put("type_description", json!(file.type_description));
    put("size", json!(file.size));
    put("meaningful_name", json!(file.meaningful_name));
    put("names", json!(file.names));
    put("tags", json!(file.tags));
    put("first_submission_date", json!(file.first_seen));
    put("last_submission_date", json!(file.last_seen));
    put("last_analysis_date", json!(file.last_analysis));
    put("reputation", json!(file.reputation));
    let engines: Map<String, Value> = file
        .engines
        .iter()
        .map(|(name, e)| {
            let result = json!({
                "category": e.category, "engine_name": name, "result": e.result,
                "engine_version": e.version, "engine_update": e.update,
            });
            (name.clone(), result)
        })
        .collect();
    if !engines.is_empty() {
        put("last_analysis_results", Value::Object(engines));
    }
    let document = json!({"data": {
        "id": file.sha256,
        "type": "file",
        "links": { "self": format!("https://www.virustotal.com/api/v3/files/{}", file.sha256) },
        "attributes": attributes,
    }});
    Document::new(document.to_string()).expect("a serialised value is one JSON value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EngineResult, Stats};

    #[test]
    fn a_built_document_reads_back_as_the_report() {
        let mut file = FileReport {
            sha256: "a".repeat(64),
            md5: Some("b".repeat(32)),
            stats: Stats {
                malicious: 5,
                undetected: 60,
                timeout: 1,
                ..Stats::default()
            },
            analysed: true,
            threat_label: Some("trojan.\"x\"</script>".into()),
            names: vec!["=cmd|' /c calc'!A0".into()],
            first_seen: Some(1_600_000_000),
            last_analysis: Some(1_700_000_000),
            reputation: Some(-3),
            ..FileReport::default()
        };
        file.engines.insert(
            "Engine A".into(),
            EngineResult {
                category: "malicious".into(),
                result: Some("Evil".into()),
                version: Some("1.2".into()),
                update: Some("20240101".into()),
            },
        );
        let document = of(&file);
        let mut back = crate::vt::v3::parse_file(document.text().as_bytes()).unwrap();
        assert_eq!(back.document.take(), Some(document));
        assert_eq!(back, file);
    }

    #[test]
    fn a_document_it_has_is_kept_as_it_came() {
        let text = r#"{"data": {"id": "x", "attributes": {"zz": 1}}}"#;
        let file = FileReport {
            document: Some(Document::new(text.into()).unwrap()),
            ..FileReport::default()
        };
        assert_eq!(of(&file).text(), text);
    }
}
