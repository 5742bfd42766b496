//! The bodies the fake answers with, in the real API's shapes (v3 file objects and errors,
//! v2 file reports).

use serde_json::{json, Map, Value};

use crate::corpus::{engine_results, CorpusFile, FileKind};

pub(crate) fn date(unix: i64) -> String {
    // v2's scan_date is "YYYY-MM-DD HH:MM:SS" UTC; civil-from-days (H. Hinnant).
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A v3 error body.
pub fn v3_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// The v3 file object of a corpus file.
pub fn v3_file(f: &CorpusFile, base_url: &str) -> Value {
    let results = engine_results(f);
    let mut stats = Map::new();
    for cat in [
        "malicious",
        "suspicious",
        "undetected",
        "harmless",
        "timeout",
        "confirmed-timeout",
        "type-unsupported",
        "failure",
    ] {
        let n = results.iter().filter(|r| r.1 == cat).count();
        stats.insert(cat.to_string(), json!(n));
    }
    let mut engines = Map::new();
    for (i, (name, category, result)) in results.iter().enumerate() {
        let sparse = f.kind == FileKind::Sparse && i % 2 == 0;
        engines.insert(
            name.to_string(),
            json!({
                "method": "blacklist",
                "engine_name": name,
                "engine_version": if sparse { Value::Null } else { json!(format!("{}.{}", 1 + i % 9, i)) },
                "engine_update": "20240601",
                "category": category,
                "result": result,
            }),
        );
    }
    let mut a = Map::new();
    a.insert("sha256".into(), json!(f.sha256));
    a.insert("md5".into(), json!(f.md5));
    a.insert("sha1".into(), json!(f.sha1));
    if f.kind != FileKind::Sparse {
        a.insert("size".into(), json!(f.size));
        a.insert("type_description".into(), json!(f.type_description));
        a.insert("type_tag".into(), json!("peexe"));
        a.insert("names".into(), json!(f.names));
        a.insert("meaningful_name".into(), json!(f.names[0]));
        a.insert("tags".into(), json!(["peexe", "overlay"]));
        a.insert("reputation".into(), json!(f.reputation));
        a.insert("times_submitted".into(), json!(3));
        a.insert(
            "total_votes".into(),
            json!({"harmless": 0, "malicious": f.malicious.min(3)}),
        );
        a.insert("first_submission_date".into(), json!(f.first_seen));
        a.insert("last_submission_date".into(), json!(f.last_seen));
        a.insert("creation_date".into(), json!(f.first_seen - 86_400));
        a.insert("last_modification_date".into(), json!(f.last_analysis));
    } else {
        a.insert("meaningful_name".into(), Value::Null);
        a.insert("names".into(), json!([]));
    }
    if f.kind != FileKind::NeverAnalysed {
        a.insert("last_analysis_date".into(), json!(f.last_analysis));
        a.insert("last_analysis_stats".into(), Value::Object(stats));
        a.insert("last_analysis_results".into(), Value::Object(engines));
    } else {
        a.insert("last_analysis_results".into(), json!({}));
    }
    if let Some(label) = &f.threat_label {
        let family = label.split('/').next_back().unwrap_or(label);
        a.insert(
            "popular_threat_classification".into(),
            json!({
                "suggested_threat_label": label,
                "popular_threat_category": [{"count": f.malicious, "value": "trojan"}],
                "popular_threat_name": [{"count": f.malicious / 2, "value": family}],
            }),
        );
    }
    json!({
        "data": {
            "type": "file",
            "id": f.sha256,
            "links": {"self": format!("{base_url}/api/v3/files/{}", f.sha256)},
            "attributes": a,
        }
    })
}

/// The v2 report of one resource: a corpus file, or `response_code` 0.
pub fn v2_report(resource: &str, file: Option<&CorpusFile>) -> Value {
    let Some(f) = file else {
        return json!({
            "response_code": 0,
            "resource": resource,
            "verbose_msg": "The requested resource is not among the finished, queued or pending scans",
        });
    };
    let mut report = json!({
        "response_code": 1,
        "resource": resource,
        "md5": f.md5,
        "sha1": f.sha1,
        "sha256": f.sha256,
        "scan_id": format!("{}-{}", f.sha256, f.last_analysis),
        "permalink": format!("https://www.virustotal.com/gui/file/{}/detection/f-{}", f.sha256, f.last_analysis),
        "verbose_msg": "Scan finished, information embedded",
    });
    if f.kind == FileKind::NeverAnalysed {
        // Known but never scanned: no scan fields at all.
        return report;
    }
    let results = engine_results(f);
    let mut scans = Map::new();
    for (i, (name, category, result)) in results.iter().enumerate() {
        if matches!(*category, "type-unsupported" | "timeout") {
            continue;
        }
        scans.insert(
            name.to_string(),
            json!({
                "detected": *category == "malicious",
                "version": format!("{}.{}", 1 + i % 9, i),
                "result": result,
                "update": "20240601",
            }),
        );
    }
    let positives = scans
        .values()
        .filter(|s| s["detected"] == json!(true))
        .count();
    report["scan_date"] = json!(date(f.last_analysis));
    report["positives"] = json!(positives);
    report["total"] = json!(scans.len());
    report["scans"] = Value::Object(scans);
    report
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(super::date(0), "1970-01-01 00:00:00");
        assert_eq!(super::date(1_700_000_000), "2023-11-14 22:13:20");
    }
}
