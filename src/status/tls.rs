//! `tls`: the proxy serves the store's live certificate for each of the
//! site's names. A TLS handshake on loopback to the configured HTTPS port
//! with the name as SNI; the leaf the proxy presents must be the live
//! certificate's, byte for byte (a proxy that has not reloaded since a
//! renewal serves the old one).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::Check;
use crate::certstore::{self, Store};
use crate::config::{Config, Site};

pub const NAME: &str = "tls";

const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn check(config: &Config, site: &Site) -> Check {
    let store = Store::new(&config.state_dir);
    let fullchain = store.live_files(&site.domain).fullchain;
    let expected = match std::fs::read_to_string(&fullchain)
        .map_err(anyhow::Error::from)
        .and_then(|pem| certstore::leaf_der(&pem))
    {
        Ok(der) => der,
        Err(e) => {
            return Check::fail(
                NAME,
                format!(
                    "no live certificate to compare with ({}: {e:#})",
                    fullchain.display()
                ),
            );
        }
    };
    let addr = SocketAddr::new(loopback(&config.proxy.bind), config.proxy.https_port);
    let mut served = Vec::new();
    for name in site.names() {
        match handshake(addr, name).await {
            Ok(leaf) if leaf == expected => served.push(name),
            Ok(leaf) => {
                return Check::fail(
                    NAME,
                    format!(
                        "https://{addr} serves {name} another certificate ({}) than the live one ({}) — `webtier proxy reload` loads it",
                        describe(&leaf),
                        describe(&expected)
                    ),
                );
            }
            Err(e) => {
                return Check::fail(
                    NAME,
                    format!("no TLS handshake with https://{addr} for {name}: {e}"),
                );
            }
        }
    }
    Check::pass(
        NAME,
        format!(
            "https://{addr} serves the live certificate ({}) for {}",
            describe(&expected),
            served.join(", ")
        ),
    )
}

/// Pure: the address to reach listeners bound to `bind` from this host:
/// loopback when they listen on all addresses or on loopback, else the
/// first bound address.
pub fn loopback(bind: &[IpAddr]) -> IpAddr {
    let v4 = bind
        .iter()
        .any(|ip| *ip == IpAddr::V4(Ipv4Addr::UNSPECIFIED) || ip.is_loopback() && ip.is_ipv4());
    let v6 = bind
        .iter()
        .any(|ip| *ip == IpAddr::V6(Ipv6Addr::UNSPECIFIED) || ip.is_loopback() && ip.is_ipv6());
    match (v4, v6, bind.first()) {
        (true, _, _) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        (false, true, _) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        (false, false, Some(ip)) => *ip,
        (false, false, None) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// `serial 0a1b…, names a.example, www.a.example`.
fn describe(der: &[u8]) -> String {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => {
            let names = crate::certstore::dns_names(&cert);
            format!(
                "serial {}, names {}",
                cert.raw_serial_as_string(),
                names.join(", ")
            )
        }
        Err(_) => "a certificate that does not parse".into(),
    }
}

/// The leaf certificate the server at `addr` presents for `sni`.
async fn handshake(addr: SocketAddr, sni: &str) -> Result<Vec<u8>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let recorder = Arc::new(Recorder {
        provider: Arc::clone(&provider),
        leaf: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(sni.to_string()).map_err(|e| e.to_string())?;
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                _ => e.to_string(),
            })?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    };
    match tokio::time::timeout(TIMEOUT, attempt).await {
        Ok(result) => result?,
        Err(_) => return Err(format!("no handshake within {} s", TIMEOUT.as_secs())),
    }
    recorder
        .leaf
        .lock()
        .map_err(|_| "poisoned".to_string())?
        .take()
        .ok_or_else(|| "the server presented no certificate".to_string())
}

/// Takes note of the leaf the server presents instead of judging it by a
/// trust store: the check compares it with the live certificate, which
/// is stricter than any chain validation. Signatures are still verified,
/// so the server holds the key of what it presents.
#[derive(Debug)]
struct Recorder {
    provider: Arc<CryptoProvider>,
    leaf: Mutex<Option<Vec<u8>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut leaf) = self.leaf.lock() {
            *leaf = Some(end_entity.to_vec());
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_reached_on_loopback_when_they_listen_there() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(loopback(&[ip("0.0.0.0"), ip("::")]), ip("127.0.0.1"));
        assert_eq!(loopback(&[ip("::")]), ip("::1"));
        assert_eq!(loopback(&[ip("127.0.0.1")]), ip("127.0.0.1"));
        assert_eq!(loopback(&[ip("10.0.0.5")]), ip("10.0.0.5"));
    }
}
