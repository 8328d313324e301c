//! The client's address, for throttling: the peer of the connection, or, when the peer is a configured reverse
//! proxy, the address the proxies name in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is read from the right: each trusted proxy appends the address it received the request from,
//! so the rightmost entry not itself a trusted proxy is the first address no one we trust vouches past. Entries
//! further left were written by the client and are ignored; from a peer that is not a trusted proxy the header is
//! ignored entirely (anyone can send it).

use crate::domain::throttle;
use actix_web::HttpRequest;
use std::net::IpAddr;

/// The most `X-Forwarded-For` entries looked at (hops of trusted proxies); the header is otherwise unbounded.
pub const MAX_FORWARDED_HOPS: usize = 16;

/// A network of trusted proxies: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    bits: u8,
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(ip)) << 96,
                self.bits,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.bits)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, bits: u8) -> bool {
    bits == 0 || (a ^ b) >> (128 - u32::from(bits)) == 0
}

/// IPv4-mapped IPv6 addresses as IPv4, so that one address has one form.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed (`--trusted-proxies`): none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Parses a comma-separated list of IP addresses and CIDR networks (`10.0.0.1, 192.168.0.0/16, fd00::/8`);
    /// an empty list trusts no one.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let addr: IpAddr = addr.parse().map_err(|_| {
                format!(
                    "{item:?} is not an IP address or CIDR network (e.g. 10.0.0.1 or 10.0.0.0/8)"
                )
            })?;
            let addr = canonical(addr);
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|&b| b <= max)
                    .ok_or_else(|| format!("{item:?}: the prefix length must be 0 to {max}"))?,
            };
            nets.push(Network { addr, bits });
        }
        Ok(TrustedProxies(nets))
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client's address: `peer` unless it is a trusted proxy, else the rightmost `X-Forwarded-For` entry that is
    /// not a trusted proxy (the leftmost one read when all are; the last trusted hop when an entry is not an
    /// address). `forwarded` are the header's values in the order they arrived.
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        let entries: Vec<&str> = forwarded.flat_map(|v| v.split(',')).collect();
        for entry in entries.iter().rev().take(MAX_FORWARDED_HOPS) {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else {
                return client;
            };
            client = canonical(ip);
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

/// The throttling key of the client of `req` (its address as [`TrustedProxies::client`] finds it, IPv6 by /64:
/// [`throttle::address_key`]); `unknown` when the connection has no peer address.
pub fn client_key(req: &HttpRequest, proxies: &TrustedProxies) -> String {
    req.peer_addr().map_or_else(
        || "unknown".to_owned(),
        |peer| {
            let forwarded = req
                .headers()
                .get_all("X-Forwarded-For")
                .filter_map(|v| v.to_str().ok());
            throttle::address_key(proxies.client(peer.ip(), forwarded))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_networks_of_both_families_are_parsed() {
        let t = TrustedProxies::parse(" 10.0.0.1, 192.168.0.0/16 ,fd00::/8,::1").unwrap();
        assert!(t.contains(ip("10.0.0.1")));
        assert!(!t.contains(ip("10.0.0.2")));
        assert!(t.contains(ip("192.168.44.3")));
        assert!(t.contains(ip("::ffff:192.168.1.1")));
        assert!(t.contains(ip("fd12::7")));
        assert!(t.contains(ip("::1")));
        assert!(!t.contains(ip("fe80::1")));
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
    }

    #[test]
    fn the_header_counts_only_when_the_peer_is_a_trusted_proxy() {
        let t = TrustedProxies::parse("10.0.0.1").unwrap();
        let xff = ["203.0.113.9"];
        assert_eq!(
            t.client(ip("198.51.100.7"), xff.into_iter()),
            ip("198.51.100.7")
        );
        assert_eq!(t.client(ip("10.0.0.1"), xff.into_iter()), ip("203.0.113.9"));
        assert_eq!(t.client(ip("10.0.0.1"), std::iter::empty()), ip("10.0.0.1"));
    }

    #[test]
    fn entries_the_client_wrote_left_of_the_proxies_are_ignored() {
        let t = TrustedProxies::parse("10.0.0.0/24").unwrap();
        // The client forged "1.2.3.4"; the outer proxy 10.0.0.5 saw 203.0.113.9 and the inner one saw 10.0.0.5.
        let xff = ["1.2.3.4, 203.0.113.9", "10.0.0.5"];
        assert_eq!(t.client(ip("10.0.0.1"), xff.into_iter()), ip("203.0.113.9"));
        assert_eq!(
            t.client(ip("10.0.0.1"), ["garbage"].into_iter()),
            ip("10.0.0.1")
        );
        assert_eq!(
            t.client(ip("10.0.0.1"), ["10.0.0.9"].into_iter()),
            ip("10.0.0.9")
        );
    }
}
