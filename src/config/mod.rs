//! `webtier.toml`: parsing, validation and the resolved model.
//!
//! Loading is pure apart from reading the file and checking that the files
//! it names exist; everything that touches the wider environment (AWS,
//! terminals, state) happens later, on the resolved [`Config`].

mod diagnostic;
mod model;
pub mod names;
pub mod proxy_file;
mod raw;
mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Invalid};
pub use model::*;

/// Reads and validates the configuration file.
pub fn load(path: &Path) -> Result<Config, Invalid> {
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " — pass --config FILE or set WEBTIER_CONFIG"
        } else {
            ""
        };
        Invalid {
            file: file.clone(),
            problems: vec![Diagnostic::at(
                &file,
                "",
                None,
                format!("cannot read the configuration: {e}{hint}"),
            )],
        }
    })?;
    // One spelling of the path, whatever the caller typed (`../w/webtier.toml`,
    // a symlinked directory): it is written into generated files.
    let absolute = std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| PathBuf::from(path));
    parse(&file, &source, &absolute)
}

/// Parses and validates configuration text. `file` is the name used in
/// messages; `path` is the file's absolute path (relative paths inside are
/// resolved against its directory). Every problem is reported: after an
/// unknown key or a value of the wrong type, the offending key is set aside
/// and reading goes on, so one run lists them all (a syntax error, or a
/// missing required key, still ends the reading there).
pub fn parse(file: &str, source: &str, path: &Path) -> Result<Config, Invalid> {
    let invalid = |problems| Invalid {
        file: file.to_string(),
        problems,
    };
    let mut root = toml::de::DeTable::parse(source).map_err(|e| {
        let message = match e.message().trim_end() {
            "duplicate key" => "duplicate key — each key may appear once per table".to_string(),
            other => other.replace('\n', "; "),
        };
        invalid(vec![Diagnostic::at(
            file,
            source,
            e.span(),
            format!("invalid TOML: {message}"),
        )])
    })?;

    let mut problems = Vec::new();
    let mut set_aside: Vec<Vec<String>> = Vec::new();
    let raw = loop {
        let deserializer = toml::Deserializer::from(root.clone());
        match serde_path_to_error::deserialize::<_, raw::RawConfig>(deserializer) {
            Ok(raw) => break Some(raw),
            Err(e) => {
                let keys = key_path(e.path());
                let message = e.inner().message();
                if let Some(field) = message
                    .strip_prefix("missing field `")
                    .and_then(|r| r.split('`').next())
                {
                    // Missing only because a bad value or a misspelling of
                    // it was set aside: already reported.
                    let explained = set_aside.iter().any(|aside| {
                        aside.split_last().is_some_and(|(name, parent)| {
                            parent == keys.as_slice()
                                && (name == field
                                    || diagnostic::suggest(name, &[field.to_string()]).is_some())
                        })
                    });
                    if !explained {
                        problems.push(serde_problem(file, source, &e));
                    }
                    let span = e.inner().span().unwrap_or(0..0);
                    if problems.len() >= 100
                        || !fill_placeholder(root.get_mut(), &keys, field, span)
                    {
                        break None;
                    }
                    continue;
                }
                problems.push(serde_problem(file, source, &e));
                if problems.len() >= 100 || !set_key_aside(root.get_mut(), &keys) {
                    break None;
                }
                set_aside.push(keys);
            }
        }
    };
    // With keys set aside the semantic checks still run, so their problems
    // are listed too; a configuration with any problem is never returned.
    match raw.map(|raw| validate::resolve(raw, file, source, path)) {
        Some(Ok(config)) if problems.is_empty() => return Ok(config),
        // "No site" only because [site] was set aside: already reported.
        Some(Err(more)) => {
            let site_set_aside = set_aside.iter().any(|k| k == &["site"]);
            problems.extend(more.into_iter().filter(|d| {
                let follows_from_site = site_set_aside && d.message.starts_with("no [[site]]");
                !(follows_from_site || d.message.contains(PLACEHOLDER))
            }));
        }
        _ => {}
    }
    problems.sort_by_key(|d| (d.line, d.column));
    Err(invalid(problems))
}

