//! The process's clock, in milliseconds since it started: what every
//! timeout, health state and pooled connection is stamped with.

use std::sync::LazyLock;
use std::time::Instant;

/// The process's clock starts here.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Milliseconds on the process's own monotonic clock.
pub fn now_ms() -> u64 {
    ms_at(Instant::now())
}

/// [`now_ms`] rounded up: the stamp of an activity that idle timeouts are
/// measured from (a pooled connection released, a stream ended, a tunnel
/// read). Rounded up, it never stands for a moment before the activity, so
/// a timeout measured from it never fires early (under 1 ms late).
///
/// These stamps once read `CLOCK_MONOTONIC_COARSE` with a tick of slack,
/// to save a few nanoseconds per read; on a virtual machine that clock was
/// seen lagging by more than a tick (a stamp 1 ms early in CI), so the
/// precise clock is read instead.
pub fn stamp_ms() -> u64 {
    let elapsed = EPOCH.elapsed();
    (elapsed.as_nanos().div_ceil(1_000_000)) as u64
}

/// `t` in the milliseconds of [`now_ms`].
pub fn ms_at(t: Instant) -> u64 {
    t.saturating_duration_since(*EPOCH).as_millis() as u64
}

/// The instant `ms` milliseconds of [`now_ms`] stand for.
pub fn instant_at(ms: u64) -> Instant {
    *EPOCH + std::time::Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_activity_stamp_never_stands_for_an_earlier_moment() {
        // Idle timeouts are measured from these stamps: one that stood for
        // a moment before the activity would cut a connection early.
        for _ in 0..200_000 {
            let before = Instant::now();
            let stamp = stamp_ms();
            assert!(instant_at(stamp) >= before, "stamp {stamp} is early");
        }
    }
}
