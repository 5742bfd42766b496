//! IP addresses: which runs of text are addresses, and which addresses are worth reporting.
//!
//! IPv4 is a run of exactly four decimal octets 0–255 with nothing word-like or dotted on
//! either side (the caller hands over whole runs, so `1.2.3.4.5` and `v1.2.3.4` never get
//! here as quads). Octets with leading zeros (`010.1.1.1`) are refused, as
//! `std::net::Ipv4Addr` does: octal or decimal would be a guess.
//!
//! IPv6 is whatever `std::net::Ipv6Addr` parses, with at least three non-empty groups
//! (or an embedded IPv4 tail) unless it is a special address (`::1`, `fe80::1`, counted
//! as non-public), so `a::b` in code is not an address; times (`12:30:45`)
//! and MAC addresses (`00:1a:2b:3c:4d:5e`) never parse (three or six groups, no `::`).
//! IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is reported as the IPv4 address.
//!
//! Non-public addresses — private, loopback, link-local, multicast, documentation, CGNAT,
//! benchmarking, reserved, unique-local and the like — are not indicators of anything
//! outside the reader's own network; the extractor counts and drops them unless asked.
//! std's `is_global` is unstable, hence the table here (IANA special-purpose registries).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges that are not public: (network, prefix length).
const V4_SPECIAL: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0A00_0000, 8),  // 10/8 private
    (0x6440_0000, 10), // 100.64/10 CGNAT
    (0x7F00_0000, 8),  // 127/8 loopback
    (0xA9FE_0000, 16), // 169.254/16 link-local
    (0xAC10_0000, 12), // 172.16/12 private
    (0xC000_0000, 24), // 192.0.0/24 IETF protocol assignments
    (0xC000_0200, 24), // 192.0.2/24 documentation
    (0xC058_6300, 24), // 192.88.99/24 6to4 relay (deprecated)
    (0xC0A8_0000, 16), // 192.168/16 private
    (0xC612_0000, 15), // 198.18/15 benchmarking
    (0xC633_6400, 24), // 198.51.100/24 documentation
    (0xCB00_7100, 24), // 203.0.113/24 documentation
    (0xE000_0000, 4),  // 224/4 multicast
    (0xF000_0000, 4),  // 240/4 reserved, with 255.255.255.255 broadcast
];

/// IPv6 ranges that are not public: (network, prefix length).
const V6_SPECIAL: &[(u128, u8)] = &[
    (0, 96),                      // ::/96: unspecified, loopback, IPv4-compatible (deprecated)
    (0x0064_ff9b_0001 << 80, 48), // 64:ff9b:1::/48 local NAT64
    (0x0100 << 112, 64),          // 100::/64 discard
    (0x2001 << 112, 23),          // 2001::/23 IETF protocol assignments
    (0x2001_0db8 << 96, 32),      // 2001:db8::/32 documentation
    (0x3fff << 112, 20),          // 3fff::/20 documentation
    (0xfc00 << 112, 7),           // fc00::/7 unique-local
    (0xfe80 << 112, 10),          // fe80::/10 link-local
    (0xfec0 << 112, 10),          // fec0::/10 site-local (deprecated)
    (0xff00 << 112, 8),           // ff00::/8 multicast
];

/// Whether an address is public (worth reporting by default).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let n = u32::from(v4);
            !V4_SPECIAL
                .iter()
                .any(|&(net, len)| n >> (32 - len) == net >> (32 - len))
        }
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            !V6_SPECIAL.iter().any(|&(net, len)| {
                let shift = 128 - u32::from(len);
                n.checked_shr(shift).unwrap_or(0) == net.checked_shr(shift).unwrap_or(0)
            })
        }
    }
}

/// A whole run of digits and dots as an IPv4 address.
pub(crate) fn parse_v4(run: &str) -> Option<IpAddr> {
    run.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// A whole run of hex, colons (and dots for an IPv4 tail) as an IPv6 address.
pub(crate) fn parse_v6(run: &str) -> Option<IpAddr> {
    if run.len() > 45 {
        return None;
    }
    let v6: Ipv6Addr = run.parse().ok()?;
    let addr = IpAddr::V6(v6).to_canonical();
    let groups = run.split(':').filter(|g| !g.is_empty()).count();
    if groups < 3 && !run.contains('.') && is_public(addr) {
        return None;
    }
    Some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn special_ranges_are_not_public() {
        for s in [
            "10.0.0.5",
            "192.168.1.20",
            "172.31.255.255",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.7",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "0.1.2.3",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
        ] {
            assert!(!is_public(ip(s)), "{s}");
        }
        for s in [
            "45.142.212.61",
            "185.220.101.4",
            "100.128.0.1",
            "172.32.0.1",
            "8.8.8.8",
            "2a03:2880:f12f:83:face:b00c:0:25de",
            "2606:4700::1111",
        ] {
            assert!(is_public(ip(s)), "{s}");
        }
    }

    #[test]
    fn v6_needs_three_groups_and_times_and_macs_are_not_addresses() {
        assert!(parse_v6("2001:4860:4860::8888").is_some());
        assert!(parse_v6("a::b").is_none());
        assert!(parse_v6("fe80::1").is_some_and(|a| !is_public(a)));
        assert!(parse_v6("12:30:45").is_none());
        assert!(parse_v6("00:1a:2b:3c:4d:5e").is_none());
        assert_eq!(parse_v6("::ffff:45.142.212.61"), Some(ip("45.142.212.61")));
        assert!(parse_v4("010.1.1.1").is_none());
        assert!(parse_v4("1.2.3.4.5").is_none());
    }
}