fn serde_problem(
    file: &str,
    source: &str,
    e: &serde_path_to_error::Error<toml::de::Error>,
) -> Diagnostic {
    let message = diagnostic::describe_serde_error(e.path(), e.inner().message());
    Diagnostic::at(file, source, e.inner().span(), message)
}

/// The keys and indexes of a deserialization path as written in the file
/// (toml's internal Spanned keys left out).
fn key_path(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Map { key } if key.starts_with("$__serde_spanned") => None,
            Segment::Map { key } => Some(key.clone()),
            Segment::Seq { index } => Some(index.to_string()),
            _ => None,
        })
        .collect()
}

/// The table at `keys` (map keys and array-of-tables indexes).
fn table_at<'a, 'i>(
    table: &'a mut toml::de::DeTable<'i>,
    keys: &[String],
) -> Option<&'a mut toml::de::DeTable<'i>> {
    use toml::de::DeValue;
    let Some((first, rest)) = keys.split_first() else {
        return Some(table);
    };
    let mut value = table.get_mut(first.as_str())?.get_mut();
    let mut rest = rest;
    while let DeValue::Array(items) = value {
        let (index, tail) = rest.split_first()?;
        value = items.get_mut(index.parse::<usize>().ok()?)?.get_mut();
        rest = tail;
    }
    match value {
        DeValue::Table(inner) => table_at(inner, rest),
        _ => None,
    }
}

/// Removes the value at `keys` from the parsed document, so reading can go
/// on past it. A bad element of a list takes the whole list with it. False
/// when there is nothing to remove.
fn set_key_aside(root: &mut toml::de::DeTable<'_>, keys: &[String]) -> bool {
    let mut keys = keys;
    while keys.len() > 1 && keys.last().is_some_and(|k| k.parse::<usize>().is_ok()) {
        keys = &keys[..keys.len() - 1];
    }
    let Some((last, parent)) = keys.split_last() else {
        return false;
    };
    table_at(root, parent).is_some_and(|t| t.remove(last.as_str()).is_some())
}

/// Fills a missing required key (all are strings) with a placeholder, so
/// reading can go on to the rest of the file.
fn fill_placeholder(
    root: &mut toml::de::DeTable<'_>,
    table: &[String],
    field: &str,
    span: std::ops::Range<usize>,
) -> bool {
    use std::borrow::Cow;
    use toml::Spanned;
    use toml::de::DeValue;
    let Some(t) = table_at(root, table) else {
        return false;
    };
    if t.get(field).is_some() {
        return false;
    }
    t.insert(
        Spanned::new(span.clone(), Cow::Owned(field.to_string())),
        Spanned::new(span, DeValue::String(Cow::Borrowed(PLACEHOLDER))),
    );
    true
}

