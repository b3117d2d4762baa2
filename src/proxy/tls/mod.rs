//! TLS termination: certificates loaded from the live files, chosen by SNI
//! through the current state, so a reload swaps them for new handshakes
//! while open connections keep theirs.

pub mod leaf;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::proxy::config::TlsFiles;
use crate::proxy::request::routing::Names;
use crate::proxy::state::State;
use leaf::Leaf;

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A site's chain and key as loaded: ready to serve when there is no
/// problem; the warnings either way (see [`leaf`]).
pub struct Loaded {
    /// Every problem found, each a line saying what to fix.
    pub key: Result<CertifiedKey, Vec<String>>,
    pub warnings: Vec<String>,
}

/// Loads the chain and key of a site with `names`, checked as [`leaf`]
/// says and the key matched to the leaf. `now`: seconds since the epoch.
pub fn load_certificate(files: &TlsFiles, names: &[String], now: i64) -> Loaded {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let chain = read_chain(&files.cert);
    let mut leaf_parses = false;
    if let Ok(chain) = &chain {
        match Leaf::parse(&chain[0]) {
            Ok(leaf) => {
                leaf_parses = true;
                let (errors, warned) = leaf::check(&leaf, &files.cert, names, now);
                problems.extend(errors);
                warnings.extend(warned);
            }
            Err(e) => problems.push(format!(
                "the first certificate in {} does not parse ({e}) — replace it with the site's certificate",
                files.cert.display()
            )),
        }
    }
    let key = match (chain, read_key(&files.key)) {
        (Ok(chain), Ok(private)) if leaf_parses => {
            match CertifiedKey::from_der(chain, private, &provider()) {
                Ok(key) => Some(key),
                Err(rustls::Error::InconsistentKeys(_)) => {
                    problems.push(format!(
                        "private key {} does not match certificate {} — install the key the certificate was issued for",
                        files.key.display(),
                        files.cert.display()
                    ));
                    None
                }
                Err(e) => {
                    problems.push(format!(
                        "private key {} cannot be used ({e}) — use an ECDSA, Ed25519 or RSA key",
                        files.key.display()
                    ));
                    None
                }
            }
        }
        (chain, private) => {
            problems.extend(chain.err());
            problems.extend(private.err());
            None
        }
    };
    let key = match key {
        Some(key) if problems.is_empty() => Ok(key),
        _ => Err(problems),
    };
    Loaded { key, warnings }
}

/// The PEM chain in `path`, at least one certificate.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path, "certificate", "issue it (`webtier cert issue`)")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "{} is not a PEM certificate chain ({e}) — put the site's certificate chain there, leaf first",
                path.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate — put the site's certificate chain there, leaf first",
            path.display()
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read(
        path,
        "private key",
        "install the key the certificate was issued for",
    )?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        format!(
            "{} holds no PEM private key — put the certificate's private key there",
            path.display()
        )
    })
}

/// A file's bytes; a missing one says `fix`, or to correct the path.
fn read(path: &Path, what: &str, fix: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{what} {} does not exist — {fix}, or correct the path in the site's tls",
            path.display()
        ),
        _ => format!(
            "cannot read {what} {}: {e} — let the proxy's user read it",
            path.display()
        ),
    })
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

    /// `name` gets no certificate, not even another site's wildcard: its
    /// site is refused, and a handshake for it fails.
    pub fn refuse(&mut self, name: &str) {
        self.names.refuse(name);
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
