//! `certificate`: the site's live certificate in the store, its days left
//! and its next renewal. When renewal is due is the cert step's own rule
//! (`steps::cert::due`, and the CA's stored renewal window): the next
//! renewal is the first moment that rule says "due".
//!
//! Fails when there is none, it has expired, it does not cover every name
//! of the site, or its renewal is overdue: due, and more than half of the
//! time from then to expiry has passed without a new one (renewal runs
//! twice a day, so that is many failed runs, not one).

use super::Check;
use crate::certstore::{AriState, CertInfo, LastAttempt, Store};
use crate::config::{Config, Site, Tls};
use crate::steps::cert::{self, Ari, Wanted};

pub const NAME: &str = "certificate";

pub fn check(config: &Config, site: &Site, now: i64) -> Check {
    let store = Store::new(&config.state_dir);
    let live = match store.live(&site.domain) {
        Ok(Some(live)) => live,
        Ok(None) => {
            return Check::fail(
                NAME,
                format!(
                    "no certificate in {} — `webtier apply cert` issues it",
                    store.live_dir(&site.domain).display()
                ),
            );
        }
        Err(e) => return Check::fail(NAME, format!("{e:#}")),
    };
    let wanted = Wanted {
        name: site.domain.clone(),
        names: site.names().map(str::to_string).collect(),
    };
    let renewal = (site.tls == Tls::Acme).then(|| Renewal {
        key: config.acme.key.as_str(),
        ari: store.ari(&site.domain),
        last: store.last_attempt(&site.domain),
    });
    verdict(&wanted, &live.info, renewal.as_ref(), now)
}

/// What decides an ACME certificate's renewal.
pub struct Renewal<'a> {
    /// The configured key type.
    pub key: &'a str,
    /// The CA's renewal window as stored, if any.
    pub ari: Option<AriState>,
    pub last: Option<LastAttempt>,
}

/// Pure: the verdict on `info` for `wanted` at `now`. Without `renewal`
/// (an ACM certificate) only presence, names and expiry count.
pub fn verdict(wanted: &Wanted, info: &CertInfo, renewal: Option<&Renewal<'_>>, now: i64) -> Check {
    let until = format!(
        "valid until {} ({})",
        date(info.not_after),
        days_left(info.not_after, now)
    );
    if now >= info.not_after {
        return Check::fail(
            NAME,
            format!(
                "expired on {} — `webtier cert renew --force` replaces it",
                date(info.not_after)
            ),
        );
    }
    let missing = wanted.missing_from(info);
    if !missing.is_empty() {
        return Check::fail(
            NAME,
            format!(
                "{until}, but it does not cover {} — `webtier apply cert` issues one that does",
                missing.join(", ")
            ),
        );
    }
    let Some(renewal) = renewal else {
        return Check::pass(NAME, format!("{until}, issued by {}", info.issuer));
    };
    let is_due = |t: i64| due_at(wanted, info, renewal, t).is_some();
    let from = next_renewal(is_due, info.not_before, info.not_after);
    if from > now {
        return Check::pass(NAME, format!("{until}; next renewal from {}", date(from)));
    }
    let reason = due_at(wanted, info, renewal, now).unwrap_or_default();
    let last = match &renewal.last {
        Some(a) if !a.ok && a.at >= from => {
            format!("; the last attempt, {}, failed: {}", date(a.at), a.message)
        }
        _ => String::new(),
    };
    if now >= from + (info.not_after - from) / 2 {
        Check::fail(
            NAME,
            format!(
                "{until}; renewal overdue: due since {} ({reason}){last} — `webtier cert renew` shows why",
                date(from)
            ),
        )
    } else {
        Check::pass(
            NAME,
            format!(
                "{until}; renewal due since {} ({reason}): the next `webtier cert renew` renews it{last}",
                date(from)
            ),
        )
    }
}

/// Why the cert step would renew at `t`, if it would.
fn due_at(wanted: &Wanted, info: &CertInfo, renewal: &Renewal<'_>, t: i64) -> Option<String> {
    let live = crate::certstore::Live {
        info: info.clone(),
        meta: None,
        dir: std::path::PathBuf::new(),
    };
    cert::due(wanted, Some(&live), renewal.key, t).or_else(|| {
        match cert::ari_decision(renewal.ari.as_ref(), &info.serial, t) {
            Ari::Due(reason) => Some(reason),
            _ => None,
        }
    })
}