/// Stands in for a missing required value; problems about it are dropped.
const PLACEHOLDER: &str = "placeholder.webtier.invalid";

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse("w.toml", text, Path::new("/nonexistent/w.toml")) {
            Ok(_) => vec![],
            Err(inv) => inv.problems.iter().map(|d| d.headline()).collect(),
        }
    }

    const MINIMAL: &str = "[[site]]\ndomain = \"example.com\"\nupstreams = [\"127.0.0.1:8000\"]\n";

    #[test]
    fn no_problem_repeats_a_secret_value() {
        let cases = [
            (
                format!("[target]\ntags = {{ api_token = 98765432 }}\n{MINIMAL}"),
                "wrong type for \"api_token\" in [target.tags]: expected a quoted string, found a whole number",
            ),
            (
                format!(
                    "{MINIMAL}[site.auth]\nissuer = \"https://i.example\"\nclient_id = \"c\"\nsecret = \"98765432\"\n"
                ),
                "unknown key \"secret\" in [site.auth]",
            ),
        ];
        for (text, expected) in cases {
            let problems = errors(&text);
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{problems:?}"
            );
            assert!(
                !problems.iter().any(|p| p.contains("98765432")),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn the_access_log_query_setting_is_checked() {
        let cfg = parse("w.toml", MINIMAL, Path::new("/w.toml")).unwrap();
        assert_eq!(cfg.proxy.access_log_query, LogQuery::Masked);
        let text = format!("[proxy]\naccess_log_query = \"none\"\n{MINIMAL}");
        let cfg = parse("w.toml", &text, Path::new("/w.toml")).unwrap();
        assert_eq!(cfg.proxy.access_log_query, LogQuery::Omitted);
        let text = format!("[proxy]\naccess_log_query = \"nnoe\"\n{MINIMAL}");
        assert_eq!(
            errors(&text),
            [
                "w.toml:2:20: invalid value \"nnoe\" for access_log_query in [proxy] — did you mean \"none\"?"
            ]
        );
    }

    #[test]
    fn proxy_timeouts_default_to_the_proxy_s_and_out_of_range_ones_are_refused() {
        let cfg = parse("w.toml", MINIMAL, Path::new("/w.toml")).unwrap();
        assert_eq!(cfg.proxy.timeouts, Timeouts::default());
        assert_eq!(cfg.proxy.http2_max_streams, 128);
        let text = format!(
            "[proxy]\nhttp2_max_streams = 0\n[proxy.timeouts]\nsend_ms = 0\nupstream_idle_ms = 0\ndrain_ms = -1\nsend_ms_typo = 1\n{MINIMAL}"
        );
        assert_eq!(
            errors(&text),
            [
                "w.toml:2:21: http2_max_streams = 0 is out of range — use 1 to 4294967295",
                "w.toml:4:11: send_ms = 0 is out of range — use 1 to 86400000",
                "w.toml:6:12: drain_ms = -1 is out of range — use 0 to 86400000",
                "w.toml:7:1: unknown key \"send_ms_typo\" in [proxy.timeouts] — expected one of \"header_read_ms\", \"send_ms\", \"http2_idle_ms\", \"tunnel_idle_ms\", \"upstream_connect_ms\", \"upstream_read_ms\", \"upstream_idle_ms\", \"drain_ms\"",
            ]
        );
    }

    #[test]
    fn a_login_behind_a_load_balancer_shares_its_key_through_ssm() {
        let site = "[[site]]\ndomain = \"example.com\"\ntls = \"acm\"\nupstreams = [\"127.0.0.1:8000\"]\n\
                    [site.acm]\nmode = \"managed\"\n\
                    [site.auth]\nissuer = \"https://id.example\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\nallowed_emails = [\"*@example.com\"]\n";
        let text = |aws: &str| {
            format!(
                "{aws}[target]\ntags = {{ Role = \"web\" }}\n[proxy]\ntrusted_proxies = [\"10.0.0.0/16\"]\n\
                 [dns]\nowner = \"shop\"\n[load_balancer]\nname = \"shop\"\n{site}"
            )
        };
        let cfg = parse(
            "w.toml",
            &text("[aws]\nregion = \"eu-west-1\"\n"),
            Path::new("/w.toml"),
        )
        .unwrap();
        assert_eq!(
            cfg.proxy.session_key_parameter.as_deref(),
            Some("/webtier/shop/session-keys")
        );
        let rendered = proxy_file::render(&cfg);
        assert!(
            rendered.contains("session_key_ssm") && rendered.contains("/webtier/shop/session-keys"),
            "{rendered}"
        );
        // The ALB's health check reaches the first site's app.
        let proxy = crate::proxy::config::ProxyConfig::from_toml(&rendered).unwrap();
        assert_eq!(
            proxy.health_check,
            Some(crate::proxy::config::HealthCheckRoute {
                path: "/".into(),
                site: "example.com".into()
            })
        );
        let errs = parse("w.toml", &text(""), Path::new("/w.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            errs.contains("shared through SSM Parameter Store"),
            "{errs}"
        );
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let cfg = parse("w.toml", MINIMAL, Path::new("/etc/webtier/webtier.toml")).unwrap();
        assert_eq!(cfg.acme.directory, LETSENCRYPT);
        assert_eq!(cfg.proxy.http_port, 80);
        assert_eq!(cfg.proxy.config_file, Path::new("/etc/webtier/proxy.toml"));
        assert_eq!(
            cfg.proxy.challenge_dir,
            Path::new("/var/lib/webtier/acme-challenge")
        );
        assert_eq!(cfg.sites[0].tls, Tls::Acme);
        assert!(cfg.target.is_none());
    }

    #[test]
    fn target_defaults_follow_ipv6_and_tags() {
        let path = Path::new("/w.toml");
        let cfg = parse("w.toml", &format!("[target]\n{MINIMAL}"), path).unwrap();
        let target = cfg.target.unwrap();
        assert_eq!(target.instances, ["self"]);
        let cidrs: Vec<String> = target.ingress_cidrs.iter().map(|c| c.to_string()).collect();
        assert_eq!(cidrs, ["0.0.0.0/0", "::/0"]);

        let text = format!("[target]\ntags = {{ Role = \"web\" }}\nipv6 = false\n{MINIMAL}");
        let target = parse("w.toml", &text, path).unwrap().target.unwrap();
        assert!(target.instances.is_empty(), "tags alone select instances");
        assert_eq!(target.tags["Role"], "web");
        assert_eq!(target.ingress_cidrs.len(), 1);
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let text =
            format!("state_dir = \"state\"\n[proxy]\nconfig_file = \"out/proxy.toml\"\n{MINIMAL}");
        let cfg = parse("w.toml", &text, Path::new("/srv/site/webtier.toml")).unwrap();
        assert_eq!(cfg.state_dir, Path::new("/srv/site/state"));
        assert_eq!(cfg.proxy.config_file, Path::new("/srv/site/out/proxy.toml"));
        assert_eq!(
            cfg.proxy.challenge_dir,
            Path::new("/srv/site/state/acme-challenge")
        );
    }

    #[test]
    fn unknown_key_in_nested_table_names_the_table() {
        let text =
            format!("{MINIMAL}[site.auth]\nissuer = \"https://x.example\"\nclientid = \"a\"\n");
        let errs = errors(&text);
        assert!(
            errs.iter().any(|e| e.starts_with(
                "w.toml:6:1: unknown key \"clientid\" in [site.auth] — did you mean \"client_id\"?"
            )),
            "{errs:?}"
        );
        // The misspelled key explains the missing one: no second report.
        assert!(
            !errs.iter().any(|e| e.contains("missing key \"client_id\"")),
            "{errs:?}"
        );
    }

    #[test]
    fn structural_and_semantic_problems_are_all_reported() {
        let text = "[[site]]\nupstreams = [\"x\"]\n[[site]]\ndomain = \"ok.example\"\nalias = []\nupstreams = [\"127.0.0.1:1\"]\n[proxy]\nhttp_port = true\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(
            errs[0].starts_with("w.toml:1:1: missing key \"domain\""),
            "{errs:?}"
        );
        assert!(
            errs[1].starts_with("w.toml:2:14: upstream \"x\" needs a port"),
            "{errs:?}"
        );
        assert!(
            errs[2].starts_with("w.toml:5:1: unknown key \"alias\""),
            "{errs:?}"
        );
        assert!(
            errs[3].starts_with("w.toml:8:13: wrong type for \"http_port\""),
            "{errs:?}"
        );
        assert!(!errs.iter().any(|e| e.contains("placeholder")), "{errs:?}");
    }

    #[test]
    fn all_semantic_problems_are_reported() {
        let text = "[[site]]\ndomain = \"bad_name.com\"\nupstreams = [\"127.0.0.1\"]\n[[site]]\ndomain = \"ok.example\"\naliases = [\"OK.example\"]\nupstreams = [\"x:1\"]\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].starts_with("w.toml:2:10:"), "{errs:?}");
        assert!(errs[1].starts_with("w.toml:3:14:"), "{errs:?}");
        assert!(errs[2].contains("listed twice in this site"), "{errs:?}");
    }
}
