//! Rewrites and redirects, compiled once at load (the `regex` crate:
//! linear time, no backtracking):
//!
//! - at routing (stage 4), before anything is decided about the client,
//!   as nginx's rewrite phase comes before its access phase: the site's
//!   canonical host, its redirect rules (first match wins; `$1`,
//!   `${name}` captures; the original query kept unless the target has
//!   one), and the route's trailing-slash policy;
//! - at stage 7, after access control and the login: the route's rewrite
//!   of the path the upstream receives.
//!
//! Loops that the configuration shows (a rule that redirects to a path it
//! or another rule or a trailing-slash policy sends back) are refused at
//! load, by following each target with its captures filled in.

use regex::Regex;

use crate::proxy::config::{RedirectConfig, RewriteConfig, TrailingSlash};

/// A redirect rule of a site.
#[derive(Debug)]
pub struct Redirect {
    pub from: Regex,
    pub to: String,
    pub status: http::StatusCode,
}

/// A route's rewrite of the upstream path.
#[derive(Debug)]
pub struct Rewrite {
    pub from: Regex,
    pub to: String,
}

impl Redirect {
    pub fn compile(rc: &RedirectConfig) -> Result<Redirect, String> {
        let from = Regex::new(&rc.from)
            .map_err(|e| format!("redirect from \"{}\": {}", rc.from, one_line(&e)))?;
        let status = match rc.status {
            301 | 302 | 307 | 308 => {
                http::StatusCode::from_u16(rc.status).map_err(|e| e.to_string())?
            }
            other => {
                return Err(format!(
                    "redirect from \"{}\": status {other} is not a redirect — use 301, 302, 307 or 308",
                    rc.from
                ));
            }
        };
        if rc.to.is_empty() {
            return Err(format!("redirect from \"{}\" has an empty target", rc.from));
        }
        // A capture in the host part could send clients to any host
        // (`https://new.example$1` with `.evil.com`).
        let authority = rc
            .to
            .strip_prefix("https://")
            .or_else(|| rc.to.strip_prefix("http://"))
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(rest));
        if authority.is_some_and(|a| a.contains('$')) {
            return Err(format!(
                "redirect to \"{}\": a capture in the host part could send clients anywhere — keep captures after the first / of the path",
                rc.to
            ));
        }
        if !rc.to.starts_with('/') && authority.is_none() {
            return Err(format!(
                "redirect to \"{}\" must be a path starting with / or an http(s):// URL",
                rc.to
            ));
        }
        Ok(Redirect {
            from,
            to: rc.to.clone(),
            status,
        })
    }
}

impl Rewrite {
    pub fn compile(rc: &RewriteConfig) -> Result<Rewrite, String> {
        let from = Regex::new(&rc.from)
            .map_err(|e| format!("rewrite from \"{}\": {}", rc.from, one_line(&e)))?;
        if !rc.to.starts_with('/') {
            return Err(format!(
                "rewrite to \"{}\" must be a path starting with / (a redirect takes URLs)",
                rc.to
            ));
        }
        Ok(Rewrite {
            from,
            to: rc.to.clone(),
        })
    }

    /// The path and query the upstream gets for `path` (and `query`),
    /// when the rewrite matches.
    pub fn apply(&self, path: &str, query: Option<&str>) -> Option<String> {
        let caps = self.from.captures(path)?;
        let mut out = String::new();
        caps.expand(&self.to, &mut out);
        Some(with_query(&single_leading_slash(&out), query))
    }
}

/// Replaces the request's path and query with `target` (a rewrite's).
pub fn set_target<B>(req: &mut http::Request<B>, target: &str) {
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = http::uri::PathAndQuery::try_from(target) {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

/// The regex crate's error on one line (it spans several, with a caret).
fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `//evil.example/x` as a relative target would leave the site
/// (protocol-relative); a capture could produce it from `/%2F…` or `//…`.
fn single_leading_slash(path: &str) -> std::borrow::Cow<'_, str> {
    if path.starts_with("//") || path.starts_with("/\\") {
        format!("/{}", path.trim_start_matches(['/', '\\'])).into()
    } else {
        path.into()
    }
}

/// `target` with the original `query` added: appended after `&` when
/// the target has a query of its own, as nginx does.
fn with_query(target: &str, query: Option<&str>) -> String {
    match query.filter(|q| !q.is_empty()) {
        None => target.to_string(),
        Some(q) if target.contains('?') => format!("{target}&{q}"),
        Some(q) => format!("{target}?{q}"),
    }
}

/// Where the first matching rule sends `path` (and `query`), and its
/// status.
pub fn redirect<'r>(
    rules: &'r [Redirect],
    path: &str,
    query: Option<&str>,
) -> Option<(String, &'r Redirect)> {
    rules.iter().find_map(|rule| {
        let caps = rule.from.captures(path)?;
        let mut out = String::new();
        caps.expand(&rule.to, &mut out);
        let target = if out.starts_with('/') {
            single_leading_slash(&out).to_string()
        } else {
            out
        };
        Some((with_query(&target, query), rule))
    })
}

