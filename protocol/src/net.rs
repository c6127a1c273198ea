//! The client's address behind reverse proxies.
//!
//! `X-Forwarded-For` is written by whoever sends the request: a client can
//! put any address in it. Only proxies we run append the address they saw,
//! at the right end. So the client is the connecting peer, unless that peer
//! is one of our trusted proxies; then it is the rightmost address in
//! `X-Forwarded-For` that is not a trusted proxy (what the outermost trusted
//! proxy saw). Nothing to the left of it is believed.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-*` headers are believed (CIDR blocks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`… (a bare address
    /// is a single host).
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Self, String> {
        list.iter()
            .map(|s| {
                let s = s.as_ref().trim();
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("{s:?} is not an address or a CIDR block (like 10.0.0.0/8)")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Loopback and the private ranges: a proxy on the same machine or
    /// network (what "trust the proxy" meant before proxies were listed).
    pub fn local_networks() -> Self {
        Self::parse(&[
            "127.0.0.0/8",
            "::1/128",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "fc00::/7",
        ])
        .unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the connecting peer and the
    /// `X-Forwarded-For` values (all of them, in order).
    pub fn client_ip<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let hops: Vec<IpAddr> = forwarded_for
            .into_iter()
            .flat_map(|v| v.split(','))
            .map_while(|hop| parse_hop(hop.trim()))
            .collect();
        // Right to left: the first hop not one of ours is the client. If a
        // hop cannot be read, stop believing the header there.
        let mut client = peer;
        for hop in hops.iter().rev() {
            client = *hop;
            if !self.is_trusted(*hop) {
                break;
            }
        }
        Some(client)
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    None
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("203.0.113.9"), ["6.6.6.6"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let ours = TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1"]).expect("parse");
        // The client wrote 6.6.6.6; our nginx appended what it saw.
        assert_eq!(
            ours.client_ip(ip("127.0.0.1"), ["6.6.6.6, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Two proxies of ours in a row.
        assert_eq!(
            ours.client_ip(ip("10.0.0.2"), ["6.6.6.6, 198.51.100.7, 10.0.0.1"]),
            ip("198.51.100.7")
        );
        // Several header lines are one list.
        assert_eq!(
            ours.client_ip(ip("127.0.0.1"), ["6.6.6.6", "198.51.100.7"]),
            ip("198.51.100.7")
        );
        // A peer that is not ours: its header means nothing.
        assert_eq!(
            ours.client_ip(ip("198.51.100.8"), ["10.0.0.9"]),
            ip("198.51.100.8")
        );
        // Garbage stops the walk; the peer's own view stands.
        assert_eq!(
            ours.client_ip(ip("127.0.0.1"), ["not-an-ip"]),
            ip("127.0.0.1")
        );
        assert_eq!(
            ours.client_ip(ip("::ffff:127.0.0.1"), ["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let error = TrustedProxies::parse(&["10.0.0.0/33"]).expect_err("bad");
        assert!(error.contains("10.0.0.0/33"));
    }
}
