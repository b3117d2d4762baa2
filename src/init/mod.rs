//! `webtier init`: the answers a first configuration needs, from flags,
//! from what this machine tells (`detect`) and, on a terminal, from the
//! user (`wizard`); and the `webtier.toml` they make. The command itself
//! (`commands::init`) writes the file and runs the whole pipeline.

pub mod detect;
pub mod wizard;

use anyhow::{Result, bail};
use minijinja::{Environment, context};

const TEMPLATE: &str = include_str!("../../templates/webtier.toml.init");

/// What `webtier.toml` is made from. Each field is validated by
/// `config::load` once rendered, so the file never holds what the
/// configuration would refuse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub domain: Option<String>,
    pub aliases: Vec<String>,
    pub email: Option<String>,
    /// `HOST:PORT` of the app.
    pub upstream: Option<String>,
    /// `self` or an instance id.
    pub instance: Option<String>,
    /// `acme`, `acm-export`, `acm-managed` or `none`.
    pub tls: Option<String>,
    pub region: Option<String>,
    pub acme_directory: Option<String>,
    pub ca_root: Option<String>,
}

impl Answers {
    /// The answers that are still missing, as the flags that give them.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.domain.is_none() {
            out.push("--domain");
        }
        if self.upstream.is_none() {
            out.push("--upstream");
        }
        out
    }
}

/// A TOML string literal.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Pure: the configuration file the answers make.
pub fn render(a: &Answers) -> Result<String> {
    let (Some(domain), Some(upstream)) = (&a.domain, &a.upstream) else {
        bail!("init needs {}", a.missing().join(" and "));
    };
    let mut env = Environment::new();
    env.add_template("webtier.toml", TEMPLATE)?;
    let q = |o: &Option<String>| o.as_deref().map(quote);
    let (tls, acm_mode) = match a.tls.as_deref().unwrap_or("acme") {
        "acm-export" => ("acm", Some("export")),
        "acm-managed" => ("acm", Some("managed")),
        other => (other, None),
    };
    let text = env.get_template("webtier.toml")?.render(context! {
        region => q(&a.region),
        instance => quote(a.instance.as_deref().unwrap_or("self")),
        directory => q(&a.acme_directory),
        ca_root => q(&a.ca_root),
        email => q(&a.email),
        domain => quote(domain),
        aliases => a.aliases.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", "),
        tls => quote(tls),
        acm_mode => acm_mode.map(quote),
        upstream => quote(upstream),
    })?;
    // Blank lines left by the template's conditionals: at most one in a row.
    let mut out = String::new();
    let mut blank = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !blank && !out.is_empty() {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> Answers {
        Answers {
            domain: Some("app.example.com".into()),
            aliases: vec!["www.example.com".into()],
            email: Some("ops@example.com".into()),
            upstream: Some("127.0.0.1:8000".into()),
            ..Answers::default()
        }
    }

    #[test]
    fn the_file_parses_back_to_the_answers() {
        let text = render(&answers()).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(doc["target"]["instances"][0].as_str(), Some("self"));
        assert_eq!(doc["acme"]["email"].as_str(), Some("ops@example.com"));
        let site = &doc["site"][0];
        assert_eq!(site["domain"].as_str(), Some("app.example.com"));
        assert_eq!(site["aliases"][0].as_str(), Some("www.example.com"));
        assert_eq!(site["tls"].as_str(), Some("acme"));
        assert_eq!(site["upstreams"][0].as_str(), Some("127.0.0.1:8000"));
        assert!(doc.get("aws").is_none());
        assert!(!text.contains("\n\n\n"), "{text}");
    }

    #[test]
    fn values_are_quoted_as_toml_so_nothing_escapes_its_string() {
        let mut a = answers();
        a.email = Some("a\"b\n[x]@example.com".into());
        let text = render(&a).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(doc["acme"]["email"].as_str(), Some("a\"b\n[x]@example.com"));
        assert!(doc.get("x").is_none());
    }

    #[test]
    fn what_is_missing_is_named_by_its_flag() {
        let a = Answers::default();
        assert_eq!(a.missing(), vec!["--domain", "--upstream"]);
        assert_eq!(
            render(&a).unwrap_err().to_string(),
            "init needs --domain and --upstream"
        );
    }

    #[test]
    fn acm_answers_make_a_site_with_its_mode() {
        for (tls, mode) in [("acm-export", "export"), ("acm-managed", "managed")] {
            let text = render(&Answers {
                tls: Some(tls.into()),
                ..answers()
            })
            .unwrap();
            let config =
                crate::config::parse("webtier.toml", &text, std::path::Path::new("/w.toml"))
                    .unwrap_or_else(|e| panic!("{tls}: {e:?}\n{text}"));
            let site = &config.sites[0];
            assert_eq!(site.tls, crate::config::Tls::Acm, "{text}");
            assert_eq!(
                site.acm_mode()
                    .map(|m| format!("{m:?}").to_ascii_lowercase()),
                Some(mode.to_string())
            );
        }
    }
}
