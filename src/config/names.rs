//! Pure checks of the names and addresses a user types: DNS names (with
//! IDNA), upstream addresses, e-mail addresses, instance ids. No I/O.

use std::net::IpAddr;

use super::model::Upstream;

/// A DNS name as the user wrote it, normalized to its ASCII lowercase form
/// (`Bücher.example` → `xn--bcher-kva.example`). `*.` is allowed as the
/// whole leftmost label only; the caller decides whether a wildcard is
/// acceptable where it appears.
pub fn dns_name(input: &str) -> Result<String, String> {
    if input.is_empty() {
        return Err("empty domain name".into());
    }
    if input.chars().any(char::is_whitespace) {
        return Err(format!("domain name \"{input}\" contains white space"));
    }
    if input.contains("://") || input.contains('/') {
        return Err(format!(
            "\"{input}\" is a URL, not a domain name — write only the host, like example.com"
        ));
    }
    if input.ends_with('.') {
        return Err(format!(
            "domain name \"{input}\" ends with a dot — write it without the trailing dot"
        ));
    }
    if input.parse::<IpAddr>().is_ok() {
        return Err(format!(
            "\"{input}\" is an IP address — a site needs a domain name (certificates are issued for names)"
        ));
    }
    let (wildcard, rest) = match input.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    if rest.contains('*') {
        return Err(format!(
            "misplaced wildcard in \"{input}\" — a wildcard must be the whole leftmost label, like *.example.com"
        ));
    }
    let ascii = if rest.is_ascii()
        && !rest
            .to_ascii_lowercase()
            .split('.')
            .any(|l| l.starts_with("xn--"))
    {
        rest.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii_strict(rest).map_err(|_| {
            format!("\"{input}\" is not a valid internationalized domain name (IDNA)")
        })?
    };
    check_ldh(input, &ascii)?;
    Ok(if wildcard {
        format!("*.{ascii}")
    } else {
        ascii
    })
}

fn check_ldh(input: &str, ascii: &str) -> Result<(), String> {
    if ascii.len() > 253 {
        return Err(format!(
            "domain name \"{input}\" is {} characters long; the limit is 253",
            ascii.len()
        ));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(format!(
            "\"{input}\" is not a fully qualified domain name — public sites need at least two labels, like example.com"
        ));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(format!(
                "domain name \"{input}\" has an empty label (\"..\")"
            ));
        }
        if label.len() > 63 {
            return Err(format!(
                "label \"{label}\" in \"{input}\" is {} characters long; the limit is 63",
                label.len()
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "domain name \"{input}\" contains '{bad}' — only letters, digits and '-' are allowed"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "label \"{label}\" in \"{input}\" starts or ends with '-'"
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!(
            "domain name \"{input}\" has an all-numeric top-level label"
        ));
    }
    Ok(())
}

/// An upstream address: `HOST:PORT`, `[IPV6]:PORT`, optionally with an
/// `http://` or `https://` scheme. No path: the proxy forwards the request
/// path as received.
pub fn upstream(input: &str) -> Result<Upstream, String> {
    let (tls, rest) = if let Some(rest) = input.strip_prefix("http://") {
        (false, rest)
    } else if let Some(rest) = input.strip_prefix("https://") {
        (true, rest)
    } else if let Some((scheme, _)) = input.split_once("://") {
        return Err(format!(
            "upstream \"{input}\" uses scheme \"{scheme}\" — use http:// or https:// (or none)"
        ));
    } else {
        (false, input)
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') {
        return Err(format!(
            "upstream \"{input}\" has a path — write only HOST:PORT, like 127.0.0.1:8000"
        ));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, port) = v6
            .split_once("]:")
            .ok_or_else(|| format!("upstream \"{input}\" needs a port, like [::1]:8000"))?;
        addr.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("upstream \"{input}\" has an invalid IPv6 address"))?;
        (addr, port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(format!(
                    "upstream \"{input}\": put an IPv6 address in brackets, like [::1]:8000"
                ));
            }
            Some((h, p)) => (h, p),
            None => {
                return Err(format!(
                    "upstream \"{input}\" needs a port, like {rest}:8000"
                ));
            }
        }
    };
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => {
            return Err(format!(
                "upstream \"{input}\" has an invalid port \"{port}\" — use 1 to 65535"
            ));
        }
    };
    if host.is_empty() {
        return Err(format!("upstream \"{input}\" has no host"));
    }
    let is_ip = host.parse::<IpAddr>().is_ok();
    let host_ok = is_ip
        || host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !host_ok {
        return Err(format!(
            "upstream \"{input}\" has an invalid host \"{host}\""
        ));
    }
    Ok(Upstream {
        tls,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// An e-mail address (ACME contact). Deliberately simple: one `@`, a
/// non-empty local part, a valid domain.
/// An ALB health check's success codes: `200`, `200,204` or `200-399`,
/// each code from 200 to 499.
pub fn http_codes(input: &str) -> Result<(), String> {
    let code = |t: &str| {
        t.parse::<u16>()
            .ok()
            .filter(|n| (200..=499).contains(n) && t.len() == 3)
    };
    let ok = !input.is_empty()
        && input.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => matches!((code(a), code(b)), (Some(a), Some(b)) if a <= b),
            None => code(part).is_some(),
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "matcher \"{input}\" is not a list of HTTP codes — use codes from 200 to 499, like \"200\", \"200,204\" or \"200-399\""
        ))
    }
}

