//! Rows of URLs, domains and IP addresses in every format (issue 15): CSV and JSON carry
//! `kind`, `written` and the per-kind fields; HTML links only the VirusTotal page, never
//! the indicator, and escapes a hostile title; STIX writes `url`, `domain-name` and
//! `ipv4-addr`/`ipv6-addr` patterns whose literals read back as the indicator; MISP gives
//! `url`, `domain` and `ip-dst` attributes. Then OASIS's stix2-validator and PyMISP accept
//! the bundle and the event.

use serde_json::Value;
use vtsum_core::extract::ioc::IndicatorKind;
use vtsum_core::render::stix::pattern_literal;
use vtsum_core::render::{render, Format, RenderOptions};
use vtsum_core::report::{Lookup, ObjectReport, Row, RowOptions, Stats, Summary};
use vtsum_core::Target;

const TITLE: &str = "<img src=x onerror=alert(1)> it's \"x\"";

fn object(kind: IndicatorKind, value: &str, malicious: u32) -> Row {
    let report = ObjectReport {
        id: value.into(),
        stats: Stats {
            malicious,
            suspicious: u32::from(malicious == 1),
            undetected: 60,
            ..Stats::default()
        },
        analysed: true,
        last_analysis: Some(1_700_000_000),
        title: (kind == IndicatorKind::Url).then(|| TITLE.to_string()),
        threat_names: vec!["Mal/HTMLGen-A".into()],
        registrar: (kind == IndicatorKind::Domain).then(|| "=HYPERLINK(\"x\")".into()),
        as_owner: (kind == IndicatorKind::Ip).then(|| "EVIL-AS".into()),
        asn: (kind == IndicatorKind::Ip).then_some(64_500),
        ..ObjectReport::default()
    };
    let target = Target::Object {
        kind,
        value: value.into(),
        written: Some(value.replace('.', "[.]")),
    };
    Row::from_lookup(
        target,
        &Lookup::Object(Box::new(report)),
        RowOptions::default(),
    )
}

fn rows() -> Vec<Row> {
    vec![
        object(IndicatorKind::Url, "https://evil.example/a?q='x']&b=\\", 9),
        object(IndicatorKind::Domain, "evil-domain.example", 1),
        object(IndicatorKind::Ip, "203.0.113.7", 5),
        object(IndicatorKind::Ip, "2001:db8::7", 4),
        object(IndicatorKind::Domain, "clean.example", 0),
    ]
}

fn bytes(format: Format, rows: &[Row]) -> Vec<u8> {
    let mut summary = Summary::default();
    summary.count_rows(rows);
    let opts = RenderOptions {
        title: "indicators".into(),
        generated_at: "2024-05-01T12:00:00Z".into(),
        ..RenderOptions::default()
    };
    let mut buf = Vec::new();
    render(&mut buf, format, rows, &summary, &opts).unwrap();
    buf
}

fn text(format: Format, rows: &[Row]) -> String {
    String::from_utf8(bytes(format, rows)).unwrap()
}

#[test]
fn csv_json_and_html_carry_the_kind_and_the_fields() {
    let rows = rows();
    let csv = text(Format::Csv, &rows);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let at = |c: &str| header.iter().position(|h| *h == c).unwrap();
    let ip_line = csv.lines().find(|l| l.starts_with("203.0.113.7,")).unwrap();
    let cells: Vec<&str> = ip_line.split(',').collect();
    assert_eq!(cells[at("kind")], "ip");
    assert_eq!(cells[at("written")], "203[.]0[.]113[.]7");
    assert_eq!(cells[at("as_owner")], "EVIL-AS");
    assert_eq!(cells[at("asn")], "64500");
    // A hostile registrar is defused as any text cell.
    assert!(csv.contains("'=HYPERLINK"), "{csv}");

    let json: Value = serde_json::from_slice(&bytes(Format::Json, &rows)).unwrap();
    let url = &json["results"][0];
    assert_eq!(url["kind"], "url");
    assert_eq!(url["title"], TITLE);
    assert_eq!(url["verdict"], "malicious");
    assert_eq!(url["threat_label"], "Mal/HTMLGen-A");

    let html = text(Format::Html, &rows);
    assert!(!html.contains("<img"), "the title is escaped");
    assert!(
        !html.contains("href=\"https://evil"),
        "an indicator is never a link"
    );
    let links = html
        .matches("<a href=\"https://www.virustotal.com/gui/")
        .count();
    assert_eq!(links, rows.len(), "each row links its VirusTotal page only");
    assert!(
        html.contains("evil-domain[.]example"),
        "the written form is shown"
    );
}

#[test]
fn stix_and_misp_name_the_indicators_and_the_reference_readers_accept_them() {
    let rows = rows();
    let bundle: Value = serde_json::from_slice(&bytes(Format::Stix, &rows)).unwrap();
    let patterns: Vec<&str> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| o["pattern"].as_str().unwrap())
        .collect();
    let want = [
        format!("[url:value = {}]", pattern_literal(&rows[0].input)),
        format!(
            "[domain-name:value = {}]",
            pattern_literal("evil-domain.example")
        ),
        "[ipv4-addr:value = '203.0.113.7']".to_string(),
        "[ipv6-addr:value = '2001:db8::7']".to_string(),
    ];
    assert_eq!(patterns, want, "the clean domain has no indicator");

    let event: Value = serde_json::from_slice(&bytes(Format::Misp, &rows)).unwrap();
    let attrs: Vec<(String, String, bool, String)> = event["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_string(),
                a["value"].as_str().unwrap().to_string(),
                a["to_ids"].as_bool().unwrap(),
                a["category"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let net = |t: &str, v: &str, ids: bool| (t.into(), v.into(), ids, "Network activity".into());
    assert_eq!(
        attrs,
        [
            net("url", &rows[0].input, true),
            net("domain", "evil-domain.example", false),
            net("ip-dst", "203.0.113.7", true),
            net("ip-dst", "2001:db8::7", true),
            net("domain", "clean.example", false),
        ]
    );

    let dir = tempfile::tempdir().unwrap();
    let stix = dir.path().join("objects.stix");
    let misp = dir.path().join("objects.misp");
    std::fs::write(&stix, bytes(Format::Stix, &rows)).unwrap();
    std::fs::write(&misp, bytes(Format::Misp, &rows)).unwrap();
    let script = r#"
import sys
from stix2validator import validate_file, print_results, ValidationOptions
from pymisp import MISPEvent
results = validate_file(sys.argv[1], ValidationOptions(strict=True, disabled=["uuid-check"]))
if not results.is_valid:
    print_results(results)
    sys.exit("stix2-validator rejects the bundle")
event = MISPEvent()
event.load_file(sys.argv[2], validate=True)
print(sorted(a.type for a in event.attributes))
"#;
    let out = vtsum_test_utils::pyexport::run(script, &[stix.as_os_str(), misp.as_os_str()])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.trim(),
        "['domain', 'domain', 'ip-dst', 'ip-dst', 'url']"
    );
}
