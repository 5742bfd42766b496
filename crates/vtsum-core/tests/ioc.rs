//! Indicator extraction (`extract::ioc`) from the outside: a realistic threat report gives
//! exactly the expected URLs, domains and addresses; defanged and plain forms agree;
//! chunking never changes the result; hostile bytes never panic; hashes, file names,
//! version strings and private addresses give nothing by default.

use proptest::prelude::*;
use vtsum_core::extract::ioc::{
    extract_indicators, IndicatorKind, Indicators, IocExtractor, IocOptions, Kinds, SkipList,
    MAX_URL, MAX_WORD,
};

const REPORT: &[u8] = include_bytes!("../../../examples/threat-report.txt");

fn opts() -> IocOptions {
    IocOptions::default()
}

fn values(found: &Indicators, kind: IndicatorKind) -> Vec<&str> {
    found.values(kind).collect()
}

fn all(text: &str) -> Vec<(IndicatorKind, String)> {
    extract_indicators(text.as_bytes(), &opts())
        .found
        .into_iter()
        .map(|i| (i.kind, i.value))
        .collect()
}

#[test]
fn the_threat_report_gives_exactly_its_indicators() {
    let got = extract_indicators(REPORT, &opts());
    assert_eq!(
        values(&got, IndicatorKind::Url),
        [
            "https://update-check.evil-cdn.com/payload.bin",
            "http://files.malware-drop.ru/stage2.ps1",
            "http://45.142.212.61:8080/x.bin",
            "https://evil-cdn.com/gate.php?id=7&k=a1b2",
            "https://docs.example-partner.co.uk/share/Q3.docx",
            "https://en.wikipedia.org/wiki/Invoice_(commerce)",
        ]
    );
    assert_eq!(
        values(&got, IndicatorKind::Domain),
        [
            "blue-team.example.org",
            "evil-corp.com",
            "c2-panel.top",
            "login-microsoftonline.xyz",
            "secure-update.net",
            "evil.zip",
            "mail.evil-corp.com",
            "xn--bcher-shop-9db.de",
            "national-cert.gov.uk",
            "update-check.evil-cdn.com",
        ]
    );
    assert_eq!(
        values(&got, IndicatorKind::Ip),
        [
            "45.142.212.61",
            "185.220.101.4",
            "91.215.85.17",
            "2a03:2880:f12f:83:face:b00c:0:25de",
        ]
    );
    // 10.0.0.5 and 192.168.1.20 twice, 172.16.4.9, 198.18.0.1, 203.0.113.7, 127.0.0.1,
    // fe80::1, and the URL on 10.0.0.5.
    assert_eq!(got.private_ips, 10);
    assert_eq!(got.too_long, 0);
    let written: Vec<&str> = got.found.iter().map(|i| i.written.as_str()).collect();
    assert!(written.contains(&"hxxps://update-check[.]evil-cdn[.]com/payload.bin"));
    assert!(written.contains(&"185.220.101[.]4"));
    assert!(written.contains(&"bücher-shop.de"));
}

#[test]
fn include_private_keeps_the_internal_addresses_in_order() {
    let o = IocOptions {
        include_private: true,
        ..opts()
    };
    let got = extract_indicators(REPORT, &o);
    let ips = values(&got, IndicatorKind::Ip);
    assert_eq!(
        ips,
        [
            "45.142.212.61",
            "185.220.101.4",
            "91.215.85.17",
            "10.0.0.5",
            "2a03:2880:f12f:83:face:b00c:0:25de",
            "192.168.1.20",
            "172.16.4.9",
            "198.18.0.1",
            "203.0.113.7",
            "127.0.0.1",
            "fe80::1",
        ]
    );
    assert_eq!(got.private_ips, 0);
    assert!(values(&got, IndicatorKind::Url).contains(&"http://10.0.0.5/admin/"));
}

#[test]
fn the_skip_list_drops_and_counts_per_kind() {
    let skip = SkipList::parse(
        b"# known good\nexample.org\nevil-cdn.com\n\n185.220.101.4\nhttps://en.wikipedia.org/wiki/\n",
    )
    .unwrap();
    let got = extract_indicators(REPORT, &IocOptions { skip, ..opts() });
    assert_eq!(
        values(&got, IndicatorKind::Url),
        [
            "http://files.malware-drop.ru/stage2.ps1",
            "http://45.142.212.61:8080/x.bin",
            "https://docs.example-partner.co.uk/share/Q3.docx",
        ]
    );
    assert!(!values(&got, IndicatorKind::Domain).contains(&"blue-team.example.org"));
    assert!(!values(&got, IndicatorKind::Domain).contains(&"update-check.evil-cdn.com"));
    assert!(!values(&got, IndicatorKind::Ip).contains(&"185.220.101.4"));
    // URLs: payload.bin twice, gate.php twice, wikipedia; domains: blue-team, update-check;
    // IPs: 185.220.101.4 three times (table, mail header, the defanged one with a port).
    assert_eq!(got.skipped.urls, 5);
    assert_eq!(got.skipped.domains, 2);
    assert_eq!(got.skipped.ips, 3);
}

