//! The self-contained HTML report: one file, inline CSS, no script, no external resource,
//! and a Content-Security-Policy that would block any script that slipped in. Every value is
//! escaped; a permalink is only linked when it points at VirusTotal.

use std::io::{self, Write};

use super::source::{writing, RowSource};
use super::RenderOptions;
use crate::error::Result;
use crate::report::{Row, Summary, Verdict};

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;\
text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f4f4f4}\
.v{font-weight:600}.malicious{color:#b00020}.suspicious{color:#a66300}.clean{color:#1b7f3b}\
.unanalysed{color:#2958a6}.unknown{color:#777}.error{color:#8a1d8a}code{font-size:12px}\
.summary span{margin-right:1rem}details{font-size:12px}";

/// Writes the whole page: the summary (counted before, from a walk of its own), then the
/// rows as they come.
pub fn write_html(
    w: &mut dyn Write,
    rows: &dyn RowSource,
    summary: &Summary,
    opts: &RenderOptions,
) -> Result<()> {
    write_head(w, summary, opts).map_err(writing)?;
    rows.each(&mut |row| write_row(w, row))?;
    writeln!(w, "</tbody></table></body></html>").map_err(writing)
}

fn write_head(w: &mut dyn Write, summary: &Summary, opts: &RenderOptions) -> io::Result<()> {
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>",
        escape(&opts.title)
    )?;
    writeln!(
        w,
        "<h1>{}</h1><p>Generated {}</p><p class=\"summary\">",
        escape(&opts.title),
        escape(&opts.generated_at)
    )?;
    writeln!(
        w,
        "<span>{}</span>",
        super::count(summary.total, "hash", "hashes")
    )?;
    for v in Verdict::ALL {
        if let Some(n) = summary.verdicts.get(v.as_str()) {
            writeln!(w, "<span class=\"{0}\">{n} {0}</span>", v.as_str())?;
        }
    }
    writeln!(
        w,
        "<span>{} from cache</span><span>{} without a hash</span></p>",
        summary.cache_hits,
        super::count(summary.lines_without_hash, "line", "lines")
    )?;
    writeln!(
        w,
        "<table><thead><tr><th>Verdict</th><th>Detections</th><th>Threat</th><th>Type</th>\
         <th>Size</th><th>Names</th><th>First seen</th><th>Last seen</th><th>Hash</th></tr></thead><tbody>"
    )
}

fn write_row(w: &mut dyn Write, row: &Row) -> io::Result<()> {
    let opt = |s: &Option<String>| escape(s.as_deref().unwrap_or(""));
    let v = row.verdict.as_str();
    let names: Vec<String> = row.names.iter().take(10).map(|n| escape(n)).collect();
    let mut names = names.join("<br>");
    if let Some(summary) = row.object_summary() {
        names = escape(&summary);
    }
    if let Some(e) = &row.error {
        names = format!("<span class=\"error\">{}</span>", escape(e));
    }
    let hash = match row.permalink.as_deref() {
        Some(link) if link.starts_with("https://www.virustotal.com/") => format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\"><code>{}</code></a>",
            escape(link),
            escape(&row.input)
        ),
        _ => format!("<code>{}</code>", escape(&row.input)),
    };
    // A defanged form stays visible beside the looked-up one; neither is ever a link.
    let hash = match &row.written {
        Some(written) => format!("{hash} <small>({})</small>", escape(written)),
        None => hash,
    };
    write!(
        w,
        "<tr><td class=\"v {v}\">{v}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{names}</td><td>{}</td><td>{}</td><td>{hash}",
        row.malicious,
        row.total,
        opt(&row.threat_label),
        escape(row.type_or_kind().unwrap_or("")),
        row.size.map(|s| s.to_string()).unwrap_or_default(),
        opt(&row.first_seen),
        opt(&row.last_seen),
    )?;
    if let Some(engines) = row.engines.as_ref().filter(|e| !e.is_empty()) {
        write!(
            w,
            "<details><summary>{} engines</summary><table>",
            engines.len()
        )?;
        for (name, e) in engines {
            write!(
                w,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(name),
                escape(&e.category),
                opt(&e.result),
                opt(&e.version)
            )?;
        }
        write!(w, "</table></details>")?;
    }
    writeln!(w, "</td></tr>")
}
