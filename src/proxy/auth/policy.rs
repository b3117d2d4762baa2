//! Who may use a route: allow-lists by email, email domain or claim;
//! paths that need no login; bearer tokens' audience and scopes.

use crate::proxy::config::RouteAuth;

#[derive(Debug, Clone)]
pub struct Policy {
    /// Whole addresses, lower case.
    emails: Vec<String>,
    /// `@domain`, lower case, from `*@domain`.
    domains: Vec<String>,
    claims: Vec<(String, Vec<String>)>,
    public_paths: Vec<String>,
    pub login: bool,
    pub bearer_audience: Option<String>,
    pub bearer_scopes: Vec<String>,
}

impl Policy {
    pub fn new(config: &RouteAuth) -> Policy {
        let (mut emails, mut domains) = (Vec::new(), Vec::new());
        for pattern in &config.allowed_emails {
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_prefix('*') {
                Some(domain) => domains.push(domain.to_string()),
                None => emails.push(pattern),
            }
        }
        Policy {
            emails,
            domains,
            claims: config
                .allowed_claims
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            public_paths: config.public_paths.clone(),
            login: config.login,
            bearer_audience: config.bearer_audience.clone(),
            bearer_scopes: config.bearer_scopes.clone(),
        }
    }

    /// The claims this policy looks at (kept in sessions).
    pub fn claim_names(&self) -> impl Iterator<Item = &str> {
        self.claims.iter().map(|(k, _)| k.as_str())
    }

    /// Whether `path` needs no login.
    pub fn is_public(&self, path: &str) -> bool {
        self.public_paths.iter().any(|p| {
            if p.ends_with('/') {
                path.starts_with(p.as_str())
            } else {
                path == p
            }
        })
    }

    /// Whether the policy lists who may in (else, on a bearer-only route,
    /// the audience and scopes decide).
    pub fn has_lists(&self) -> bool {
        !(self.emails.is_empty() && self.domains.is_empty() && self.claims.is_empty())
    }

    /// Whether a user with this (verified) email and these claims may in.
    pub fn admits(&self, email: Option<&str>, claims: &[(String, Vec<String>)]) -> bool {
        if let Some(email) = email {
            let email = email.to_ascii_lowercase();
            if self.emails.contains(&email) {
                return true;
            }
            if let Some(at) = email.rfind('@')
                && self.domains.iter().any(|d| *d == email[at..])
            {
                return true;
            }
        }
        self.claims.iter().any(|(name, wanted)| {
            claims
                .iter()
                .find(|(n, _)| n == name)
                .is_some_and(|(_, have)| have.iter().any(|v| wanted.contains(v)))
        })
    }

    /// The required scopes a bearer token lacks.
    pub fn missing_scopes<'a>(&'a self, scopes: &[String]) -> Vec<&'a str> {
        self.bearer_scopes
            .iter()
            .filter(|s| !scopes.contains(s))
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(emails: &[&str], claims: &[(&str, &[&str])]) -> Policy {
        Policy::new(&RouteAuth {
            allowed_emails: emails.iter().map(|s| s.to_string()).collect(),
            allowed_claims: claims
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            public_paths: vec!["/healthz".into(), "/assets/".into()],
            ..RouteAuth::default()
        })
    }

    #[test]
    fn emails_domains_and_claims_let_users_in() {
        let p = policy(
            &["Alice@Example.com", "*@corp.example"],
            &[("groups", &["admins"])],
        );
        assert!(p.admits(Some("alice@example.com"), &[]));
        assert!(p.admits(Some("bob@corp.example"), &[]));
        assert!(
            !p.admits(Some("bob@evilcorp.example"), &[]),
            "a suffix is not the domain"
        );
        assert!(!p.admits(Some("bob@sub.corp.example"), &[]));
        assert!(!p.admits(Some("mallory@example.com"), &[]));
        assert!(!p.admits(None, &[]));
        let admins = vec![("groups".to_string(), vec!["users".into(), "admins".into()])];
        assert!(p.admits(None, &admins));
        let users = vec![("groups".to_string(), vec!["users".into()])];
        assert!(!p.admits(Some("eve@x.example"), &users));
    }

    #[test]
    fn public_paths_are_exact_or_a_directory() {
        let p = policy(&["a@b.c"], &[]);
        assert!(p.is_public("/healthz"));
        assert!(!p.is_public("/healthz/x"));
        assert!(!p.is_public("/healthzz"));
        assert!(p.is_public("/assets/app.js"));
        assert!(!p.is_public("/assets"));
    }
}
