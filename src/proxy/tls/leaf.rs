//! What a site's certificate must be to be served: its leaf covers every
//! name of the site and has not expired; under [`SOON`] before it does,
//! a warning. Pure: the leaf's facts and the clock in, problems out.

use std::net::IpAddr;
use std::path::Path;

use x509_parser::extensions::GeneralName;

/// A certificate with less left than this is served with a warning.
pub const SOON: i64 = 7 * 86_400;

/// What the rules read of a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// `notAfter`, seconds since the epoch.
    pub not_after: i64,
    /// Its subjectAltName DNS names, ASCII lowercase.
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
}

impl Leaf {
    /// The facts of a DER certificate; the error says why it does not parse.
    pub fn parse(der: &[u8]) -> Result<Leaf, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
        let mut leaf = Leaf {
            not_after: cert.validity().not_after.timestamp(),
            dns: Vec::new(),
            ips: Vec::new(),
        };
        let san = cert.subject_alternative_name().map_err(|e| e.to_string())?;
        for name in san.iter().flat_map(|san| &san.value.general_names) {
            match name {
                GeneralName::DNSName(dns) => leaf.dns.push(dns.to_ascii_lowercase()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        leaf.ips.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        leaf.ips.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
        Ok(leaf)
    }

    /// Whether a client connecting to `name` accepts this leaf: an IP
    /// address by an IP entry; a name by the same name or by a `*.` entry
    /// one label up; a site's `*.` name only by the same wildcard. Only
    /// subjectAltName counts, as in browsers (no common-name fallback).
    pub fn covers(&self, name: &str) -> bool {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return self.ips.contains(&ip);
        }
        let name = name.to_ascii_lowercase();
        if self.dns.contains(&name) {
            return true;
        }
        match name.split_once('.') {
            Some((label, parent)) if label != "*" => self
                .dns
                .iter()
                .any(|d| d.strip_prefix("*.") == Some(parent)),
            _ => false,
        }
    }
}

/// The problems (errors, then warnings) of the leaf in `file` for a site
/// with `names`, at `now` (seconds since the epoch).
pub fn check(leaf: &Leaf, file: &Path, names: &[String], now: i64) -> (Vec<String>, Vec<String>) {
    let file = file.display();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let uncovered: Vec<&str> = names
        .iter()
        .filter(|n| !leaf.covers(n))
        .map(String::as_str)
        .collect();
    if !uncovered.is_empty() {
        let has: Vec<String> = (leaf.dns.iter().cloned())
            .chain(leaf.ips.iter().map(ToString::to_string))
            .collect();
        let has = if has.is_empty() {
            "no name".to_string()
        } else {
            has.join(", ")
        };
        errors.push(format!(
            "certificate {file} does not cover {} (it names {has}) — issue one for every name of the site (`webtier cert issue`)",
            uncovered.join(", ")
        ));
    }
    let left = leaf.not_after - now;
    if left <= 0 {
        errors.push(format!(
            "certificate {file} expired on {} — renew it (`webtier cert renew`)",
            day(leaf.not_after)
        ));
    } else if left < SOON {
        let days = left / 86_400;
        let when = match days {
            0 => "within a day".to_string(),
            1 => "in 1 day".to_string(),
            n => format!("in {n} days"),
        };
        warnings.push(format!(
            "certificate {file} expires {when} — renew it (`webtier cert renew`)"
        ));
    }
    (errors, warnings)
}

/// `2021-01-01`, for messages.
fn day(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
        })
        .unwrap_or_else(|| format!("{unix} (Unix time)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(dns: &[&str], not_after: i64) -> Leaf {
        Leaf {
            not_after,
            dns: dns.iter().map(|d| d.to_string()).collect(),
            ips: vec!["127.0.0.1".parse().unwrap()],
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    const NOW: i64 = 1_800_000_000;
    const FAR: i64 = NOW + 90 * 86_400;

    #[test]
    fn names_are_covered_exactly_or_by_a_wildcard_one_label_up() {
        let l = leaf(&["a.test", "*.b.test"], FAR);
        for name in ["a.test", "A.Test", "x.b.test", "*.b.test", "127.0.0.1"] {
            assert!(l.covers(name), "{name}");
        }
        for name in ["b.test", "x.y.b.test", "www.a.test", "*.a.test", "::1"] {
            assert!(!l.covers(name), "{name}");
        }
        // A wildcard of the site is not covered by one of its names.
        assert!(!leaf(&["x.c.test"], FAR).covers("*.c.test"));
    }

    #[test]
    fn a_certificate_must_cover_every_name_and_not_have_expired() {
        let file = Path::new("/live/a/fullchain.pem");
        let fine = check(&leaf(&["a.test"], FAR), file, &names(&["a.test"]), NOW);
        assert_eq!(fine, (vec![], vec![]));

        let (errors, _) = check(
            &leaf(&["a.test"], FAR),
            file,
            &names(&["a.test", "www.a.test", "b.test"]),
            NOW,
        );
        assert_eq!(
            errors,
            [
                "certificate /live/a/fullchain.pem does not cover www.a.test, b.test (it names a.test, 127.0.0.1) — issue one for every name of the site (`webtier cert issue`)"
            ]
        );

        let expired = leaf(&["a.test"], 1_609_459_200); // 2021-01-01
        let (errors, warnings) = check(&expired, file, &names(&["a.test"]), NOW);
        assert_eq!(
            errors,
            [
                "certificate /live/a/fullchain.pem expired on 2021-01-01 — renew it (`webtier cert renew`)"
            ]
        );
        assert!(warnings.is_empty());
        // The very second it lapses counts as expired.
        assert_eq!(
            check(&leaf(&["a.test"], NOW), file, &names(&["a.test"]), NOW)
                .0
                .len(),
            1
        );
    }

    #[test]
    fn under_seven_days_left_is_a_warning() {
        let file = Path::new("/c.pem");
        let warn = |left: i64| {
            let (errors, warnings) = check(
                &leaf(&["a.test"], NOW + left),
                file,
                &names(&["a.test"]),
                NOW,
            );
            assert!(errors.is_empty());
            warnings
        };
        assert_eq!(
            warn(3 * 86_400 + 3600),
            ["certificate /c.pem expires in 3 days — renew it (`webtier cert renew`)"]
        );
        assert_eq!(
            warn(86_400),
            ["certificate /c.pem expires in 1 day — renew it (`webtier cert renew`)"]
        );
        assert_eq!(
            warn(60),
            ["certificate /c.pem expires within a day — renew it (`webtier cert renew`)"]
        );
        assert!(warn(SOON - 1).len() == 1);
        assert!(warn(SOON).is_empty());
    }

    #[test]
    fn the_facts_are_read_from_a_real_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![
            "A.test".to_string(),
            "*.b.test".to_string(),
            "10.0.0.1".to_string(),
        ])
        .unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 2, 3);
        let cert = params.self_signed(&key).unwrap();
        let leaf = Leaf::parse(cert.der()).unwrap();
        assert_eq!(leaf.dns, ["a.test", "*.b.test"]);
        assert_eq!(leaf.ips, ["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(day(leaf.not_after), "2031-02-03");
        assert!(Leaf::parse(b"not DER").is_err());
    }
}
