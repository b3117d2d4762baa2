//! The questions `webtier init` asks on a terminal: only what neither a
//! flag nor detection answered, each checked as the configuration checks
//! it, so a typo is asked again rather than written.

use anyhow::Result;
use dialoguer::{Input, Select, theme::ColorfulTheme};

use super::Answers;
use crate::config::names;

/// Fills in what is missing. `detected_app`: an app found listening,
/// offered as the default upstream.
pub fn ask(a: &mut Answers, detected_app: Option<String>) -> Result<()> {
    let theme = ColorfulTheme::default();
    if a.domain.is_none() {
        let domain: String = Input::with_theme(&theme)
            .with_prompt("Domain of the site (e.g. app.example.com)")
            .validate_with(|s: &String| names::dns_name(s).map(|_| ()))
            .interact_text()?;
        a.domain = Some(domain.trim().to_string());
        let aliases: String = Input::with_theme(&theme)
            .with_prompt("Other names of the site, comma-separated (Enter: none)")
            .allow_empty(true)
            .validate_with(|s: &String| {
                split(s)
                    .iter()
                    .try_for_each(|n| names::dns_name(n).map(|_| ()))
            })
            .interact_text()?;
        a.aliases = split(&aliases);
    }
    if a.email.is_none() {
        let email: String = Input::with_theme(&theme)
            .with_prompt("Contact email for the certificate authority (Enter: none)")
            .allow_empty(true)
            .validate_with(|s: &String| {
                if s.trim().is_empty() {
                    Ok(())
                } else {
                    names::email(s.trim())
                }
            })
            .interact_text()?;
        a.email = Some(email.trim().to_string()).filter(|e| !e.is_empty());
    }
    if a.upstream.is_none() {
        let mut input = Input::with_theme(&theme)
            .with_prompt("Address of the app (HOST:PORT)")
            .validate_with(|s: &String| names::upstream(s.trim()).map(|_| ()));
        if let Some(app) = detected_app {
            input = input.default(app);
        }
        let upstream: String = input.interact_text()?;
        a.upstream = Some(upstream.trim().to_string());
    }
    if a.tls.is_none() {
        let choices = [
            (
                "acme",
                "HTTPS with a certificate from Let's Encrypt (ACME, free)",
            ),
            (
                "acm-export",
                "HTTPS with a certificate from AWS Certificate Manager, served here (AWS charges per issuance and renewal)",
            ),
            (
                "acm-managed",
                "A certificate in AWS Certificate Manager for a load balancer or CloudFront in front (this machine serves plain HTTP behind it)",
            ),
            ("none", "Plain HTTP only"),
        ];
        let pick = Select::with_theme(&theme)
            .with_prompt("Certificates")
            .items(choices.iter().map(|c| c.1))
            .default(0)
            .interact()?;
        a.tls = Some(choices[pick].0.to_string());
    }
    Ok(())
}

/// Pure: comma- or space-separated names.
pub fn split(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_on_commas_and_spaces() {
        assert_eq!(
            split(" a.test, b.test  c.test,"),
            vec!["a.test", "b.test", "c.test"]
        );
        assert!(split("  ").is_empty());
    }
}
