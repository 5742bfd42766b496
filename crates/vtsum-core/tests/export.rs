//! `--format stix` and `--format misp`: the bundle and the event hold exactly the rows'
//! hashes, hostile labels stay data, ids hold together, and the same rows at the same time
//! give the same bytes; then the reference readers (OASIS's stix2-validator, PyMISP)
//! accept them.

use std::collections::HashSet;

use serde_json::Value;
use vtsum_core::render::stix::pattern_literal;
use vtsum_core::render::{render, Format, RenderOptions};
use vtsum_core::report::{FileReport, Lookup, Row, RowOptions, Stats, Summary, Verdict};
use vtsum_core::Hash;

const HOSTILE: &[&str] = &[
    "it's",
    "back\\slash",
    "close]bracket",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "new\nline",
    "\u{1b}[31mred\u{1b}[0m",
    "Trojan.Win32.X",
];

/// A file per hostile label with 0..n malicious detections (so clean, suspicious and
/// malicious rows), two files sharing a label, an unknown file and a failed lookup.
fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for i in 0..HOSTILE.len() + 2 {
        let sha = format!("{:064x}", i + 1);
        let file = FileReport {
            sha256: sha.clone(),
            md5: Some(format!("{:032x}", i + 1)),
            sha1: (i % 2 == 0).then(|| format!("{:040x}", i + 1)),
            stats: Stats {
                malicious: i as u32,
                suspicious: u32::from(i == 0),
                undetected: 10,
                ..Stats::default()
            },
            analysed: true,
            threat_label: Some(HOSTILE[i % HOSTILE.len()].to_string()),
            last_analysis: Some(1_700_000_000 + i as i64),
            ..FileReport::default()
        };
        rows.push(Row::from_lookup(
            Hash::parse(&sha).unwrap(),
            &Lookup::Found(Box::new(file)),
            RowOptions::default(),
        ));
    }
    rows.push(Row::from_lookup(
        Hash::parse(&"e".repeat(40)).unwrap(),
        &Lookup::Unknown,
        RowOptions::default(),
    ));
    rows.push(Row::error(Hash::parse(&"f".repeat(32)).unwrap(), "gave up"));
    rows
}

fn opts() -> RenderOptions {
    RenderOptions {
        title: "vtsum report: it's <b>\"x\"</b>".into(),
        generated_at: "2024-05-01T12:00:00Z".into(),
        ..RenderOptions::default()
    }
}

fn bytes(format: Format, rows: &[Row], opts: &RenderOptions) -> Vec<u8> {
    let mut summary = Summary::default();
    summary.count_rows(rows);
    let mut buf = Vec::new();
    render(&mut buf, format, rows, &summary, opts).unwrap();
    buf
}

fn doc(format: Format, rows: &[Row]) -> Value {
    serde_json::from_slice(&bytes(format, rows, &opts())).expect("valid JSON")
}

/// A small reader of the patterns vtsum writes: `[file:hashes.NAME = 'v' OR ...]`, with
/// `\'` and `\\` the only escapes. Hash names and values in order, or why not.
fn read_pattern(pattern: &str) -> Result<Vec<(String, String)>, String> {
    let mut rest = pattern.strip_prefix('[').ok_or("no [")?;
    let mut out = Vec::new();
    loop {
        rest = rest.strip_prefix("file:hashes.").ok_or("no file:hashes.")?;
        let eq = rest.find(" = ").ok_or("no =")?;
        let name = rest[..eq].trim_matches('\'').to_string();
        let mut chars = rest[eq + 3..].strip_prefix('\'').ok_or("no quote")?.chars();
        let mut value = String::new();
        loop {
            match chars.next().ok_or("unterminated")? {
                '\\' => match chars.next().ok_or("dangling \\")? {
                    c @ ('\\' | '\'') => value.push(c),
                    c => return Err(format!("bad escape \\{c}")),
                },
                '\'' => break,
                c => value.push(c),
            }
        }
        out.push((name, value));
        rest = chars.as_str();
        if let Some(more) = rest.strip_prefix(" OR ") {
            rest = more;
        } else if rest == "]" {
            return Ok(out);
        } else {
            return Err(format!("trailing {rest:?}"));
        }
    }
}

/// The hashes a row has, as its pattern must name them.
fn row_hashes(row: &Row) -> Vec<(String, String)> {
    [
        ("SHA-256", &row.sha256),
        ("MD5", &row.md5),
        ("SHA-1", &row.sha1),
    ]
    .into_iter()
    .filter_map(|(n, v)| Some((n.to_string(), v.clone()?)))
    .collect()
}

fn is_stix_id(id: &str, kind: &str) -> bool {
    let Some(uuid) = id.strip_prefix(&format!("{kind}--")) else {
        return false;
    };
    let parts: Vec<&str> = uuid.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && uuid
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_uppercase())
        && parts[2].starts_with('5')
        && matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

