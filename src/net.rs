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

/// A per-network rate limit (the subscribe and comment forms): `burst`
/// tries at once, then one per `every`, keyed by [`client_key`]. Old keys
/// are dropped once many are tracked, so a scan of addresses cannot grow it
/// without bound.
pub struct NetworkLimit(governor::DefaultKeyedRateLimiter<IpAddr>);

impl NetworkLimit {
    pub fn new(burst: u32, every: std::time::Duration) -> Self {
        use std::num::NonZeroU32;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self(governor::RateLimiter::keyed(
            governor::Quota::with_period(every.max(std::time::Duration::from_millis(1)))
                .unwrap_or(governor::Quota::per_minute(NonZeroU32::MIN))
                .allow_burst(burst),
        ))
    }

    /// `Err(wait)` when this client's network has used up its tries.
    pub fn check(&self, client: IpAddr) -> Result<(), std::time::Duration> {
        use governor::clock::{Clock, DefaultClock};
        if self.0.len() > 10_000 {
            self.0.retain_recent();
        }
        self.0
            .check_key(&client_key(client))
            .map_err(|n| n.wait_time_from(DefaultClock::default().now()))
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
