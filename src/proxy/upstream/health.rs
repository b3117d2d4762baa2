//! Active health checks: one GET per upstream when it is due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::proxy::state::State;
use crate::proxy::upstream::forward;
use crate::proxy::upstream::pool::Pool;

/// Starts the active checks that are due (one GET per upstream).
pub fn run_checks(
    state: &ArcSwap<State>,
    pool: &Pool,
    last: &mut std::collections::HashMap<usize, Instant>,
) {
    let current = state.load_full();
    // Groups a reload dropped take their check times with them.
    let live: std::collections::HashSet<usize> =
        current.groups().map(|g| Arc::as_ptr(g) as usize).collect();
    last.retain(|key, _| live.contains(key));
    for group in current.groups() {
        let Some(path) = group.health.check_path.clone() else {
            continue;
        };
        let key = Arc::as_ptr(group) as usize;
        let interval = Duration::from_millis(group.health.check_interval_ms.max(100));
        if last.get(&key).is_some_and(|t| t.elapsed() < interval) {
            continue;
        }
        last.insert(key, Instant::now());
        for index in 0..group.upstreams.len() {
            let group = Arc::clone(group);
            let pool = pool.clone();
            let path = path.clone();
            let timeout = interval.min(Duration::from_secs(5));
            tokio::spawn(async move {
                let upstream = &group.upstreams[index];
                let base = &upstream.base;
                let ok = forward::check(&pool, upstream, &path, timeout).await;
                let was = group.upstreams[index].available(crate::proxy::clock::now_ms());
                group.checked(index, ok);
                if was != ok {
                    if ok {
                        tracing::warn!("upstream {base} passes its health check again");
                    } else {
                        tracing::warn!("upstream {base} fails its health check ({path})");
                    }
                }
            });
        }
    }
}
