//! The bodies the fake answers for URLs, domains and IP addresses, in the real API's
//! shapes: v3 objects (`url`, `domain`, `ip_address`) and the v2 URL, domain and IP
//! reports. v2's domain and IP reports carry no `positives`/`total` of their own, as on
//! VirusTotal: only lists (`detected_urls`, `resolutions`) and registration data.

use serde_json::{json, Map, Value};

use crate::answers::date;
use crate::object_gen::object_results;
use crate::objects::{Analysis, CorpusDomain, CorpusIp, CorpusUrl, Objects};

const STATS: [&str; 5] = [
    "harmless",
    "malicious",
    "suspicious",
    "undetected",
    "timeout",
];

/// The attributes every object shares: verdicts, votes, reputation, tags, categories.
fn common(a: &Analysis, with_categories: bool) -> Map<String, Value> {
    let results = object_results(a);
    let mut attrs = Map::new();
    attrs.insert("reputation".into(), json!(a.reputation));
    attrs.insert(
        "total_votes".into(),
        json!({"harmless": u32::from(a.malicious == 0), "malicious": a.malicious.min(4)}),
    );
    attrs.insert("tags".into(), json!(a.tags));
    if with_categories {
        let cats: Map<String, Value> = a
            .categories
            .iter()
            .map(|(engine, cat)| (engine.clone(), json!(cat)))
            .collect();
        attrs.insert("categories".into(), Value::Object(cats));
    }
    let mut engines = Map::new();
    for (engine, category, result) in &results {
        engines.insert(
            engine.to_string(),
            json!({"method": "blacklist", "engine_name": engine, "category": category, "result": result}),
        );
    }
    attrs.insert("last_analysis_results".into(), Value::Object(engines));
    if let Some(at) = a.last_analysis {
        let stats: Map<String, Value> = STATS
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    json!(results.iter().filter(|r| r.1 == *s).count()),
                )
            })
            .collect();
        attrs.insert("last_analysis_stats".into(), Value::Object(stats));
        attrs.insert("last_analysis_date".into(), json!(at));
        attrs.insert("last_modification_date".into(), json!(at + 600));
    }
    attrs
}

fn envelope(kind: &str, id: &str, path: &str, attrs: Map<String, Value>) -> Value {
    json!({
        "data": {
            "type": kind,
            "id": id,
            "links": {"self": path},
            "attributes": attrs,
        }
    })
}

/// The v3 `url` object: its `id` is the SHA-256 of the URL, as VirusTotal answers.
pub fn v3_url(u: &CorpusUrl, base_url: &str) -> Value {
    let mut a = common(&u.analysis, true);
    a.insert("url".into(), json!(u.url));
    a.insert("last_final_url".into(), json!(u.last_final_url));
    if let Some(title) = &u.title {
        a.insert("title".into(), json!(title));
    }
    if let Some(code) = u.last_http_response_code {
        a.insert("last_http_response_code".into(), json!(code));
        a.insert(
            "last_http_response_content_length".into(),
            json!(1_000 + u.index * 37),
        );
        a.insert(
            "last_http_response_headers".into(),
            json!({"content-type": "text/html; charset=utf-8"}),
        );
    }
    if u.last_final_url != u.url {
        a.insert("redirection_chain".into(), json!([u.url, u.last_final_url]));
    }
    a.insert("first_submission_date".into(), json!(u.first_submission));
    a.insert("last_submission_date".into(), json!(u.last_submission));
    a.insert("times_submitted".into(), json!(u.times_submitted));
    a.insert("threat_names".into(), json!(u.threat_names));
    a.insert("has_content".into(), json!(false));
    let path = format!("{base_url}/api/v3/urls/{}", u.sha256);
    envelope("url", &u.sha256, &path, a)
}

/// The v3 `domain` object.
pub fn v3_domain(d: &CorpusDomain, base_url: &str) -> Value {
    let mut a = common(&d.analysis, true);
    a.insert("tld".into(), json!(d.tld));
    a.insert("registrar".into(), json!(d.registrar));
    a.insert("creation_date".into(), json!(d.creation_date));
    a.insert(
        "expiration_date".into(),
        json!(d.creation_date + 3 * 365 * 86_400),
    );
    a.insert("last_update_date".into(), json!(d.creation_date + 86_400));
    let records: Vec<Value> = d
        .dns
        .iter()
        .map(|r| json!({"type": r.record_type, "value": r.value, "ttl": r.ttl}))
        .collect();
    a.insert("last_dns_records".into(), json!(records));
    a.insert(
        "last_dns_records_date".into(),
        json!(1_700_000_000 + d.index as i64),
    );
    a.insert("whois".into(), json!(d.whois));
    a.insert("whois_date".into(), json!(1_700_000_000 + d.index as i64));
    a.insert("popularity_ranks".into(), json!({}));
    let path = format!("{base_url}/api/v3/domains/{}", d.domain);
    envelope("domain", &d.domain, &path, a)
}

