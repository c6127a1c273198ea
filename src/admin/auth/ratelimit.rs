//! Login throttling, per account and per address, so guessing passwords is
//! slow even from many machines (per account) or for many accounts (per
//! address). Kept in memory: each app node limits on its own.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The key every per-network limit uses (login, subscribe form): the
/// peer's IPv4 address, or its IPv6 /64 — one machine usually holds a whole
/// /64, so keying on single IPv6 addresses would let it rotate freely.
pub fn client_key(req: &actix_web::HttpRequest) -> IpAddr {
    match req.peer_addr().map(|a| a.ip()) {
        Some(IpAddr::V6(v6)) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        Some(ip) => ip,
        None => IpAddr::from([0, 0, 0, 0]),
    }
}

pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new()
    }
}

const fn nz(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

impl LoginLimiter {
    /// Five tries per account, then one a minute; twenty per address, then
    /// one every six seconds.
    pub fn new() -> Self {
        Self {
            per_account: RateLimiter::keyed(Quota::per_minute(nz(1)).allow_burst(nz(5))),
            per_address: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(6))
                    .unwrap_or(Quota::per_second(nz(1)))
                    .allow_burst(nz(20)),
            ),
        }
    }

    /// `Err(wait)` when this attempt must be refused.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        // Keep memory bounded under a flood of made-up names.
        if self.per_account.len() > 10_000 {
            self.per_account.retain_recent();
        }
        if self.per_address.len() > 10_000 {
            self.per_address.retain_recent();
        }
        self.per_address
            .check_key(&address)
            .map_err(|n| n.wait_time_from(now))?;
        self.per_account
            .check_key(&account.to_owned())
            .map_err(|n| n.wait_time_from(now))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::client_key;
    use actix_web::test::TestRequest;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let key = |addr: &str| {
            client_key(
                &TestRequest::default()
                    .peer_addr(addr.parse().unwrap())
                    .to_http_request(),
            )
        };
        assert_eq!(
            key("[2001:db8:1:2:aaaa::1]:5000"),
            key("[2001:db8:1:2:bbbb::9]:6000")
        );
        assert_ne!(key("[2001:db8:1:2::1]:5000"), key("[2001:db8:1:3::1]:5000"));
        assert_eq!(key("192.0.2.7:80").to_string(), "192.0.2.7");
    }
}
