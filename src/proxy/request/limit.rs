//! Rate limits (stage 5, after access control): per client address (the
//! socket peer, or a trusted proxy's `X-Forwarded-For` client), GCRA
//! from the `governor` crate. A site's limit is one budget per client
//! across its routes; a route's own limit replaces it there.
//!
//! `burst` requests may come at once; with `delay = N`, up to N more are
//! held until their turn (nginx's `limit_req … burst delay`) instead of
//! refused. The rest get 429 with `Retry-After`. Memory stays bounded:
//! the control loop forgets clients whose budget has refilled
//! ([`Limiter::forget_idle`]), so state is held only for clients seen
//! within the last `burst / rate` seconds.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::proxy::config::RateLimitConfig;

pub struct Limiter {
    /// Admission: `burst + delay` at once, refilled at the rate.
    admit: DefaultKeyedRateLimiter<IpAddr>,
    /// With `delay`: `burst` at once; a request it refuses that `admit`
    /// took waits for its turn.
    prompt: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

/// What the limit says of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Over the burst but within the delay: forward after this long.
    Wait(Duration),
    /// 429; the client may try again after this long.
    Refuse(Duration),
}

fn quota(per_second: f64, burst: u32) -> Result<Quota, String> {
    if !(per_second.is_finite() && per_second > 0.0) {
        return Err(format!(
            "rate_limit per_second = {per_second} must be above 0"
        ));
    }
    let burst = NonZeroU32::new(burst).ok_or("rate_limit burst must be at least 1")?;
    let period = Duration::from_secs_f64(1.0 / per_second);
    Quota::with_period(period)
        .map(|q| q.allow_burst(burst))
        .ok_or_else(|| format!("rate_limit per_second = {per_second} is too high"))
}

impl Limiter {
    pub fn new(rc: &RateLimitConfig) -> Result<Limiter, String> {
        let admit = quota(rc.per_second, rc.burst.saturating_add(rc.delay))?;
        let prompt = (rc.delay > 0)
            .then(|| quota(rc.per_second, rc.burst))
            .transpose()?;
        Ok(Limiter {
            admit: DefaultKeyedRateLimiter::dashmap(admit),
            prompt: prompt.map(DefaultKeyedRateLimiter::dashmap),
        })
    }

    pub fn check(&self, client: IpAddr) -> Verdict {
        let client = key(client);
        match self.admit.check_key(&client) {
            Err(not_until) => Verdict::Refuse(not_until.wait_time_from(self.admit.clock().now())),
            Ok(()) => match &self.prompt {
                None => Verdict::Pass,
                Some(prompt) => match prompt.check_key(&client) {
                    Ok(()) => Verdict::Pass,
                    Err(not_until) => Verdict::Wait(not_until.wait_time_from(prompt.clock().now())),
                },
            },
        }
    }

    /// Forgets the clients whose budget has refilled (they would start
    /// afresh anyway), and gives the memory back when many went (not every
    /// second: shrinking reallocates the tables under their locks).
    pub fn forget_idle(&self) {
        for limiter in std::iter::once(&self.admit).chain(self.prompt.as_ref()) {
            let before = limiter.len();
            limiter.retain_recent();
            let after = limiter.len();
            if before.saturating_sub(after) >= 1024 || (after == 0 && before > 0) {
                limiter.shrink_to_fit();
            }
        }
    }

    /// Clients currently remembered.
    pub fn clients(&self) -> usize {
        self.admit.len()
    }
}

/// The key of a client: its address, or for IPv6 its /64 (one host gets
/// a whole /64, and would otherwise get as many budgets as it likes).
fn key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::V6(octets.into())
        }
        v4 => v4,
    }
}

/// `Retry-After`'s value for a wait: whole seconds, at least 1.
pub fn retry_after(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: u32, delay: u32) -> Limiter {
        Limiter::new(&RateLimitConfig {
            per_second,
            burst,
            delay,
        })
        .unwrap()
    }

    #[test]
    fn a_burst_passes_then_the_rest_waits_or_is_refused() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let l = limiter(1.0, 3, 0);
        for _ in 0..3 {
            assert_eq!(l.check(ip), Verdict::Pass);
        }
        let Verdict::Refuse(wait) = l.check(ip) else {
            panic!("the fourth at once is refused")
        };
        assert!(
            wait <= Duration::from_secs(1) && !wait.is_zero(),
            "{wait:?}"
        );
        assert_eq!(l.check(other), Verdict::Pass, "each client its own budget");
        // An IPv6 /64 is one client.
        let l6 = limiter(1.0, 1, 0);
        assert_eq!(l6.check("2001:db8::1".parse().unwrap()), Verdict::Pass);
        assert!(matches!(
            l6.check("2001:db8::ffff:1".parse().unwrap()),
            Verdict::Refuse(_)
        ));
        assert_eq!(l6.check("2001:db8:0:1::1".parse().unwrap()), Verdict::Pass);
        // With a delay of 2: two more wait their turn, the next is refused.
        let l = limiter(10.0, 1, 2);
        assert_eq!(l.check(ip), Verdict::Pass);
        assert!(matches!(l.check(ip), Verdict::Wait(w) if w <= Duration::from_millis(100)));
        assert!(matches!(l.check(ip), Verdict::Wait(_)));
        assert!(matches!(l.check(ip), Verdict::Refuse(_)));
    }

    #[test]
    fn idle_clients_are_forgotten() {
        let l = limiter(1000.0, 1, 0);
        for i in 0..100u8 {
            l.check(IpAddr::from([10, 0, 0, i]));
        }
        assert_eq!(l.clients(), 100);
        // A budget refills in a millisecond: soon every client is idle.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while l.clients() > 0 {
            assert!(std::time::Instant::now() < deadline, "{} left", l.clients());
            l.forget_idle();
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        assert_eq!(retry_after(Duration::ZERO), 1);
        assert_eq!(retry_after(Duration::from_millis(1)), 1);
        assert_eq!(retry_after(Duration::from_secs(2)), 2);
        assert_eq!(retry_after(Duration::from_millis(2500)), 3);
        assert!(
            Limiter::new(&RateLimitConfig {
                per_second: 0.0,
                burst: 1,
                delay: 0
            })
            .is_err()
        );
    }
}