/// The trailing-slash policy's redirect target for `path`, if it wants
/// one (never protocol-relative: `//evil/` stays on the site).
pub fn slash(policy: TrailingSlash, path: &str) -> Option<String> {
    slash_of_path(policy, path).map(|p| single_leading_slash(&p).into_owned())
}

fn slash_of_path(policy: TrailingSlash, path: &str) -> Option<String> {
    match policy {
        TrailingSlash::Add => {
            let last = path.rsplit('/').next().unwrap_or("");
            // A file name (with a dot) is left alone.
            (!path.ends_with('/') && !last.contains('.')).then(|| format!("{path}/"))
        }
        TrailingSlash::Remove => (path.len() > 1 && path.ends_with('/'))
            .then(|| path.trim_end_matches('/').to_string())
            .map(|p| if p.is_empty() { "/".to_string() } else { p }),
    }
}

/// What decides where one of a site's paths is redirected, for loop
/// detection: its rules, and each route's prefix and slash policy.
pub struct Site<'a> {
    pub names: &'a [String],
    pub redirects: &'a [Redirect],
    pub routes: Vec<(&'a str, Option<TrailingSlash>)>,
}

/// Pure: the first redirect loop the configuration shows: the index of
/// the rule it starts from, and the loop in words.
/// Each rule's target (its captures filled with `x`) is followed through
/// the rules and slash policies for up to 16 redirects; a path seen twice
/// is a loop. A target on another host ends the walk.
pub fn find_loop(site: &Site<'_>) -> Option<(usize, String)> {
    for (index, start) in site.redirects.iter().enumerate() {
        let Some(mut path) = sample(start, site.names) else {
            continue;
        };
        let mut seen = vec![path.clone()];
        for _ in 0..16 {
            let next = match redirect(site.redirects, &path, None) {
                Some((target, rule)) => same_site(&target, site.names)
                    .map(|p| (p, format!("redirect from \"{}\"", rule.from.as_str()))),
                None => slash_of(site, &path).map(|p| (p, "trailing_slash".to_string())),
            };
            let Some((next, by)) = next else { break };
            if seen.contains(&next) {
                return Some((
                    index,
                    format!(
                        "redirect from \"{}\" loops: {} → {next} ({by}) comes back — change a target or a pattern",
                        start.from.as_str(),
                        seen.join(" → "),
                    ),
                ));
            }
            seen.push(next.clone());
            path = next;
        }
    }
    None
}

/// The trailing-slash redirect of the route that takes `path`.
fn slash_of(site: &Site<'_>, path: &str) -> Option<String> {
    let i =
        crate::proxy::request::routing::longest_prefix(site.routes.iter().map(|(p, _)| *p), path)?;
    slash(site.routes[i].1?, path)
}

/// The path a rule's target leads to on this site, captures as `x`; None
/// when it leaves the site.
fn sample(rule: &Redirect, names: &[String]) -> Option<String> {
    let filled = Regex::new(r"\$(\d+|\{[A-Za-z0-9_]+\})")
        .ok()?
        .replace_all(&rule.to, "x")
        .into_owned();
    same_site(&filled, names)
}