/// Pure: the first second in `[from, until]` at which `is_due` holds
/// (`until` when it never does before). Renewal rules only ever become
/// due as time passes, so a binary search finds it.
pub fn next_renewal(is_due: impl Fn(i64) -> bool, from: i64, until: i64) -> i64 {
    let (mut lo, mut hi) = (from, until);
    if is_due(lo) {
        return lo;
    }
    // Invariant: not due at lo; due at hi (or hi is the end).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if is_due(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// `89 days left`, `1 day left`, `less than a day left`.
pub fn days_left(not_after: i64, now: i64) -> String {
    match (not_after - now) / 86_400 {
        0 => "less than a day left".into(),
        1 => "1 day left".into(),
        d => format!("{d} days left"),
    }
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    /// 2026-01-01T00:00:00Z.
    const T0: i64 = 1_767_225_600;

    fn info(names: &[&str], not_before: i64, not_after: i64) -> CertInfo {
        CertInfo {
            names: names.iter().map(|n| n.to_string()).collect(),
            serial: "01".into(),
            issuer: "CN=test CA".into(),
            not_before,
            not_after,
            key_type: "ecdsa-p256".into(),
        }
    }

    fn wanted(names: &[&str]) -> Wanted {
        Wanted {
            name: names[0].into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn acme(ari: Option<AriState>, last: Option<LastAttempt>) -> Renewal<'static> {
        Renewal {
            key: "ecdsa-p256",
            ari,
            last,
        }
    }

    #[test]
    fn days_left_and_next_renewal_follow_the_cert_steps_rule() {
        // A 90-day certificate, 1 day old: renewal from 30 days before
        // expiry (the lifetime rule: a third left).
        let i = info(&["a.example"], T0, T0 + 90 * DAY);
        let c = verdict(
            &wanted(&["a.example"]),
            &i,
            Some(&acme(None, None)),
            T0 + DAY,
        );
        assert!(c.ok, "{}", c.detail);
        assert_eq!(
            c.detail,
            "valid until 2026-04-01 (89 days left); next renewal from 2026-03-02"
        );
        // Due, early in the window: passes, and says it is due.
        let c = verdict(
            &wanted(&["a.example"]),
            &i,
            Some(&acme(None, None)),
            T0 + 65 * DAY,
        );
        assert!(c.ok, "{}", c.detail);
        assert!(
            c.detail.contains("25 days left") && c.detail.contains("renewal due since 2026-03-02"),
            "{}",
            c.detail
        );
        // More than half the window gone: overdue, with the failed attempt.
        let failed = LastAttempt {
            at: T0 + 80 * DAY,
            ok: false,
            message: "connection refused".into(),
        };
        let c = verdict(
            &wanted(&["a.example"]),
            &i,
            Some(&acme(None, Some(failed))),
            T0 + 80 * DAY,
        );
        assert!(!c.ok);
        assert!(
            c.detail.contains("renewal overdue") && c.detail.contains("failed: connection refused"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn the_cas_renewal_window_brings_the_next_renewal_forward() {
        let i = info(&["a.example"], T0, T0 + 90 * DAY);
        let ari = AriState {
            serial: "01".into(),
            supported: true,
            window_start: T0 + 40 * DAY,
            window_end: T0 + 42 * DAY,
            renew_at: T0 + 41 * DAY,
            next_check: T0 + 2 * DAY,
            explanation: None,
        };
        let c = verdict(
            &wanted(&["a.example"]),
            &i,
            Some(&acme(Some(ari), None)),
            T0 + DAY,
        );
        assert!(
            c.detail.ends_with("next renewal from 2026-02-11"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn expired_missing_names_and_acm_certificates() {
        let i = info(&["a.example"], T0, T0 + 90 * DAY);
        let c = verdict(
            &wanted(&["a.example"]),
            &i,
            Some(&acme(None, None)),
            T0 + 91 * DAY,
        );
        assert!(!c.ok);
        assert!(
            c.detail.starts_with("expired on 2026-04-01"),
            "{}",
            c.detail
        );
        let c = verdict(
            &wanted(&["a.example", "www.a.example"]),
            &i,
            Some(&acme(None, None)),
            T0 + DAY,
        );
        assert!(!c.ok);
        assert!(
            c.detail.contains("does not cover www.a.example"),
            "{}",
            c.detail
        );
        // ACM renews its own: no renewal verdict.
        let c = verdict(&wanted(&["a.example"]), &i, None, T0 + 80 * DAY);
        assert!(c.ok);
        assert_eq!(
            c.detail,
            "valid until 2026-04-01 (10 days left), issued by CN=test CA"
        );
    }

    #[test]
    fn the_search_finds_the_first_due_second() {
        assert_eq!(next_renewal(|t| t >= 1234, 0, 10_000), 1234);
        assert_eq!(next_renewal(|_| true, 5, 10), 5);
        assert_eq!(next_renewal(|_| false, 5, 10), 10);
        assert_eq!(days_left(10 * DAY + 5, 5), "10 days left");
        assert_eq!(days_left(DAY, 0), "1 day left");
        assert_eq!(days_left(100, 0), "less than a day left");
    }
}
