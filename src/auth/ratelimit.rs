//! Login throttling that slows guessers without locking the owner out:
//! - per account *and* address: five tries, then one a minute — the guesser's
//!   own machine slows down, the owner elsewhere is untouched;
//! - per address: twenty tries, then one every six seconds (one machine
//!   trying many accounts);
//! - per account from anywhere: fifty tries, then one every thirty seconds
//!   (a crowd of machines on one account) — a browser that has logged into
//!   that account before (a known device, see `devices`) is not held to it.
//!
//! Kept in memory: each app node limits on its own.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginLimiter {
    per_pair: DefaultKeyedRateLimiter<(String, IpAddr)>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
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
    pub fn new() -> Self {
        let every = |secs| {
            Quota::with_period(Duration::from_secs(secs)).unwrap_or(Quota::per_second(nz(1)))
        };
        Self {
            per_pair: RateLimiter::keyed(Quota::per_minute(nz(1)).allow_burst(nz(5))),
            per_address: RateLimiter::keyed(every(6).allow_burst(nz(20))),
            per_account: RateLimiter::keyed(every(30).allow_burst(nz(50))),
        }
    }

    /// `Err(wait)` when this attempt must be refused. `known_device`: the
    /// browser logged into this account before.
    pub fn check(
        &self,
        account: &str,
        address: IpAddr,
        known_device: bool,
    ) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        // Keep memory bounded under a flood of made-up names.
        for len in [
            self.per_pair.len(),
            self.per_address.len(),
            self.per_account.len(),
        ] {
            if len > 10_000 {
                self.per_pair.retain_recent();
                self.per_address.retain_recent();
                self.per_account.retain_recent();
                break;
            }
        }
        self.per_address
            .check_key(&address)
            .map_err(|n| n.wait_time_from(now))?;
        self.per_pair
            .check_key(&(account.to_owned(), address))
            .map_err(|n| n.wait_time_from(now))?;
        if !known_device {
            self.per_account
                .check_key(&account.to_owned())
                .map_err(|n| n.wait_time_from(now))?;
        }
        Ok(())
    }
}
