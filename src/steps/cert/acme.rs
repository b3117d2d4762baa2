//! Talking to the ACME server (instant-acme): the account, created once and
//! reused, and orders — all authorizations made ready at once so the CA
//! validates them concurrently, polled with a short backoff, `badNonce`
//! retried transparently.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, CertificateIdentifier, ChallengeType,
    Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};

use std::collections::BTreeMap;

use super::dns01::{self, Dns01};
use super::http01::Http01;
use crate::certstore::Store;
use crate::config::{Acme, KeyType};
use crate::fsutil::atomic_write_with_mode;

const BAD_NONCE: &str = "urn:ietf:params:acme:error:badNonce";
/// How often one request is retried after `badNonce` (instant-acme already
/// retries each request twice itself).
const NONCE_RETRIES: u32 = 20;
const ORDER_TIMEOUT: Duration = Duration::from_secs(120);

fn is_bad_nonce(err: &instant_acme::Error) -> bool {
    matches!(err, instant_acme::Error::Api(p) if p.r#type.as_deref() == Some(BAD_NONCE))
}

/// Re-runs an ACME request while the server answers `badNonce`.
macro_rules! nonce_retry {
    ($call:expr) => {{
        let mut tries = 0;
        loop {
            match $call {
                Err(e) if is_bad_nonce(&e) && tries < NONCE_RETRIES => tries += 1,
                other => break other,
            }
        }
    }};
}

/// Runs `$body` for each authorization of `$order` (`continue` moves to
/// the next). A `badNonce` while fetching one starts the walk again from
/// the first; bodies skip what they have already done.
macro_rules! each_authorization {
    ($order:expr, $authz:ident => $body:block) => {{
        let mut restarts = 0;
        'walk: loop {
            let mut authorizations = $order.authorizations();
            while let Some(next) = authorizations.next().await {
                let mut $authz = match next {
                    Ok(a) => a,
                    Err(e) if is_bad_nonce(&e) && restarts < NONCE_RETRIES => {
                        restarts += 1;
                        continue 'walk;
                    }
                    Err(e) => return Err(acme_err("cannot fetch an authorization")(e)),
                };
                $body
            }
            break;
        }
    }};
}

/// An ACME error in plain words, with the problem document's type, detail
/// and the names it concerns.
pub fn describe(err: &instant_acme::Error) -> String {
    match err {
        instant_acme::Error::Api(p) => {
            let kind = p
                .r#type
                .as_deref()
                .unwrap_or("unknown")
                .trim_start_matches("urn:ietf:params:acme:error:");
            let mut text = match kind {
                "rateLimited" => {
                    "the CA's rate limit was reached; wait before retrying".to_string()
                }
                "unauthorized" => "the CA could not verify control of the name".to_string(),
                "connection" => "the CA could not connect to the server for validation".to_string(),
                "dns" => "the CA's DNS lookup failed".to_string(),
                "rejectedIdentifier" => "the CA will not issue for this name".to_string(),
                other => format!("the CA refused the request ({other})"),
            };
            if let Some(detail) = &p.detail {
                text.push_str(&format!(": {detail}"));
            }
            for sub in &p.subproblems {
                if let Some(id) = &sub.identifier {
                    text.push_str(&format!("; {id:?}"));
                }
                if let Some(detail) = &sub.detail {
                    text.push_str(&format!(" {detail}"));
                }
            }
            format!("{text} [{}]", p.r#type.as_deref().unwrap_or("no type"))
        }
        other => other.to_string(),
    }
}

fn acme_err(what: &str) -> impl FnOnce(instant_acme::Error) -> anyhow::Error + '_ {
    move |e| anyhow!("{what}: {}", describe(&e))
}

/// The account for `acme.directory`: loaded from the store, or created and
/// stored (0600) on first use.
pub async fn account(store: &Store, acme: &Acme) -> Result<Account> {
    let client = http_client(acme.ca_root.as_deref())?;
    let builder = || -> Result<_> { Ok(Account::builder_with_http(Box::new(client.clone()))) };
    let file = store.account_file(&acme.directory);
    if let Ok(text) = std::fs::read_to_string(&file) {
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
        &file,
        serde_json::to_string_pretty(&credentials)?.as_bytes(),
        0o600,
    )?;
    Ok(account)
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
fn http_client(ca_root: Option<&std::path::Path>) -> Result<AcmeClient> {
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

/// A new private key of the configured type (PEM) and a CSR for `names`.
pub fn key_and_csr(key: KeyType, names: &[String]) -> Result<(String, Vec<u8>)> {
    use rcgen::{
        KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, RsaKeySize,
    };
    let pair = match key {
        KeyType::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        KeyType::EcdsaP384 => KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384),
        KeyType::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048),
        KeyType::Rsa4096 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_4096),
    }
    .context("cannot generate the private key")?;
    let mut params =
        rcgen::CertificateParams::new(names.to_vec()).context("cannot build the CSR")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&pair)
        .context("cannot sign the CSR")?;
    Ok((pair.serialize_pem(), csr.der().to_vec()))
}

/// Who answers the challenges of an order.
pub enum Responder {
    Http(Http01),
    Dns(Dns01),
}

