//! Who is asking, as the per-network limits see it.

use std::net::IpAddr;

/// The key every per-network limit uses (login, subscribe form): the
/// client's IPv4 address, or its IPv6 /64 — one machine usually holds a
/// whole /64, so keying on single IPv6 addresses would let it rotate freely.
/// (The client address comes from `AppState::client_ip`: behind trusted
/// proxies, the one they saw.)
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        ip => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::client_key;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let key = |addr: &str| client_key(addr.parse().expect("ip"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("192.0.2.7").to_string(), "192.0.2.7");
    }
}
