//! TLS termination: certificates loaded from the live files, chosen by SNI
//! through the current state, so a reload swaps them for new handshakes
//! while open connections keep theirs.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::proxy::request::routing::Names;
use crate::proxy::state::State;

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A chain and its key; refused when the key does not match the leaf.
pub fn load_key_pair(cert: &Path, key: &Path) -> Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    if chain.is_empty() {
        return Err(anyhow!("{} holds no certificate", cert.display()));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read private key {}", key.display()))?;
    CertifiedKey::from_der(chain, private, &provider())
        .with_context(|| format!("{} does not fit {}", key.display(), cert.display()))
}

/// The certificates of the TLS sites, by name.
#[derive(Default)]
pub struct Certs {
    names: Names,
    keys: Vec<Arc<CertifiedKey>>,
    soonest_expiry: Option<i64>,
}

impl Certs {
    pub fn add(&mut self, names: &[String], key: CertifiedKey) {
        let not_after = key
            .cert
            .first()
            .and_then(|der| x509_parser::parse_x509_certificate(der).ok())
            .map(|(_, c)| c.validity().not_after.timestamp());
        self.soonest_expiry = match (self.soonest_expiry, not_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let index = self.keys.len();
        self.keys.push(Arc::new(key));
        for name in names {
            self.names.insert(name, index);
        }
    }

    /// The certificate for an SNI name; without SNI, the first site's.
    pub fn lookup(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        match sni {
            Some(name) => self
                .names
                .lookup(&name.to_ascii_lowercase())
                .map(|i| Arc::clone(&self.keys[i])),
            None => self.keys.first().cloned(),
        }
    }

    /// The soonest `notAfter` (seconds since the epoch) among the loaded
    /// leaves, for the metrics page.
    pub fn soonest_expiry(&self) -> Option<i64> {
        self.soonest_expiry
    }
}

/// Picks the certificate from whatever state is current at handshake time.
pub struct SniResolver(pub Arc<ArcSwap<State>>);

impl fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SniResolver")
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.load().certs.lookup(hello.server_name())
    }
}

/// TLS 1.2 and 1.3 with rustls's default (modern, AEAD-only) suites, in
/// the server's order; ALPN h2 then http/1.1.
///
/// Resumption stays stateful (rustls's default: an in-memory session cache,
/// TLS 1.3 tickets that are only keys into it, no RFC 5077 tickets), so no
/// long-lived ticket key exists whose theft would open recorded sessions.
pub fn server_config(state: Arc<ArcSwap<State>>, resumption: bool) -> Result<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("the TLS provider offers no protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver(state)));
    // Every suite offered is forward-secret AEAD, so this only stops a
    // client from steering the choice; scanners (testssl.sh 3.0) rate a
    // server without its own order as a finding.
    config.ignore_client_order = true;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if !resumption {
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    Ok(config)
}
