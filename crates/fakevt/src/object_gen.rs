//! Generates the fake's URLs, domains and IPs from a seed, like the file corpus: the same
//! seed gives the same objects. IPs come first so domains can resolve to them and URLs can
//! live on both, which gives v2's `resolutions` and `detected_urls` something real to list.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr};

use crate::object_tables::{
    hostile_text, Owner, BAD_CATEGORIES, BAD_STEMS, CATEGORISERS, CYCLE, GOOD_CATEGORIES,
    GOOD_STEMS, ODD_CATEGORIES, OWNERS, REGISTRARS, TLDS, URL_ENGINES,
};
use crate::objects::{
    url_identifier, url_sha256, Analysis, CorpusDomain, CorpusIp, CorpusUrl, DnsRecord, ObjectKind,
    Objects,
};
use crate::rng::Rng;

fn pick<'a, T: ?Sized>(rng: &mut Rng, items: &'a [&'a T]) -> &'a T {
    items[rng.below(items.len() as u64) as usize]
}

fn rng_for(seed: u64, what: u64, index: usize) -> Rng {
    Rng::new(
        seed ^ what.wrapping_mul(0x9E37_79B9) ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D),
    )
}

/// The verdict of an object of `kind`; `hostile` is the object's rank among hostile ones.
fn analysis(rng: &mut Rng, kind: ObjectKind, hostile: usize, categorised: bool) -> Analysis {
    let (malicious, suspicious) = match kind {
        ObjectKind::Malicious => (4 + rng.below(14) as u32, rng.below(2) as u32),
        ObjectKind::Hostile => (2 + rng.below(8) as u32, 1),
        ObjectKind::Suspicious => (rng.below(2) as u32, 1 + rng.below(2) as u32),
        ObjectKind::Clean | ObjectKind::NeverAnalysed => (0, 0),
    };
    let mut categories = Vec::new();
    if categorised {
        let n = 1 + rng.below(3) as usize;
        for engine in CATEGORISERS.iter().take(n) {
            let text = match kind {
                ObjectKind::Malicious => pick(rng, BAD_CATEGORIES).to_string(),
                ObjectKind::Hostile => hostile_text(hostile + categories.len() + 1),
                ObjectKind::Suspicious => pick(rng, ODD_CATEGORIES).to_string(),
                _ => pick(rng, GOOD_CATEGORIES).to_string(),
            };
            categories.push((engine.to_string(), text));
        }
    }
    let tags = match kind {
        ObjectKind::Malicious | ObjectKind::Hostile => vec!["malware".into()],
        _ => Vec::new(),
    };
    Analysis {
        malicious,
        suspicious,
        last_analysis: (kind != ObjectKind::NeverAnalysed)
            .then(|| 1_690_000_000 + rng.below(60_000_000) as i64),
        reputation: -(malicious as i64) * 3 + rng.below(4) as i64,
        tags,
        categories,
        engine_seed: rng.next(),
    }
}

/// A public IPv4 or IPv6 address of `owner`, with its network.
fn address(rng: &mut Rng, owner: &Owner, v6: bool) -> (IpAddr, String) {
    if v6 {
        let text = format!(
            "{}:{:x}:{:x}::{:x}",
            owner.6,
            rng.below(0xffff),
            rng.below(0xffff),
            1 + rng.below(0xfffe)
        );
        let ip: Ipv6Addr = text
            .parse()
            .unwrap_or(Ipv6Addr::new(0x2a01, 0x4f8, 0, 0, 0, 0, 0, 1));
        return (IpAddr::V6(ip), format!("{}::/32", owner.6));
    }
    let o = [
        *pick_u8(rng, owner.5),
        1 + rng.below(254) as u8,
        rng.below(256) as u8,
        1 + rng.below(254) as u8,
    ];
    (IpAddr::from(o), format!("{}.{}.0.0/16", o[0], o[1]))
}

fn pick_u8<'a>(rng: &mut Rng, items: &'a [u8]) -> &'a u8 {
    &items[rng.below(items.len() as u64) as usize]
}

