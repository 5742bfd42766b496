//! Building a report [`Row`] from what a job holds for one input: a file's answer, a URL's,
//! a domain's or an IP address's, an unknown one or a failure.

use super::{
    iso8601, object_permalink, permalink, ItemResult, Lookup, ObjectFields, ObjectReport, Row,
    RowOptions, Stats, Status, Verdict,
};
use crate::hash::HashKind;
use crate::target::Target;

impl Row {
    /// A row with only the input filled in: the base of every other constructor.
    fn blank(input: Target, status: Status, verdict: Verdict) -> Row {
        let (kind, hash) = (input.kind(), input.hash().cloned());
        let written = input.written().map(str::to_string);
        let mut row = Row {
            input: input.into_value(),
            md5: None,
            sha1: None,
            sha256: None,
            status,
            verdict,
            malicious: 0,
            suspicious: 0,
            undetected: 0,
            harmless: 0,
            total: 0,
            threat_label: None,
            file_type: None,
            size: None,
            meaningful_name: None,
            names: Vec::new(),
            tags: Vec::new(),
            first_seen: None,
            last_seen: None,
            last_analysis: None,
            reputation: None,
            permalink: None,
            from_cache: false,
            error: None,
            engines: None,
            kind,
            written,
            object: ObjectFields::default(),
        };
        if let Some(hash) = hash {
            let own = Some(hash.to_string());
            match hash.kind() {
                HashKind::Md5 => row.md5 = own,
                HashKind::Sha1 => row.sha1 = own,
                HashKind::Sha256 => row.sha256 = own,
            }
        }
        row
    }

    /// What the type column of a table shows: a file's type, or the kind of the other rows.
    pub fn type_or_kind(&self) -> Option<&str> {
        match self.kind {
            crate::target::Kind::File => self.file_type.as_deref(),
            kind => Some(kind.as_str()),
        }
    }

    /// A short line on a URL, a domain or an IP address for tables (its page title and
    /// HTTP code; registrar and creation date; AS owner, country and network). `None` for
    /// files.
    pub fn object_summary(&self) -> Option<String> {
        let o = &self.object;
        let parts: Vec<String> = match self.kind {
            crate::target::Kind::File => return None,
            crate::target::Kind::Url => [
                o.title.clone(),
                o.last_http_response_code.map(|c| format!("HTTP {c}")),
                o.final_url
                    .clone()
                    .filter(|f| *f != self.input)
                    .map(|f| format!("→ {f}")),
            ]
            .into_iter()
            .flatten()
            .collect(),
            crate::target::Kind::Domain => [o.registrar.clone(), o.creation_date.clone()]
                .into_iter()
                .flatten()
                .collect(),
            crate::target::Kind::Ip => [
                o.as_owner.clone(),
                o.asn.map(|a| format!("AS{a}")),
                o.country.clone(),
                o.network.clone(),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        Some(parts.join(", "))
    }

    /// The row of an input whose lookup failed for good.
    pub fn error(input: impl Into<Target>, message: impl Into<String>) -> Row {
        let mut row = Row::blank(input.into(), Status::Error, Verdict::Error);
        row.error = Some(message.into());
        row
    }

    /// The row of an input from its stored result.
    pub fn from_result(input: impl Into<Target>, result: &ItemResult, opts: RowOptions) -> Row {
        match result {
            ItemResult::Error { message } => Row::error(input, message.clone()),
            ItemResult::Lookup {
                lookup, from_cache, ..
            } => {
                let mut row = Row::from_lookup(input, lookup, opts);
                row.from_cache = *from_cache;
                row
            }
        }
    }

    /// The row of an input from what VirusTotal said.
    pub fn from_lookup(input: impl Into<Target>, lookup: &Lookup, opts: RowOptions) -> Row {
        let input = input.into();
        let file = match lookup {
            Lookup::Unknown => return Row::blank(input, Status::Unknown, Verdict::Unknown),
            Lookup::Object(object) => return Row::from_object(input, object, opts),
            Lookup::Found(file) => file,
        };
        let s = &file.stats;
        let mut row = Row::blank(
            input,
            Status::Found,
            Verdict::of(s, file.analysed, opts.threshold),
        );
        row.md5 = file.md5.clone().or(row.md5);
        row.sha1 = file.sha1.clone().or(row.sha1);
        row.sha256 = Some(file.sha256.clone());
        row.count(s);
        row.threat_label = file.threat_label.clone();
        row.file_type = file.type_description.clone();
        row.size = file.size;
        row.meaningful_name = file.meaningful_name.clone();
        row.names = file.names.clone();
        row.tags = file.tags.clone();
        row.first_seen = file.first_seen.and_then(iso8601);
        row.last_seen = file.last_seen.and_then(iso8601);
        row.last_analysis = file.last_analysis.and_then(iso8601);
        row.reputation = file.reputation;
        row.permalink = Some(permalink(&file.sha256));
        if opts.engines {
            row.engines = Some(file.engines.clone());
        }
        row
    }

    /// The engines' counts, and `total` as the VirusTotal page counts it.
    fn count(&mut self, s: &Stats) {
        self.malicious = s.malicious;
        self.suspicious = s.suspicious;
        self.undetected = s.undetected;
        self.harmless = s.harmless;
        // Saturating: a cache written by an older version may hold unbounded counts.
        self.total = [s.suspicious, s.undetected, s.harmless]
            .into_iter()
            .fold(s.malicious, u32::saturating_add);
    }

    /// The row of a URL, a domain or an IP address VirusTotal knows.
    fn from_object(input: Target, object: &ObjectReport, opts: RowOptions) -> Row {
        let s = &object.stats;
        let link = match &input {
            Target::Object { kind, value, .. } => Some(object_permalink(*kind, value)),
            Target::File(_) => None,
        };
        let mut row = Row::blank(
            input,
            Status::Found,
            Verdict::of(s, object.analysed, opts.threshold),
        );
        row.count(s);
        row.threat_label = object.threat_names.first().cloned();
        row.tags = object.tags.clone();
        row.first_seen = object.first_seen.and_then(iso8601);
        row.last_seen = object.last_seen.and_then(iso8601);
        row.last_analysis = object.last_analysis.and_then(iso8601);
        row.reputation = object.reputation;
        row.permalink = link;
        row.object = ObjectFields {
            final_url: object.final_url.clone(),
            title: object.title.clone(),
            categories: object.categories.clone(),
            last_http_response_code: object.last_http_response_code,
            registrar: object.registrar.clone(),
            creation_date: object.creation_date.and_then(iso8601),
            last_dns_records: object.last_dns_records.clone(),
            asn: object.asn,
            as_owner: object.as_owner.clone(),
            country: object.country.clone(),
            network: object.network.clone(),
        };
        if opts.engines {
            row.engines = Some(object.engines.clone());
        }
        row
    }
}