#[test]
fn a_pattern_literal_reads_back_as_the_text_it_holds() {
    for text in HOSTILE.iter().chain(&["", "\\'", "'\\", "a']  OR [x"]) {
        let pattern = format!("[file:hashes.MD5 = {}]", pattern_literal(text));
        assert_eq!(
            read_pattern(&pattern),
            Ok(vec![("MD5".to_string(), text.to_string())]),
            "{pattern}"
        );
    }
    assert_eq!(pattern_literal("a'b\\c"), r"'a\'b\\c'");
}

#[test]
fn the_bundle_has_an_indicator_per_flagged_row_naming_exactly_its_hashes() {
    let mut rows = rows();
    // A hash from a hostile answer stays a literal too.
    rows[HOSTILE.len()].md5 = Some("x' OR file:name = 'y\\".into());
    let bundle = doc(Format::Stix, &rows);
    assert_eq!(bundle["type"], "bundle");
    assert!(is_stix_id(bundle["id"].as_str().unwrap(), "bundle"));
    let objects = bundle["objects"].as_array().unwrap();
    let ids: HashSet<&str> = objects.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), objects.len(), "ids are unique");
    for o in objects {
        let kind = o["type"].as_str().unwrap();
        assert!(is_stix_id(o["id"].as_str().unwrap(), kind), "{o}");
        assert_eq!(o["spec_version"], "2.1");
        assert_eq!(o["created"], "2024-05-01T12:00:00.000Z");
        if kind != "identity" {
            assert!(ids.contains(o["created_by_ref"].as_str().unwrap()));
        }
    }
    let of_kind = |k: &'static str| objects.iter().filter(move |o| o["type"] == k);
    assert_eq!(of_kind("identity").count(), 1);

    let flagged: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Malicious | Verdict::Suspicious))
        .collect();
    assert!(flagged.len() >= 3 && flagged.len() < rows.len());
    let indicators: Vec<&Value> = of_kind("indicator").collect();
    assert_eq!(indicators.len(), flagged.len());
    for (ind, row) in indicators.iter().zip(&flagged) {
        let pattern = ind["pattern"].as_str().unwrap();
        assert_eq!(read_pattern(pattern), Ok(row_hashes(row)), "{pattern}");
        let label = row.threat_label.as_deref().unwrap();
        assert_eq!(ind["name"], label);
        assert_eq!(ind["labels"][1], label);
        let kind = match row.verdict {
            Verdict::Malicious => "malicious-activity",
            _ => "anomalous-activity",
        };
        assert_eq!(ind["indicator_types"], serde_json::json!([kind]));
        let ratio = format!("{}/{} engines", row.malicious, row.total);
        assert!(ind["description"].as_str().unwrap().contains(&ratio));
        let at = row.last_analysis.as_deref().unwrap().replace('Z', ".000Z");
        assert_eq!(ind["valid_from"], at.as_str());
        let conf = ind["confidence"].as_u64().unwrap();
        assert_eq!(
            conf,
            (u64::from(row.malicious + row.suspicious) * 100 + u64::from(row.total) / 2)
                / u64::from(row.total)
        );
    }

    let malware: Vec<&Value> = of_kind("malware").collect();
    let labels: HashSet<&str> = flagged
        .iter()
        .filter_map(|r| r.threat_label.as_deref())
        .collect();
    let names: HashSet<&str> = malware
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, labels, "one malware per distinct label");
    assert_eq!(malware.len(), labels.len());
    let rels: Vec<&Value> = of_kind("relationship").collect();
    assert_eq!(rels.len(), indicators.len());
    for (rel, ind) in rels.iter().zip(&indicators) {
        assert_eq!(rel["relationship_type"], "indicates");
        assert_eq!(rel["source_ref"], ind["id"]);
        let target = objects
            .iter()
            .find(|o| o["id"] == rel["target_ref"])
            .unwrap();
        assert_eq!(target["type"], "malware");
        assert_eq!(target["name"], ind["name"]);
    }
}