/// Runs one order for `names` and returns (certificate chain PEM, key PEM).
pub async fn order(
    account: &Account,
    acme: &Acme,
    names: &[String],
    replaces: Option<CertificateIdentifier<'static>>,
    responder: &mut Responder,
) -> Result<(String, String)> {
    let identifiers: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let mut new = NewOrder::new(&identifiers);
    if let Some(profile) = &acme.profile {
        new = new.profile(profile);
    }
    if let Some(old) = replaces {
        new = new.replaces(old);
    }
    let mut order =
        nonce_retry!(account.new_order(&new).await).map_err(acme_err("cannot create the order"))?;
    tracing::debug!("order created for {} name(s)", names.len());
    let kind = match responder {
        Responder::Http(_) => ChallengeType::Http01,
        Responder::Dns(_) => ChallengeType::Dns01,
    };

    // Pass 1: publish the response of every pending authorization.
    let mut pending: Vec<String> = Vec::new();
    let mut txt: BTreeMap<String, Vec<String>> = BTreeMap::new();
    each_authorization!(order, authz => {
        let name = authz.identifier().to_string();
        match authz.status {
            AuthorizationStatus::Pending if !pending.contains(&name) => {}
            AuthorizationStatus::Pending | AuthorizationStatus::Valid => continue,
            status => bail!("the authorization for {name} is {status:?}"),
        }
        let challenge = authz
            .challenge(kind.clone())
            .ok_or_else(|| anyhow!("the CA offers no {kind:?} challenge for {name}"))?;
        match responder {
            Responder::Http(http) => {
                http.add(&challenge.token, challenge.key_authorization().as_str())?
            }
            Responder::Dns(_) => txt
                .entry(dns01::record_name(&name))
                .or_default()
                .push(challenge.key_authorization().dns_value()),
        }
        pending.push(name);
    });
    if let Responder::Dns(dns) = responder {
        dns.publish(&txt).await?;
    }
    tracing::debug!("{} challenge response(s) in place", pending.len());

    // Pass 2: tell the CA every response is in place, all before polling,
    // so it validates them concurrently.
    let mut ready: Vec<String> = Vec::new();
    each_authorization!(order, authz => {
        let name = authz.identifier().to_string();
        if !pending.contains(&name) || ready.contains(&name) {
            continue;
        }
        let mut challenge = authz
            .challenge(kind.clone())
            .ok_or_else(|| anyhow!("the CA offers no {kind:?} challenge for {name}"))?;
        nonce_retry!(challenge.set_ready().await)
            .map_err(acme_err(&format!("cannot start validation of {name}")))?;
        ready.push(name);
    });

    tracing::debug!("validation requested for {} name(s)", ready.len());
    // Poll with a short backoff (and the CA's Retry-After when it sends
    // one); no fixed sleeps. A badNonce while polling just polls again.
    let policy = RetryPolicy::new()
        .initial_delay(Duration::from_millis(50))
        .backoff(1.5)
        .timeout(ORDER_TIMEOUT);
    match nonce_retry!(order.poll_ready(&policy).await) {
        Ok(OrderStatus::Ready | OrderStatus::Valid) => {}
        Ok(OrderStatus::Invalid) => return Err(failed_authorizations(&mut order, None).await),
        Ok(status) => bail!("the order ended in state {status:?}"),
        Err(instant_acme::Error::Api(problem)) => {
            return Err(failed_authorizations(&mut order, Some(problem)).await);
        }
        Err(instant_acme::Error::Timeout(_)) => {
            bail!(
                "the order was not ready within {}s",
                ORDER_TIMEOUT.as_secs()
            )
        }
        Err(e) => return Err(acme_err("cannot poll the order")(e)),
    }

    tracing::debug!("order ready");
    let (key_pem, csr) = key_and_csr(acme.key, names)?;
    if order.state().status == OrderStatus::Ready {
        nonce_retry!(order.finalize_csr(&csr).await)
            .map_err(acme_err("cannot finalize the order"))?;
    }
    tracing::debug!("order finalized");
    let chain = nonce_retry!(order.poll_certificate(&policy).await)
        .map_err(acme_err("cannot download the certificate"))?;
    tracing::debug!("certificate downloaded");
    Ok((chain, key_pem))
}

/// Why an order failed: each failed name with its challenge's problem,
/// else the order's own problem.
async fn failed_authorizations(
    order: &mut instant_acme::Order,
    order_problem: Option<instant_acme::Problem>,
) -> anyhow::Error {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        if authz.status == AuthorizationStatus::Invalid {
            let name = authz.identifier().to_string();
            for ch in &authz.challenges {
                if let Some(problem) = &ch.error {
                    reasons.push(format!(
                        "{name}: {}",
                        describe(&instant_acme::Error::Api(problem.clone()))
                    ));
                }
            }
        }
    }
    if reasons.is_empty() {
        match order_problem {
            Some(p) => anyhow!("{}", describe(&instant_acme::Error::Api(p))),
            None => anyhow!("the CA marked the order invalid"),
        }
    } else {
        anyhow!("validation failed: {}", reasons.join("; "))
    }
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

/// The ARI identifier of the leaf of a PEM chain.
pub fn certificate_id(chain_pem: &str) -> Result<CertificateIdentifier<'static>> {
    let der = rustls_pki_types::CertificateDer::from(crate::certstore::leaf_der(chain_pem)?);
    CertificateIdentifier::try_from(&der)
        .map(|id| id.into_owned())
        .map_err(|e| anyhow!("cannot identify the certificate for ARI: {e}"))
}

/// Asks the CA when to renew (RFC 9773). `Ok(None)` when the CA's
/// directory offers no renewalInfo.
pub async fn renewal_window(
    account: &Account,
    chain_pem: &str,
) -> Result<Option<(instant_acme::RenewalInfo, Duration)>> {
    let id = certificate_id(chain_pem)?;
    match account.renewal_info(&id).await {
        Ok(found) => Ok(Some(found)),
        Err(instant_acme::Error::Unsupported(_)) => Ok(None),
        Err(e) => Err(acme_err("cannot fetch the renewal information")(e)),
    }
}