fn ips(seed: u64, n: usize) -> Vec<CorpusIp> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    for index in 0..n {
        let mut rng = rng_for(seed, 1, index);
        let kind = CYCLE[index % CYCLE.len()];
        let owner = OWNERS[rng.below(OWNERS.len() as u64) as usize];
        let (addr, network) = loop {
            let a = address(&mut rng, &owner, index % 4 == 3);
            if seen.insert(a.0) {
                break a;
            }
        };
        let as_owner = match kind {
            ObjectKind::Hostile => hostile_text(index / 3),
            _ => owner.1.to_string(),
        };
        out.push(CorpusIp {
            index,
            kind,
            ip: addr.to_string(),
            addr,
            asn: owner.0,
            whois: format!(
                "NetRange: {network}\nOrgName: {as_owner}\nCountry: {}\n",
                owner.2
            ),
            as_owner,
            country: owner.2,
            continent: owner.3,
            network,
            regional_internet_registry: owner.4,
            analysis: analysis(&mut rng, kind, index / 3, false),
        });
    }
    out
}

fn domains(seed: u64, n: usize, ips: &[CorpusIp]) -> Vec<CorpusDomain> {
    let v4: Vec<&CorpusIp> = ips.iter().filter(|i| i.addr.is_ipv4()).collect();
    let v6: Vec<&CorpusIp> = ips.iter().filter(|i| i.addr.is_ipv6()).collect();
    (0..n)
        .map(|index| {
            let mut rng = rng_for(seed, 2, index);
            let kind = CYCLE[index % CYCLE.len()];
            let stems = if kind == ObjectKind::Clean { GOOD_STEMS } else { BAD_STEMS };
            let stem = pick(&mut rng, stems);
            let tld = pick(&mut rng, TLDS);
            let domain = if index % 3 == 2 {
                format!("cdn-{index}.{stem}.{tld}")
            } else {
                format!("{stem}-{index}.{tld}")
            };
            let registrar = match kind {
                ObjectKind::Hostile => hostile_text(index / 3),
                _ => pick(&mut rng, REGISTRARS).to_string(),
            };
            let created = match kind {
                ObjectKind::Clean => 900_000_000 + rng.below(700_000_000) as i64,
                _ => 1_680_000_000 + rng.below(40_000_000) as i64,
            };
            let mut dns = Vec::with_capacity(6);
            if !v4.is_empty() {
                let a = v4[rng.below(v4.len() as u64) as usize];
                dns.push(DnsRecord { record_type: "A", value: a.ip.clone(), ttl: 300 });
            }
            if index % 2 == 0 && !v6.is_empty() {
                let aaaa = v6[rng.below(v6.len() as u64) as usize];
                dns.push(DnsRecord { record_type: "AAAA", value: aaaa.ip.clone(), ttl: 300 });
            }
            dns.extend([
                DnsRecord { record_type: "NS", value: format!("ns1.{stem}-dns.com"), ttl: 86_400 },
                DnsRecord { record_type: "NS", value: format!("ns2.{stem}-dns.com"), ttl: 86_400 },
                DnsRecord { record_type: "MX", value: format!("mail.{domain}"), ttl: 3_600 },
                DnsRecord { record_type: "TXT", value: "v=spf1 -all".into(), ttl: 3_600 },
            ]);
            let whois = format!(
                "Domain Name: {}\nRegistrar: {registrar}\nCreation Date: {created}\nName Server: ns1.{stem}-dns.com\nDNSSEC: unsigned",
                domain.to_ascii_uppercase()
            );
            CorpusDomain {
                index,
                kind,
                analysis: analysis(&mut rng, kind, index / 3, true),
                domain,
                tld,
                registrar,
                creation_date: created,
                dns,
                whois,
            }
        })
        .collect()
}

