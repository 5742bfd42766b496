//! MISP: the report as one event (`{"Event": {...}}`, as MISP exports and PyMISP's
//! `MISPEvent.load` reads it), one `Attribute` per hash each row has (`md5`, `sha1`,
//! `sha256`, category `Payload delivery`), whatever its verdict: the comment says it
//! (`malicious 45/70 (Trojan.X)`), and only malicious rows are marked `to_ids`, so MISP
//! exports detection rules for those alone.
//!
//! Rows stream: the attributes are written as rows pass and the event's own fields after
//! them (JSON objects have no order), so its `threat_level_id` can follow from the rows:
//! high (1) with a malicious row, medium (2) with a suspicious one, low (3) otherwise. The
//! event is `analysis` completed (2) and `distribution` your organisation only (0): who
//! else sees it is the analyst's call, made in MISP. Its uuid, like the attributes', is a
//! version 5 UUID ([`super::stix::Uuid5`]) of its content, so the same rows at the same
//! report time give the same bytes.
//!
//! A file asked for by two hashes (two rows) gives its attributes twice; MISP's import
//! keeps one of each.

use std::io::{self, Write};

use serde::Serialize;

use super::source::{writing, RowSource, Tally};
use super::stix::{uuid5, Uuid5, NAMESPACE};
use super::RenderOptions;
use crate::error::Result;
use crate::report::{Row, Verdict};
use crate::target::Kind;

#[derive(Serialize)]
struct Attribute<'a> {
    uuid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    category: &'static str,
    value: &'a str,
    to_ids: bool,
    comment: &'a str,
    /// Inherit the event's.
    distribution: &'static str,
}

/// `malicious 45/70 (Trojan.X)`: the verdict, the malicious detections out of the engines,
/// and the threat label if any.
pub fn comment(row: &Row) -> String {
    let mut text = format!("{} {}/{}", row.verdict.as_str(), row.malicious, row.total);
    if let Some(label) = row.threat_label.as_deref().filter(|l| !l.is_empty()) {
        text.push_str(&format!(" ({label})"));
    }
    text
}

/// The event's date, `YYYY-MM-DD`, from the report's time.
fn date(opts: &RenderOptions) -> String {
    super::stix::report_time(opts)[..10].to_string()
}

/// Writes the event, one walk of `rows`.
pub(crate) fn write_misp(
    w: &mut dyn Write,
    rows: &dyn RowSource,
    tally: &mut Tally<'_>,
    opts: &RenderOptions,
) -> Result<()> {
    w.write_all(b"{\n  \"Event\": {\n    \"Attribute\": [")
        .map_err(writing)?;
    let mut event = Uuid5::new(&NAMESPACE);
    let mut first = true;
    let mut worst = Verdict::Error;
    let mut buf = Vec::new();
    rows.each(&mut |row| {
        tally.row(row);
        if matches!(row.verdict, Verdict::Malicious | Verdict::Suspicious) {
            worst = worst.min(row.verdict);
        }
        let note = comment(row);
        let input = Some(row.input.clone());
        let objects = [(
            match row.kind {
                Kind::File => "",
                Kind::Url => "url",
                Kind::Domain => "domain",
                Kind::Ip => "ip-dst",
            },
            &input,
        )];
        let hashes = [
            ("md5", &row.md5),
            ("sha1", &row.sha1),
            ("sha256", &row.sha256),
        ];
        let attributes: &[(&str, &Option<String>)] = match row.kind {
            Kind::File => &hashes,
            _ => &objects,
        };
        for &(kind, value) in attributes {
            let Some(value) = value.as_deref() else {
                continue;
            };
            buf.clear();
            buf.extend_from_slice(if first { b"\n      " } else { b",\n      " });
            first = false;
            serde_json::to_writer(
                &mut buf,
                &Attribute {
                    uuid: uuid5(&["misp-attribute", &row.input, kind, value]),
                    kind,
                    category: if row.kind == Kind::File {
                        "Payload delivery"
                    } else {
                        "Network activity"
                    },
                    value,
                    to_ids: row.verdict == Verdict::Malicious,
                    comment: &note,
                    distribution: "5",
                },
            )?;
            event.update(&buf);
            w.write_all(&buf)?;
        }
        Ok(())
    })?;
    let threat_level = match worst {
        Verdict::Malicious => "1",
        Verdict::Suspicious => "2",
        _ => "3",
    };
    let info = if opts.title.is_empty() {
        "vtsum report"
    } else {
        &opts.title
    };
    let date = date(opts);
    event.update(info.as_bytes()).update(date.as_bytes());
    (|| -> io::Result<()> {
        w.write_all(if first { b"],\n" } else { b"\n    ],\n" })?;
        write!(
            w,
            "    \"info\": {},\n    \"date\": \"{}\",\n    \"threat_level_id\": \"{threat_level}\",\n    \
             \"analysis\": \"2\",\n    \"distribution\": \"0\",\n    \"published\": false,\n    \
             \"uuid\": \"{}\"\n  }}\n}}\n",
            serde_json::to_string(info)?,
            date,
            event.finish()
        )
    })()
    .map_err(writing)
}