/// The path of `target` when it stays on the site (a relative path, or a
/// URL naming one of its names).
fn same_site(target: &str, names: &[String]) -> Option<String> {
    let target = target.split(['?', '#']).next().unwrap_or(target);
    if target.starts_with('/') {
        return Some(target.to_string());
    }
    let rest = target
        .strip_prefix("https://")
        .or_else(|| target.strip_prefix("http://"))?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .to_ascii_lowercase();
    names.contains(&host).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: &str, to: &str) -> Redirect {
        Redirect::compile(&RedirectConfig {
            from: from.into(),
            to: to.into(),
            status: 301,
        })
        .unwrap()
    }

    #[test]
    fn redirects_fill_captures_and_keep_the_query() {
        let rules = [
            rule("^/old/(.*)$", "/new/$1"),
            rule(
                "^/blog/(?P<slug>[a-z-]+)$",
                "https://blog.example/${slug}?ref=site",
            ),
        ];
        let (to, r) = redirect(&rules, "/old/a/b", Some("x=1")).unwrap();
        assert_eq!(to, "/new/a/b?x=1");
        assert_eq!(r.status, 301);
        let (to, _) = redirect(&rules, "/blog/hello-world", Some("y=2")).unwrap();
        assert_eq!(to, "https://blog.example/hello-world?ref=site&y=2");
        assert!(redirect(&rules, "/other", None).is_none());
    }

    #[test]
    fn a_capture_in_a_targets_host_or_a_bare_target_is_refused() {
        let compile = |to: &str| {
            Redirect::compile(&RedirectConfig {
                from: "^/old(.*)$".into(),
                to: to.into(),
                status: 301,
            })
        };
        assert!(
            compile("https://new.example$1")
                .unwrap_err()
                .contains("host part")
        );
        assert!(compile("https://$1/x").is_err());
        assert!(compile("https://new.example/$1").is_ok());
        assert!(
            compile("new.example/$1")
                .unwrap_err()
                .contains("must be a path")
        );
    }

    #[test]
    fn a_capture_cannot_turn_a_path_into_another_host() {
        let rules = [rule("^/go/(.*)$", "/$1")];
        let (to, _) = redirect(&rules, "/go//evil.example/x", None).unwrap();
        assert_eq!(to, "/evil.example/x");
        let (to, _) = redirect(&rules, "/go/\\evil.example", None).unwrap();
        assert_eq!(to, "/evil.example");
    }

    #[test]
    fn rewrites_change_the_path_and_keep_the_query() {
        let r = Rewrite::compile(&RewriteConfig {
            from: "^/api/v1/(.*)$".into(),
            to: "/v2/$1".into(),
        })
        .unwrap();
        assert_eq!(
            r.apply("/api/v1/users/7", Some("q=1")).unwrap(),
            "/v2/users/7?q=1"
        );
        assert_eq!(r.apply("/api/v1/x", None).unwrap(), "/v2/x");
        assert!(r.apply("/api/v2/x", None).is_none());
        assert!(
            Rewrite::compile(&RewriteConfig {
                from: "(".into(),
                to: "/x".into()
            })
            .unwrap_err()
            .contains("rewrite from \"(\"")
        );
    }

    #[test]
    fn trailing_slashes_are_added_or_removed() {
        assert_eq!(
            slash(TrailingSlash::Add, "/docs").as_deref(),
            Some("/docs/")
        );
        assert_eq!(slash(TrailingSlash::Add, "/docs/"), None);
        assert_eq!(slash(TrailingSlash::Add, "/docs/a.pdf"), None);
        assert_eq!(
            slash(TrailingSlash::Remove, "/docs/").as_deref(),
            Some("/docs")
        );
        assert_eq!(slash(TrailingSlash::Remove, "/"), None);
        // Never a protocol-relative target.
        assert_eq!(
            slash(TrailingSlash::Add, "//evil.example/x").as_deref(),
            Some("/evil.example/x/")
        );
        assert_eq!(
            slash(TrailingSlash::Remove, "/\\evil.example/").as_deref(),
            Some("/evil.example")
        );
    }

    #[test]
    fn loops_the_configuration_shows_are_found() {
        let names = vec!["a.example".to_string(), "www.a.example".to_string()];
        let site = |redirects: &'static [(&str, &str)],
                    routes: Vec<(&'static str, Option<TrailingSlash>)>| {
            let rules: Vec<Redirect> = redirects.iter().map(|(f, t)| rule(f, t)).collect();
            (rules, routes)
        };
        let check = |rules: &[Redirect], routes: Vec<(&'static str, Option<TrailingSlash>)>| {
            find_loop(&Site {
                names: &names,
                redirects: rules,
                routes,
            })
        };
        // To itself.
        let (r, routes) = site(&[("^/a(.*)$", "/a$1")], vec![]);
        assert!(check(&r, routes).unwrap().1.contains("loops"));
        // Two rules sending each other back, one through the full URL.
        let (r, routes) = site(
            &[("^/x$", "https://www.a.example/y"), ("^/y$", "/x")],
            vec![],
        );
        assert!(check(&r, routes).is_some());
        // A rule removing the slash a route adds.
        let (r, routes) = site(
            &[("^/docs/$", "/docs")],
            vec![("/docs", Some(TrailingSlash::Add))],
        );
        assert!(check(&r, routes).is_some());
        // Fine: a chain that ends, and a target on another host.
        let (r, routes) = site(
            &[
                ("^/old$", "/mid"),
                ("^/mid$", "/new"),
                ("^/ext/(.*)$", "https://other.example/$1"),
            ],
            vec![],
        );
        assert_eq!(check(&r, routes), None);
    }
}
