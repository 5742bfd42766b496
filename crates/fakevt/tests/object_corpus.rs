//! The object corpus itself, without a server: deterministic per seed, every kind present,
//! addresses public, suffixes real and varied, everything findable by what a client sends.

use std::collections::HashSet;
use std::net::IpAddr;

use fakevt::ObjectKind;

const KINDS: [ObjectKind; 5] = [
    ObjectKind::Malicious,
    ObjectKind::Suspicious,
    ObjectKind::Clean,
    ObjectKind::NeverAnalysed,
    ObjectKind::Hostile,
];

/// Every address is public unicast: vtsum skips the others by default.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_documentation()
                || v4.is_multicast()
                || v4.is_broadcast()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (s[0] & 0xe000) == 0x2000
                && !(s[0] == 0x2001 && (s[1] == 0xdb8 || s[1] < 0x200))
                && s[0] != 0x2002
        }
    }
}

#[test]
fn the_object_corpus_is_deterministic_public_varied_and_findable() {
    let a = fakevt::Corpus::generate(1, 100);
    let b = fakevt::Corpus::generate(1, 100);
    let other = fakevt::Corpus::generate(2, 100);
    assert_eq!(a.urls().len(), fakevt::objects_for(100));
    let texts = |c: &fakevt::Corpus| -> Vec<String> {
        let urls = c.urls().iter().map(|u| u.url.clone());
        let doms = c.domains().iter().map(|d| d.domain.clone());
        urls.chain(doms)
            .chain(c.ips().iter().map(|i| i.ip.clone()))
            .collect()
    };
    assert_eq!(texts(&a), texts(&b));
    assert_ne!(texts(&a), texts(&other));
    for kind in KINDS {
        assert!(
            a.first_url_of(kind).is_some()
                && a.first_domain_of(kind).is_some()
                && a.first_ip_of(kind).is_some(),
            "{kind:?}"
        );
    }
    for ip in a.ips() {
        assert!(is_public(ip.addr), "{}", ip.ip);
        assert_eq!(a.find_ip(&ip.ip).unwrap().index, ip.index);
    }
    assert!(a.ips().iter().filter(|i| i.addr.is_ipv6()).count() >= 5);
    let tlds: HashSet<&str> = a.domains().iter().map(|d| d.tld).collect();
    for want in ["co.uk", "ru", "top", "com"] {
        assert!(tlds.contains(want), "{want} in {tlds:?}");
    }
    for d in a.domains() {
        assert!(![".example", ".test", ".invalid", ".localhost"]
            .iter()
            .any(|s| d.domain.ends_with(s)));
        assert_eq!(
            a.find_domain(&d.domain.to_uppercase()).unwrap().index,
            d.index
        );
    }
    let schemes: HashSet<&str> = a
        .urls()
        .iter()
        .map(|u| u.url.split(':').next().unwrap())
        .collect();
    assert_eq!(schemes, HashSet::from(["http", "https"]));
    assert!(a.urls().iter().any(|u| a.find_domain(&u.host).is_some()));
    assert!(a.urls().iter().any(|u| a.find_ip(&u.host).is_some()));
    assert!(a
        .urls()
        .iter()
        .any(|u| a.find_domain(&u.host).is_none() && a.find_ip(&u.host).is_none()));
    for u in a.urls() {
        assert_eq!(a.find_url(&u.url).unwrap().index, u.index);
        assert_eq!(u.sha256, fakevt::url_sha256(&u.url));
    }
    assert!(a.find_url(&fakevt::unknown_url(0)).is_none());
    assert!(a.find_domain(&fakevt::unknown_domain(0)).is_none());
    assert!(a.find_ip(&fakevt::unknown_ip(0)).is_none());
}