#[test]
fn kinds_can_be_turned_off() {
    let o = IocOptions {
        kinds: Kinds {
            urls: false,
            domains: true,
            ips: false,
        },
        ..opts()
    };
    let got = extract_indicators(REPORT, &o);
    assert!(got.found.iter().all(|i| i.kind == IndicatorKind::Domain));
    assert_eq!(values(&got, IndicatorKind::Domain).len(), 10);
}

#[test]
fn idna_hosts_are_punycode() {
    assert_eq!(
        all("Stadt: münchen.de."),
        [(IndicatorKind::Domain, "xn--mnchen-3ya.de".to_owned())]
    );
    assert_eq!(
        all("go to hxxps://MÜNCHEN[.]de/Straße now"),
        [(
            IndicatorKind::Url,
            "https://xn--mnchen-3ya.de/Stra%C3%9Fe".to_owned()
        )]
    );
}

#[test]
fn file_extension_tlds_count_only_where_written_as_hosts() {
    assert!(all("unpacked invoice.zip and setup.py, ran install.sh").is_empty());
    assert_eq!(
        all("evil[.]zip x@mail.zip https://a.mov/x"),
        [
            (IndicatorKind::Domain, "evil.zip".to_owned()),
            (IndicatorKind::Domain, "mail.zip".to_owned()),
            (IndicatorKind::Url, "https://a.mov/x".to_owned()),
        ]
    );
}

#[test]
fn over_long_urls_are_counted_not_kept() {
    let long = format!("see https://evil.com/{} ok", "a".repeat(MAX_URL));
    let got = extract_indicators(long.as_bytes(), &opts());
    assert!(got.found.is_empty());
    assert_eq!(got.too_long, 1);
}

#[test]
fn ftp_urls_are_recognised_not_kept() {
    let got = extract_indicators(b"fxp://files.evil.com/a ftp://evil.net/b", &opts());
    assert!(got.found.is_empty());
    assert_eq!(got.other_schemes, 2);
}

#[test]
fn a_word_longer_than_the_bound_is_scanned_in_pieces() {
    let mut text = "x".repeat(MAX_WORD - 4);
    text.push_str("|evil.com|");
    text.push_str(&"y".repeat(MAX_WORD));
    text.push_str("|45.142.212.61");
    let got = extract_indicators(text.as_bytes(), &opts());
    assert_eq!(got.long_words, 2);
    // The piece boundary cut the name after `evi` (a documented loss); the address stands
    // whole in the last piece.
    assert_eq!(values(&got, IndicatorKind::Domain), ["l.com"]);
    assert_eq!(values(&got, IndicatorKind::Ip), ["45.142.212.61"]);
}

fn feed_in_pieces(data: &[u8], cuts: &[usize], o: &IocOptions) -> Indicators {
    let mut x = IocExtractor::new(o.clone());
    let mut at = 0;
    for &c in cuts {
        let c = c.clamp(at, data.len());
        x.feed(&data[at..c]);
        at = c;
    }
    x.feed(&data[at..]);
    x.finish()
}

/// Plain indicators and their defanged forms (the defanged one written first or second).
const PAIRS: &[(&str, &str)] = &[
    (
        "https://evil-cdn.com/a/b.bin",
        "hxxps[://]evil-cdn[.]com/a/b.bin",
    ),
    (
        "http://files.malware-drop.ru/x",
        "hXXp://files(.)malware-drop[dot]ru/x",
    ),
    ("https://a.evil.top/", "h**ps://a[.]evil{.}top[/]"),
    ("c2-panel.xyz", "c2-panel[.]xyz"),
    ("evil-mirror.net", "evil-mirror(dot)net"),
    ("evil-mirror.org", "evil-mirror{dot}org"),
    ("login.example.co.uk", "login(dot)example[.]co(.)uk"),
    ("45.142.212.61", "45.142.212[.]61"),
    (
        "2a03:2880:f12f:83:face:b00c:0:25de",
        "2a03[:]2880[:]f12f:83:face:b00c:0:25de",
    ),
    ("bob@evil-corp.com", "bob[@]evil-corp[.]com"),
];

