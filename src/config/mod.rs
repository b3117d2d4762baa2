//! `webtier.toml`: parsing, validation and the resolved model.
//!
//! Loading is pure apart from reading the file and checking that the files
//! it names exist; everything that touches the wider environment (AWS,
//! terminals, state) happens later, on the resolved [`Config`].

mod diagnostic;
mod model;
mod names;
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
/// resolved against its directory).
pub fn parse(file: &str, source: &str, path: &Path) -> Result<Config, Invalid> {
    let invalid = |problems| Invalid {
        file: file.to_string(),
        problems,
    };
    let deserializer = toml::Deserializer::parse(source).map_err(|e| {
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
    let raw: raw::RawConfig = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let message = diagnostic::describe_serde_error(e.path(), e.inner().message());
        invalid(vec![Diagnostic::at(
            file,
            source,
            e.inner().span(),
            message,
        )])
    })?;
    validate::resolve(raw, file, source, path).map_err(invalid)
}

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
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with(
                "w.toml:6:1: unknown key \"clientid\" in [site.auth] — did you mean \"client_id\"?"
            ),
            "{errs:?}"
        );
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
