//! A route's upstreams: balancing (round-robin or least-connections) and
//! health (passive: eject after N failed connections for T; active: a GET
//! every I). Shared by every worker through atomics; the choice itself is
//! a pure function of the counters and the clock, tested without sockets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::proxy::config::{Balance, Health, UpstreamAddr};

pub struct Upstream {
    pub addr: UpstreamAddr,
    /// `scheme://host:port`, the start of every request URI.
    pub base: Arc<str>,
    in_flight: AtomicUsize,
    fails: AtomicU32,
    ejected_until: AtomicU64,
    /// The last active check's verdict (true until a check says otherwise).
    check_ok: AtomicBool,
}

impl Upstream {
    pub fn new(addr: UpstreamAddr) -> Upstream {
        Upstream {
            base: addr.base().into(),
            addr,
            in_flight: AtomicUsize::new(0),
            fails: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            check_ok: AtomicBool::new(true),
        }
    }

    pub fn available(&self, now: u64) -> bool {
        self.check_ok.load(Relaxed) && self.ejected_until.load(Relaxed) <= now
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Relaxed)
    }
}

/// The upstreams one request has tried, without an allocation for the
/// first few.
pub struct Tried {
    inline: [usize; 4],
    len: usize,
    more: Vec<usize>,
}

impl Tried {
    pub fn new() -> Tried {
        Tried {
            inline: [0; 4],
            len: 0,
            more: Vec::new(),
        }
    }

    pub fn push(&mut self, index: usize) {
        if self.len < self.inline.len() {
            self.inline[self.len] = index;
        } else {
            if self.more.is_empty() {
                self.more.extend_from_slice(&self.inline);
            }
            self.more.push(index);
        }
        self.len += 1;
    }

    pub fn as_slice(&self) -> &[usize] {
        if self.len <= self.inline.len() {
            &self.inline[..self.len]
        } else {
            &self.more
        }
    }
}

pub struct Group {
    pub upstreams: Vec<Upstream>,
    pub balance: Balance,
    pub health: Health,
    next: AtomicUsize,
}

/// Counts a request against an upstream until dropped (for
/// least-connections); dropped when the response body ends.
pub struct InFlight {
    group: Arc<Group>,
    index: usize,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.group.upstreams[self.index]
            .in_flight
            .fetch_sub(1, Relaxed);
    }
}

impl Group {
    pub fn new(addrs: Vec<UpstreamAddr>, balance: Balance, health: Health) -> Group {
        Group {
            upstreams: addrs.into_iter().map(Upstream::new).collect(),
            balance,
            health,
            next: AtomicUsize::new(0),
        }
    }

    /// The upstream for the next attempt, skipping those `tried` and those
    /// ejected or failing their checks. `None`: nobody is available.
    pub fn pick(&self, now: u64, tried: &[usize]) -> Option<usize> {
        let n = self.upstreams.len();
        let start = self.next.fetch_add(1, Relaxed);
        let candidates = (0..n)
            .map(|k| (start + k) % n)
            .filter(|i| !tried.contains(i) && self.upstreams[*i].available(now));
        match self.balance {
            Balance::RoundRobin => candidates.into_iter().next(),
            // Ties go to the round-robin order, so idle upstreams share.
            Balance::LeastConnections => {
                candidates.min_by_key(|i| self.upstreams[*i].in_flight.load(Relaxed))
            }
        }
    }

    pub fn begin(self: &Arc<Self>, index: usize) -> InFlight {
        self.upstreams[index].in_flight.fetch_add(1, Relaxed);
        InFlight {
            group: Arc::clone(self),
            index,
        }
    }

    pub fn succeeded(&self, index: usize) {
        let up = &self.upstreams[index];
        if up.fails.load(Relaxed) != 0 {
            up.fails.store(0, Relaxed);
        }
    }

    /// A failed connection or a timeout; the `fail_after`-th in a row
    /// ejects the upstream for `eject_ms`. Returns true when it ejected.
    pub fn failed(&self, index: usize, now: u64) -> bool {
        let up = &self.upstreams[index];
        let fails = up.fails.fetch_add(1, Relaxed) + 1;
        if fails >= self.health.fail_after.max(1) {
            up.fails.store(0, Relaxed);
            up.ejected_until.store(now + self.health.eject_ms, Relaxed);
            return true;
        }
        false
    }

    /// An active check's result: a pass also ends an ejection.
    pub fn checked(&self, index: usize, ok: bool) {
        let up = &self.upstreams[index];
        up.check_ok.store(ok, Relaxed);
        if ok {
            up.ejected_until.store(0, Relaxed);
            up.fails.store(0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::config::parse_upstream;

    fn group(n: usize, balance: Balance) -> Arc<Group> {
        let addrs = (0..n)
            .map(|i| parse_upstream(&format!("http://127.0.0.1:{}", 8000 + i)).unwrap())
            .collect();
        Arc::new(Group::new(addrs, balance, Health::default()))
    }

    #[test]
    fn tried_upstreams_are_remembered_past_the_inline_ones() {
        let mut tried = Tried::new();
        assert!(tried.as_slice().is_empty());
        for i in 0..7 {
            tried.push(i * 10);
        }
        assert_eq!(tried.as_slice(), &[0, 10, 20, 30, 40, 50, 60]);
    }

    #[test]
    fn round_robin_takes_turns() {
        let g = group(3, Balance::RoundRobin);
        let picks: Vec<_> = (0..6).map(|_| g.pick(0, &[]).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn least_connections_prefers_the_idle_upstream() {
        let g = group(2, Balance::LeastConnections);
        let busy = g.begin(0);
        let _busy2 = g.begin(0);
        for _ in 0..4 {
            assert_eq!(g.pick(0, &[]), Some(1));
        }
        drop(busy);
        let _b = g.begin(1);
        let _c = g.begin(1);
        assert_eq!(g.pick(0, &[]), Some(0));
    }

    #[test]
    fn repeated_failures_eject_for_a_while_then_readmit() {
        let g = group(2, Balance::RoundRobin);
        assert!(!g.failed(0, 1000));
        assert!(!g.failed(0, 1000));
        assert!(g.failed(0, 1000));
        for _ in 0..4 {
            assert_eq!(g.pick(1000, &[]), Some(1));
        }
        assert_eq!(g.pick(1000 + 10_000, &[0, 1][1..]), Some(0));
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let g = group(1, Balance::RoundRobin);
        g.failed(0, 0);
        g.failed(0, 0);
        g.succeeded(0);
        assert!(!g.failed(0, 0));
        assert_eq!(g.pick(0, &[]), Some(0));
    }

    #[test]
    fn retries_skip_what_was_tried_and_nobody_left_is_none() {
        let g = group(2, Balance::RoundRobin);
        let first = g.pick(0, &[]).unwrap();
        let second = g.pick(0, &[first]).unwrap();
        assert_ne!(first, second);
        assert_eq!(g.pick(0, &[first, second]), None);
    }

    #[test]
    fn failing_active_checks_take_an_upstream_out_until_it_passes() {
        let g = group(2, Balance::RoundRobin);
        g.checked(1, false);
        assert!((0..4).all(|_| g.pick(0, &[]) == Some(0)));
        g.checked(1, true);
        assert!((0..4).any(|_| g.pick(0, &[]) == Some(1)));
    }
}