#[test]
fn the_event_has_an_attribute_per_hash_and_marks_only_malicious_ones_for_ids() {
    let rows = rows();
    let event = &doc(Format::Misp, &rows)["Event"];
    assert_eq!(event["info"], opts().title.as_str());
    assert_eq!(event["date"], "2024-05-01");
    assert_eq!(event["threat_level_id"], "1");
    let attrs = event["Attribute"].as_array().unwrap();
    let mut want = Vec::new();
    for row in &rows {
        for (kind, value) in [
            ("md5", &row.md5),
            ("sha1", &row.sha1),
            ("sha256", &row.sha256),
        ] {
            if let Some(value) = value {
                want.push((kind, value.as_str(), row.verdict == Verdict::Malicious, row));
            }
        }
    }
    assert_eq!(attrs.len(), want.len());
    assert!(want.iter().any(|w| w.2) && want.iter().any(|w| !w.2));
    for (attr, (kind, value, to_ids, row)) in attrs.iter().zip(&want) {
        assert_eq!(attr["type"], *kind);
        assert_eq!(attr["value"], *value);
        assert_eq!(attr["to_ids"], *to_ids, "{attr}");
        assert_eq!(attr["category"], "Payload delivery");
        let comment = attr["comment"].as_str().unwrap();
        let head = format!("{} {}/{}", row.verdict.as_str(), row.malicious, row.total);
        assert!(comment.starts_with(&head), "{comment}");
        if let Some(label) = row.threat_label.as_deref() {
            assert!(comment.ends_with(&format!(" ({label})")), "{comment}");
        }
    }
    let clean: Vec<Row> = rows
        .into_iter()
        .filter(|r| r.malicious == 0 && r.suspicious == 0)
        .collect();
    assert_eq!(doc(Format::Misp, &clean)["Event"]["threat_level_id"], "3");
}

#[test]
fn the_same_rows_at_the_same_time_give_the_same_bytes() {
    let rows = rows();
    for format in [Format::Stix, Format::Misp] {
        let once = bytes(format, &rows, &opts());
        assert_eq!(once, bytes(format, &rows, &opts()), "{format}");
        let later = RenderOptions {
            generated_at: "2024-05-02T12:00:00Z".into(),
            ..opts()
        };
        assert_ne!(
            once,
            bytes(format, &rows, &later),
            "{format} carries its time"
        );
        assert_ne!(
            once,
            bytes(format, &rows[1..], &opts()),
            "{format} ids follow the rows"
        );
        let empty: Value = serde_json::from_slice(&bytes(format, &[], &opts())).unwrap();
        assert!(empty.is_object(), "{format} of no rows");
    }
}

/// OASIS's validator and PyMISP read what vtsum wrote.
#[test]
fn the_reference_readers_accept_the_bundle_and_the_event() {
    let rows = rows();
    let dir = tempfile::tempdir().unwrap();
    let stix = dir.path().join("report.stix");
    let misp = dir.path().join("report.misp");
    std::fs::write(&stix, bytes(Format::Stix, &rows, &opts())).unwrap();
    std::fs::write(&misp, bytes(Format::Misp, &rows, &opts())).unwrap();
    let attributes = doc(Format::Misp, &rows)["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .len();
    let script = r#"
import sys, uuid
from stix2validator import validate_file, print_results, ValidationOptions
from pymisp import MISPEvent
# Every check, warnings as errors, but one: STIX says SDO ids SHOULD be UUIDv4; vtsum's
# are UUIDv5 of their content on purpose (reproducible reports, stable ids per file).
results = validate_file(sys.argv[1], ValidationOptions(strict=True, disabled=["uuid-check"]))
if not results.is_valid:
    print_results(results)
    sys.exit("stix2-validator rejects the bundle")
event = MISPEvent()
event.load_file(sys.argv[2], validate=True)
print(len(event.attributes), event.threat_level_id, sum(a.to_ids for a in event.attributes))
# vtsum's ids are RFC 4122 version 5 UUIDs, as Python's own uuid5 makes them.
print(uuid.uuid5(uuid.UUID("acb719b1-d3c0-5bb7-b207-5e98a82c58e6"), "identity\x00vtsum"))
"#;
    let out = vtsum_test_utils::pyexport::run(script, &[stix.as_os_str(), misp.as_os_str()])
        .unwrap_or_else(|e| panic!("{e}"));
    let malicious_attrs: usize = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Malicious)
        .map(|r| row_hashes(r).len())
        .sum();
    let identity = doc(Format::Stix, &rows)["objects"][0]["id"].clone();
    assert_eq!(
        out.trim(),
        format!(
            "{attributes} 1 {malicious_attrs}\n{}",
            identity
                .as_str()
                .unwrap()
                .strip_prefix("identity--")
                .unwrap()
        )
    );
}

/// Past `MAX_LABELS` distinct labels a flagged file still gets its indicator, without a
/// `malware` object or relationship: the labels held stay bounded.
#[test]
fn labels_past_the_bound_keep_their_indicators() {
    use vtsum_core::render::stix::MAX_LABELS;
    let row = rows()
        .into_iter()
        .find(|r| r.verdict == Verdict::Malicious)
        .unwrap();
    let many: Vec<Row> = (0..MAX_LABELS + 3)
        .map(|i| Row {
            input: format!("{i:064x}"),
            sha256: Some(format!("{i:064x}")),
            threat_label: Some(format!("label {i}")),
            ..row.clone()
        })
        .collect();
    let bundle = doc(Format::Stix, &many);
    let count = |kind: &str| {
        bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] == kind)
            .count()
    };
    assert_eq!(count("indicator"), many.len());
    assert_eq!(count("malware"), MAX_LABELS);
    assert_eq!(count("relationship"), MAX_LABELS);
}
