//! The ACME account: loaded from its file or created once, over an HTTPS
//! client of our own; revocation, which needs it.

use std::path::Path;

use anyhow::{Context, Result, bail};
use instant_acme::{Account, AccountCredentials, NewAccount};

use super::error::{NONCE_RETRIES, acme_err, is_bad_nonce, nonce_retry};
use crate::config::Acme;
use crate::fsutil::atomic_write_with_mode;

/// The account for `acme.directory`: loaded from `file`, or created and
/// saved there (0600) on first use.
pub async fn account(file: &Path, acme: &Acme) -> Result<Account> {
    let client = http_client(acme.ca_root.as_deref())?;
    let builder = || -> Result<_> {
        Ok(Account::builder_with_http(Box::new(AcmeHttp(
            client.clone(),
        ))))
    };
    if let Ok(text) = std::fs::read_to_string(file) {
        let credentials: AccountCredentials = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an ACME account file", file.display()))?;
        return builder()?
            .from_credentials(credentials)
            .await
            .map_err(acme_err("cannot load the ACME account"));
    }
    let contact = acme.email.as_ref().map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contacts,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let eab = match &acme.eab {
        None => None,
        Some(eab) => {
            use base64::Engine;
            let text = std::fs::read_to_string(&eab.hmac_key_file).with_context(|| {
                format!("cannot read the EAB key {}", eab.hmac_key_file.display())
            })?;
            let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.trim().trim_end_matches('='))
                .with_context(|| {
                    format!(
                        "{} does not hold a base64url HMAC key",
                        eab.hmac_key_file.display()
                    )
                })?;
            Some(instant_acme::ExternalAccountKey::new(eab.kid.clone(), &key))
        }
    };
    let mut tries = 0;
    let (account, credentials) = loop {
        match builder()?
            .create(&new, acme.directory.clone(), eab.as_ref())
            .await
        {
            Err(e) if is_bad_nonce(&e) && tries < NONCE_RETRIES => tries += 1,
            other => {
                break other.map_err(acme_err(&format!(
                    "cannot create an ACME account at {}",
                    acme.directory
                )))?;
            }
        }
    };
    atomic_write_with_mode(
        file,
        serde_json::to_string_pretty(&credentials)?.as_bytes(),
        0o600,
    )?;
    Ok(account)
}

/// The HTTPS client for the ACME server, which says why it cannot reach
/// the server (hyper's own error is only "client error (Connect)").
#[derive(Clone)]
struct AcmeHttp(AcmeClient);

type Response = std::pin::Pin<
    Box<dyn Future<Output = Result<instant_acme::BytesResponse, instant_acme::Error>> + Send>,
>;

impl instant_acme::HttpClient for AcmeHttp {
    fn request(&self, req: http::Request<instant_acme::BodyWrapper<bytes::Bytes>>) -> Response {
        let host = req
            .uri()
            .authority()
            .map_or_else(String::new, |a| a.to_string());
        let sent = instant_acme::HttpClient::request(&self.0, req);
        Box::pin(async move {
            sent.await.map_err(|e| match e {
                instant_acme::Error::Other(inner) => match unreachable_cause(&*inner) {
                    Some(cause) => instant_acme::Error::Other(
                        anyhow::anyhow!("cannot reach the ACME server {host}: {cause}").into(),
                    ),
                    None => instant_acme::Error::Other(inner),
                },
                other => other,
            })
        })
    }
}

/// Why a connection failed, in words, when the error chain tells: name
/// resolution, the peer's answer, or TLS.
fn unreachable_cause(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    use std::io::ErrorKind;
    let tls = |e: &rustls::Error| match e {
        rustls::Error::InvalidCertificate(_) => format!("TLS verification failed ({e})"),
        _ => format!("TLS handshake failed ({e})"),
    };
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(tls(t));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let words = match io.kind() {
                ErrorKind::ConnectionRefused => Some("connection refused"),
                ErrorKind::TimedOut => Some("timed out"),
                ErrorKind::NetworkUnreachable => Some("network unreachable"),
                ErrorKind::HostUnreachable => Some("host unreachable"),
                ErrorKind::ConnectionReset => Some("connection reset"),
                _ => None,
            };
            if let Some(words) = words {
                return Some(words.to_string());
            }
            // Its source() skips the error it wraps (TLS errors come as
            // an io::Error in an io::Error).
            next = io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static));
            continue;
        }
        // hyper-util's resolver error: "dns error", the lookup's error under it.
        if e.to_string() == "dns error" {
            return Some(match e.source() {
                Some(why) => format!("name resolution failed ({why})"),
                None => "name resolution failed".to_string(),
            });
        }
        next = e.source();
    }
    None
}

type AcmeClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    instant_acme::BodyWrapper<bytes::Bytes>,
>;

/// The HTTPS client for the ACME server. instant-acme's built-in one
/// leaves Nagle's algorithm on: HTTP/2 writes a POST's HEADERS and DATA
/// frames separately, and the second then waits for the server's delayed
/// ACK — 40 ms on every ACME POST, more than a second for a 10-name order.
/// Trust: the system's verifier, or only `ca_root`'s certificates.
fn http_client(ca_root: Option<&Path>) -> Result<AcmeClient> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match ca_root {
        Some(root) => {
            let mut roots = rustls::RootCertStore::empty();
            for der in CertificateDer::pem_file_iter(root)
                .with_context(|| format!("cannot read ca_root {}", root.display()))?
            {
                let der = der.with_context(|| {
                    format!("ca_root {} is not a PEM certificate", root.display())
                })?;
                roots.add(der).with_context(|| {
                    format!("ca_root {} holds an unusable certificate", root.display())
                })?;
            }
            if roots.is_empty() {
                bail!("ca_root {} holds no certificate", root.display());
            }
            builder.with_tls_config(
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .context("the TLS provider offers no protocol versions")?
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        }
        None => builder
            .with_provider_and_platform_verifier(provider)
            .context("cannot load the system trust roots")?,
    };
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let connector = builder
        .https_only()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector),
    )
}

/// Revokes a certificate (DER) with the account that may.
pub async fn revoke(
    account: &Account,
    der: Vec<u8>,
    reason: instant_acme::RevocationReason,
) -> Result<()> {
    let certificate = rustls_pki_types::CertificateDer::from(der);
    let request = instant_acme::RevocationRequest {
        certificate: &certificate,
        reason: Some(reason),
    };
    nonce_retry!(account.revoke(&request).await).map_err(acme_err("the CA refused to revoke"))
}