fn urls(seed: u64, n: usize, domains: &[CorpusDomain], ips: &[CorpusIp]) -> Vec<CorpusUrl> {
    (0..n)
        .map(|index| {
            let mut rng = rng_for(seed, 3, index);
            let kind = CYCLE[index % CYCLE.len()];
            let host = match index % 5 {
                0..=2 if !domains.is_empty() => domains[(index * 7) % domains.len()].domain.clone(),
                3 => format!(
                    "dl-{index}.{}-files.{}",
                    pick(&mut rng, BAD_STEMS),
                    pick(&mut rng, TLDS)
                ),
                _ if !ips.is_empty() => ips[(index * 3) % ips.len()].ip.clone(),
                _ => format!("host-{index}.net"),
            };
            let authority = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            let scheme = if rng.below(2) == 0 { "http" } else { "https" };
            let path = match kind {
                ObjectKind::Clean => format!("/articles/{index}/index.html"),
                ObjectKind::Suspicious => format!("/go/{index}?ref={:x}", rng.next() >> 40),
                _ => format!(
                    "/{}/{index}.{}",
                    ["files", "login", "wp-content"][index % 3],
                    ["exe", "php", "zip"][index % 3]
                ),
            };
            let url = format!("{scheme}://{authority}{path}");
            let redirected = kind == ObjectKind::Malicious && index % 2 == 0;
            let last_final_url = if redirected {
                format!("https://{authority}/landing/{index}")
            } else {
                url.clone()
            };
            let analysed = kind != ObjectKind::NeverAnalysed;
            let title = match kind {
                ObjectKind::NeverAnalysed => None,
                ObjectKind::Hostile => Some(hostile_text(index / 3)),
                ObjectKind::Clean => Some(format!("Welcome to {host}")),
                _ => Some(
                    [
                        "Sign in to your account",
                        "Index of /files",
                        "Invoice ready",
                    ][index % 3]
                        .into(),
                ),
            };
            let threat_names = match kind {
                ObjectKind::Malicious => {
                    vec![["Mal/HTMLGen-A", "C2/Generic-A", "Troj/Phish-XY"][index % 3].to_string()]
                }
                ObjectKind::Hostile => vec![hostile_text(index / 3 + 2)],
                _ => Vec::new(),
            };
            let first = 1_500_000_000 + rng.below(150_000_000) as i64;
            let last = first + rng.below(30_000_000) as i64;
            CorpusUrl {
                index,
                kind,
                sha256: url_sha256(&url),
                identifier: url_identifier(&url),
                url,
                host,
                last_final_url,
                title,
                last_http_response_code: analysed
                    .then_some([200, 200, 200, 404, 403][rng.below(5) as usize]),
                threat_names,
                first_submission: first,
                last_submission: last,
                times_submitted: 1 + rng.below(40) as u32,
                analysis: analysis(&mut rng, kind, index / 3, true),
            }
        })
        .collect()
}

/// `n` URLs, `n` domains and `n` IPs from `seed`, indexed.
pub(crate) fn generate(seed: u64, n: usize) -> Objects {
    let ips = ips(seed, n);
    let domains = domains(seed, n, &ips);
    let urls = urls(seed, n, &domains, &ips);
    let mut o = Objects::default();
    for (i, u) in urls.iter().enumerate() {
        o.url_by_sha256.insert(u.sha256.clone(), i);
        o.urls_by_host.entry(u.host.clone()).or_default().push(i);
    }
    for (i, d) in domains.iter().enumerate() {
        o.domain_by_name.insert(d.domain.clone(), i);
        for r in d
            .dns
            .iter()
            .filter(|r| matches!(r.record_type, "A" | "AAAA"))
        {
            o.domains_by_ip.entry(r.value.clone()).or_default().push(i);
        }
    }
    for (i, ip) in ips.iter().enumerate() {
        o.ip_by_text.insert(ip.ip.clone(), i);
    }
    o.urls = urls;
    o.domains = domains;
    o.ips = ips;
    o
}

/// Each engine's verdict on an object, shuffled by its seed: (engine, category, result).
pub(crate) fn object_results(a: &Analysis) -> Vec<(&'static str, &'static str, &'static str)> {
    if a.last_analysis.is_none() {
        return Vec::new();
    }
    let mut rng = Rng::new(a.engine_seed);
    let mut order: Vec<usize> = (0..URL_ENGINES.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    order
        .iter()
        .enumerate()
        .map(|(rank, &e)| {
            let rank = rank as u32;
            let (category, result) = if rank < a.malicious {
                (
                    "malicious",
                    ["malicious", "phishing", "malware"][rank as usize % 3],
                )
            } else if rank < a.malicious + a.suspicious {
                ("suspicious", "suspicious")
            } else if rank % 31 == 30 {
                ("timeout", "timeout")
            } else if rank % 4 == 3 {
                ("undetected", "unrated")
            } else {
                ("harmless", "clean")
            };
            (URL_ENGINES[e], category, result)
        })
        .collect()
}