pub fn email(input: &str) -> Result<(), String> {
    match input.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !local.contains(char::is_whitespace)
                && !domain.contains('@')
                && dns_name(domain).is_ok_and(|d| !d.starts_with('*')) =>
        {
            Ok(())
        }
        _ => Err(format!("\"{input}\" is not an e-mail address")),
    }
}

/// An e-mail allow-list entry: an address, or `*@domain` for a whole domain.
pub fn email_pattern(input: &str) -> Result<(), String> {
    match input.strip_prefix("*@") {
        Some(domain) => dns_name(domain).map(|_| ()).map_err(|_| {
            format!("\"{input}\" is not a valid pattern — use alice@example.com or *@example.com")
        }),
        None => email(input).map_err(|_| {
            format!("\"{input}\" is not a valid pattern — use alice@example.com or *@example.com")
        }),
    }
}

/// `self` or an EC2 instance id (`i-` and 8 or 17 hex digits).
pub fn instance(input: &str) -> Result<(), String> {
    if input == "self" {
        return Ok(());
    }
    match input.strip_prefix("i-") {
        Some(hex)
            if (hex.len() == 8 || hex.len() == 17)
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "\"{input}\" is not an instance — use \"self\" or an id like i-0123456789abcdef0"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_are_normalized() {
        assert_eq!(dns_name("Example.COM").unwrap(), "example.com");
        assert_eq!(dns_name("bücher.example").unwrap(), "xn--bcher-kva.example");
        assert_eq!(
            dns_name("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(dns_name("*.example.com").unwrap(), "*.example.com");
    }

    #[test]
    fn bad_dns_names_say_why() {
        let cases = [
            ("", "empty"),
            ("example.com.", "trailing dot"),
            ("localhost", "at least two labels"),
            ("a..example.com", "empty label"),
            ("-a.example.com", "starts or ends with '-'"),
            ("a_b.example.com", "contains '_'"),
            ("www.*.example.com", "misplaced wildcard"),
            ("*example.com", "misplaced wildcard"),
            ("10.0.0.1", "IP address"),
            ("https://example.com", "is a URL"),
            ("xn--zz.example", "internationalized"),
            ("example.123", "all-numeric"),
        ];
        for (name, why) in cases {
            let err = dns_name(name).unwrap_err();
            assert!(err.contains(why), "{name:?}: {err}");
        }
        let long_label = format!("{}.example.com", "a".repeat(64));
        assert!(dns_name(&long_label).unwrap_err().contains("limit is 63"));
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(dns_name(&long_name).unwrap_err().contains("limit is 253"));
    }

    #[test]
    fn upstreams() {
        let u = upstream("127.0.0.1:8000").unwrap();
        assert_eq!(u.to_string(), "http://127.0.0.1:8000");
        assert_eq!(
            upstream("https://App.internal:8443/").unwrap().to_string(),
            "https://app.internal:8443"
        );
        assert_eq!(
            upstream("[::1]:9000").unwrap().to_string(),
            "http://[::1]:9000"
        );
        for (bad, why) in [
            ("127.0.0.1", "needs a port"),
            ("127.0.0.1:0", "invalid port"),
            ("127.0.0.1:70000", "invalid port"),
            ("127.0.0.1:+80", "invalid port"),
            ("::1:8000", "brackets"),
            ("ftp://x:1", "scheme"),
            ("http://x:1/api", "has a path"),
            ("bad_host:80", "invalid host"),
        ] {
            let err = upstream(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn emails_and_instances() {
        assert!(email("ops@example.com").is_ok());
        assert!(email("ops@").is_err());
        assert!(email("opsexample.com").is_err());
        assert!(email_pattern("*@example.com").is_ok());
        assert!(email_pattern("*@").is_err());
        assert!(instance("self").is_ok());
        assert!(instance("i-0123456789abcdef0").is_ok());
        assert!(instance("i-12345678").is_ok());
        assert!(instance("i-xyz").is_err());
    }
}
