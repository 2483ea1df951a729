//! Throttling of repeated authentication failures per client address (the address
//! `TRUSTED_PROXIES` lets us see, see [`crate::client_addr`]).
//!
//! Each failure spends from the address's budget (a burst, refilled at a steady rate); a
//! failure beyond it is answered 429 with `Retry-After` instead of 401. A valid token is never
//! throttled, so legitimate traffic is not slowed by anyone's failures, its own address's
//! included; nor is a genuine token that merely aged, which the caller does not count (see
//! [`super::AuthFailure::counts_toward_throttle`]). Throttled failures are not logged one by
//! one: the first of each minute per address logs one `auth_throttled` event with the number suppressed since the last one, so a
//! flood of bad tokens costs at most the budget plus one line per minute per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How often a throttled address is reported in the log, at most.
const REPORT_EVERY: Duration = Duration::from_secs(60);
/// Tracked addresses beyond which idle entries are pruned, keeping memory bounded.
const PRUNE_ABOVE: usize = 10_000;

/// The outcome for a failure over the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
    /// `Some(n)` when this failure should be logged, with `n` failures suppressed since the
    /// last report; `None` to stay silent.
    pub report: Option<u64>,
}

pub struct FailureThrottle {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
    reports: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

impl FailureThrottle {
    /// `per_minute` failures per address (also the burst); 0 turns throttling off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            clock: DefaultClock::default(),
            reports: Mutex::default(),
        }
    }

    /// Counts one failure from `address`: `Ok` while within the budget.
    pub fn record_failure(&self, address: IpAddr) -> Result<(), Throttled> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > PRUNE_ABOVE {
            limiter.retain_recent();
        }
        let Err(not_until) = limiter.check_key(&address) else {
            return Ok(());
        };
        let retry_after = not_until
            .wait_time_from(self.clock.now())
            .max(Duration::from_secs(1));
        Err(Throttled {
            retry_after,
            report: self.report(address),
        })
    }

    fn report(&self, address: IpAddr) -> Option<u64> {
        let mut reports = self.reports.lock().ok()?;
        if reports.len() > PRUNE_ABOVE {
            reports.retain(|_, (at, _)| at.elapsed() < REPORT_EVERY);
        }
        let now = Instant::now();
        let entry = reports.entry(address).or_insert((now - REPORT_EVERY, 0));
        if now.duration_since(entry.0) >= REPORT_EVERY {
            let suppressed = entry.1;
            *entry = (now, 0);
            Some(suppressed)
        } else {
            entry.1 += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_over_its_budget_is_throttled_and_reported_once() {
        let throttle = FailureThrottle::new(3);
        let attacker: IpAddr = [10, 0, 0, 1].into();
        let bystander: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert_eq!(throttle.record_failure(attacker), Ok(()));
        }
        let first = throttle.record_failure(attacker).expect_err("over budget");
        assert!(first.retry_after >= Duration::from_secs(1));
        assert_eq!(first.report, Some(0));
        let second = throttle.record_failure(attacker).expect_err("still over");
        assert_eq!(second.report, None, "one report per minute");
        assert_eq!(
            throttle.record_failure(bystander),
            Ok(()),
            "other addresses are unaffected"
        );
    }

    #[test]
    fn zero_turns_throttling_off() {
        let throttle = FailureThrottle::new(0);
        for _ in 0..1000 {
            assert_eq!(throttle.record_failure([10, 0, 0, 1].into()), Ok(()));
        }
    }
}