fn prose() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        " ", "\n", "\t", ", ", " (", ") ", ". ", " see ", "\"", "; ", "|", "\r\n",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn defanged_and_plain_forms_give_the_same_indicator(
        i in 0..PAIRS.len(), before in prose(), after in prose(),
    ) {
        let (plain, defanged) = PAIRS[i];
        let a = all(&format!("{before}{plain}{after}"));
        let b = all(&format!("{before}{defanged}{after}"));
        prop_assert_eq!(a.len(), 1);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn chunking_anywhere_gives_the_same_result(
        cuts in prop::collection::vec(0usize..REPORT.len(), 0..40),
        private in any::<bool>(),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let o = IocOptions { include_private: private, ..opts() };
        prop_assert_eq!(feed_in_pieces(REPORT, &cuts, &o), extract_indicators(REPORT, &o));
    }

    #[test]
    fn chunking_long_words_gives_the_same_result(
        len in (MAX_WORD - 8)..(MAX_WORD * 2 + 8),
        cuts in prop::collection::vec(0usize..(MAX_WORD * 3), 0..6),
    ) {
        let mut text = "a.".repeat(len / 2).into_bytes();
        text.extend_from_slice(b" evil.com x.");
        text.extend(std::iter::repeat_n(b'7', len));
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(feed_in_pieces(&text, &cuts, &opts()), extract_indicators(&text, &opts()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        cuts in prop::collection::vec(0usize..2048, 0..8),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let _ = feed_in_pieces(&bytes, &cuts, &IocOptions { include_private: true, ..opts() });
        let _ = SkipList::parse(&bytes);
    }

    #[test]
    fn indicator_shaped_junk_never_panics(
        parts in prop::collection::vec(prop::sample::select(vec![
            "http", "://", "[.]", "(dot)", "hxxp", ".", ":", "::", "[", "]", "(", ")", "@",
            "ü", "xn--", "com", "1", "255", "ff", "-", "/", "%", "\u{0}", "\u{301}", "。",
        ]), 0..64),
    ) {
        let text: String = parts.concat();
        let _ = extract_indicators(text.as_bytes(), &IocOptions { include_private: true, ..opts() });
    }

    #[test]
    fn hashes_file_names_versions_and_private_addresses_give_nothing(
        hex in "[0-9a-f]{128}",
        noise in prop::sample::select(vec![
            "svchost.exe", "report.pdf", "invoice.zip", "kernel32.dll", "setup.py",
            "1.2.3.4.5", "v2.3.1", "10.0.19045.3803", "Chrome/120.0.0.0", "12:30:45",
            "00:1a:2b:3c:4d:5e", "2024.11.05.1", "a::b",
        ]),
        private in prop::sample::select(vec![
            "10.0.0.5", "192.168.1.20", "172.16.4.9", "127.0.0.1", "100.64.1.1",
            "198.18.0.1", "203.0.113.7", "fd12:3456::1", "2001:db8::7", "169.254.10.1",
        ]),
        sep in prose(),
    ) {
        let text = format!("{hex}{sep}{noise}{sep}{private}{sep}");
        let got = extract_indicators(text.as_bytes(), &opts());
        prop_assert!(got.found.is_empty(), "{:?}", got.found);
        prop_assert_eq!(got.private_ips, 1);
        let kept = extract_indicators(text.as_bytes(), &IocOptions { include_private: true, ..opts() });
        let canonical = private.parse::<std::net::IpAddr>().unwrap().to_string();
        prop_assert_eq!(values(&kept, IndicatorKind::Ip), vec![canonical.as_str()]);
    }
}

#[test]
fn a_word_of_exactly_the_bound_is_one_word_however_it_is_cut() {
    let mut text = "x".repeat(MAX_WORD - 9);
    text.push_str("|evil.com");
    let whole = extract_indicators(text.as_bytes(), &opts());
    assert_eq!(whole.long_words, 0);
    assert_eq!(values(&whole, IndicatorKind::Domain), ["evil.com"]);
    for cut in [1, MAX_WORD - 5, MAX_WORD - 1] {
        assert_eq!(
            feed_in_pieces(text.as_bytes(), &[cut], &opts()),
            whole,
            "cut at {cut}"
        );
    }
}