/// The v3 `ip_address` object.
pub fn v3_ip(ip: &CorpusIp, base_url: &str) -> Value {
    let mut a = common(&ip.analysis, false);
    a.insert("asn".into(), json!(ip.asn));
    a.insert("as_owner".into(), json!(ip.as_owner));
    a.insert("country".into(), json!(ip.country));
    a.insert("continent".into(), json!(ip.continent));
    a.insert("network".into(), json!(ip.network));
    a.insert(
        "regional_internet_registry".into(),
        json!(ip.regional_internet_registry),
    );
    a.insert("whois".into(), json!(ip.whois));
    a.insert("whois_date".into(), json!(1_700_000_000 + ip.index as i64));
    let path = format!("{base_url}/api/v3/ip_addresses/{}", ip.ip);
    envelope("ip_address", &ip.ip, &path, a)
}

fn not_found(msg: &str) -> Value {
    json!({"response_code": 0, "verbose_msg": msg})
}

/// The v2 URL report of one resource: a corpus URL, a queued scan (known, never analysed)
/// or `response_code` 0.
pub fn v2_url(resource: &str, url: Option<&CorpusUrl>) -> Value {
    let Some(u) = url else {
        let mut r = not_found("Resource does not exist in the dataset");
        r["resource"] = json!(resource);
        return r;
    };
    let Some(at) = u.analysis.last_analysis else {
        return json!({
            "response_code": -2,
            "resource": resource,
            "url": u.url,
            "scan_id": format!("{}-{}", u.sha256, u.last_submission),
            "verbose_msg": "Scan request successfully queued, come back later for the report",
        });
    };
    let mut scans = Map::new();
    for (engine, category, result) in object_results(&u.analysis) {
        let result = match result {
            "unrated" => "unrated site".to_string(),
            "clean" => "clean site".to_string(),
            other => format!("{other} site"),
        };
        scans.insert(
            engine.to_string(),
            json!({"detected": category == "malicious", "result": result}),
        );
    }
    let positives = scans.values().filter(|s| s["detected"] == true).count();
    json!({
        "response_code": 1,
        "verbose_msg": "Scan finished, scan information embedded in this object",
        "resource": resource,
        "url": u.url,
        "scan_id": format!("{}-{at}", u.sha256),
        "scan_date": date(at),
        "permalink": format!("https://www.virustotal.com/gui/url/{}/detection/u-{}-{at}", u.sha256, u.sha256),
        "filescan_id": null,
        "positives": positives,
        "total": scans.len(),
        "scans": scans,
    })
}

/// v2's `detected_urls` and `undetected_urls` of a host, from the corpus URLs on it.
fn url_lists(o: &Objects, host: &str) -> (Vec<Value>, Vec<Value>) {
    let mut detected = Vec::new();
    let mut undetected = Vec::new();
    for &i in o.urls_by_host.get(host).into_iter().flatten().take(100) {
        let u = &o.urls[i];
        let Some(at) = u.analysis.last_analysis else {
            continue;
        };
        let results = object_results(&u.analysis);
        let positives = results.iter().filter(|r| r.1 == "malicious").count();
        if positives > 0 {
            detected.push(json!({"url": u.url, "positives": positives, "total": results.len(), "scan_date": date(at)}));
        } else {
            undetected.push(json!([u.url, u.sha256, 0, results.len(), date(at)]));
        }
    }
    (detected, undetected)
}

/// The v2 domain report: registration, categories, resolutions and URLs on it.
pub fn v2_domain(o: &Objects, d: Option<&CorpusDomain>) -> Value {
    let Some(d) = d else {
        return not_found("Domain not found");
    };
    let (detected, undetected) = url_lists(o, &d.domain);
    let resolutions: Vec<Value> = d
        .dns
        .iter()
        .filter(|r| matches!(r.record_type, "A" | "AAAA"))
        .map(|r| json!({"last_resolved": date(1_700_000_000 + d.index as i64), "ip_address": r.value}))
        .collect();
    let mut report = json!({
        "response_code": 1,
        "verbose_msg": "Domain found in dataset",
        "categories": d.analysis.categories.iter().map(|c| &c.1).collect::<Vec<_>>(),
        "whois": d.whois,
        "whois_timestamp": 1_700_000_000 + d.index as i64,
        "resolutions": resolutions,
        "detected_urls": detected,
        "undetected_urls": undetected,
        "subdomains": [],
        "domain_siblings": [],
    });
    for (engine, category) in &d.analysis.categories {
        report[format!("{engine} category")] = json!(category);
    }
    report
}

/// The v2 IP address report: network, owner, resolutions and URLs on it.
pub fn v2_ip(o: &Objects, ip: Option<&CorpusIp>) -> Value {
    let Some(ip) = ip else {
        return not_found("IP address not in dataset");
    };
    let (detected, undetected) = url_lists(o, &ip.ip);
    let resolutions: Vec<Value> = o
        .domains_by_ip
        .get(&ip.ip)
        .into_iter()
        .flatten()
        .take(100)
        .map(|&i| json!({"last_resolved": date(1_700_000_000 + i as i64), "hostname": o.domains[i].domain}))
        .collect();
    json!({
        "response_code": 1,
        "verbose_msg": "IP address in dataset",
        "asn": ip.asn,
        "as_owner": ip.as_owner,
        "country": ip.country,
        "continent": ip.continent,
        "network": ip.network,
        "whois": ip.whois,
        "whois_timestamp": 1_700_000_000 + ip.index as i64,
        "resolutions": resolutions,
        "detected_urls": detected,
        "undetected_urls": undetected,
    })
}
