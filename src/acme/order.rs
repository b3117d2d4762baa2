//! Orders: every pending authorization answered first, then all made
//! ready at once so the CA validates them concurrently, polled with a
//! short backoff, finalized with a fresh key.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, ChallengeType, Identifier, NewOrder,
    Order, OrderStatus, RetryPolicy,
};

use super::dns01::{self, Dns01};
use super::error::{NONCE_RETRIES, acme_err, describe, is_bad_nonce, nonce_retry};
use super::http01::Http01;
use crate::config::{Acme, KeyType};

const ORDER_TIMEOUT: Duration = Duration::from_secs(120);

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

/// A new private key of the configured type (PEM) and a CSR for `names`.
fn key_and_csr(key: KeyType, names: &[String]) -> Result<(String, Vec<u8>)> {
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
    Dns(Box<Dns01>),
}

impl Responder {
    fn challenge_type(&self) -> ChallengeType {
        match self {
            Responder::Http(_) => ChallengeType::Http01,
            Responder::Dns(_) => ChallengeType::Dns01,
        }
    }
}

/// Runs one order for `names` and returns (certificate chain PEM, key PEM).
pub async fn order(
    account: &Account,
    acme: &Acme,
    names: &[String],
    replaces: Option<CertificateIdentifier<'static>>,
    responder: &mut Responder,
) -> Result<(String, String)> {
    let mut order = create(account, acme, names, replaces).await?;
    tracing::debug!("order created for {} name(s)", names.len());
    let pending = respond(&mut order, responder).await?;
    tracing::debug!("{} challenge response(s) in place", pending.len());
    let ready = request_validation(&mut order, responder.challenge_type(), &pending).await?;
    tracing::debug!("validation requested for {ready} name(s)");
    // Poll with a short backoff (and the CA's Retry-After when it sends
    // one); no fixed sleeps. A badNonce while polling just polls again.
    let policy = RetryPolicy::new()
        .initial_delay(Duration::from_millis(50))
        .backoff(1.5)
        .timeout(ORDER_TIMEOUT);
    wait_until_ready(&mut order, &policy).await?;
    tracing::debug!("order ready");
    finalize(&mut order, acme.key, names, &policy).await
}

/// A new order for `names`, with the configured profile and the
/// certificate it replaces (RFC 9773 §5), if any.
async fn create(
    account: &Account,
    acme: &Acme,
    names: &[String],
    replaces: Option<CertificateIdentifier<'static>>,
) -> Result<Order> {
    let identifiers: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let mut new = NewOrder::new(&identifiers);
    if let Some(profile) = &acme.profile {
        new = new.profile(profile);
    }
    if let Some(old) = replaces {
        new = new.replaces(old);
    }
    nonce_retry!(account.new_order(&new).await).map_err(acme_err("cannot create the order"))
}

/// Pass 1: publishes the response of every pending authorization (dns-01
/// values all at once, after the walk). Returns the names that were pending.
async fn respond(order: &mut Order, responder: &mut Responder) -> Result<Vec<String>> {
    let kind = responder.challenge_type();
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
    Ok(pending)
}

/// Pass 2: tells the CA every response is in place, all before polling,
/// so it validates them concurrently. Returns how many it was told about.
async fn request_validation(
    order: &mut Order,
    kind: ChallengeType,
    pending: &[String],
) -> Result<usize> {
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
    Ok(ready.len())
}

/// Polls until the CA has validated every name; a failure names each
/// failed name with its reason.
async fn wait_until_ready(order: &mut Order, policy: &RetryPolicy) -> Result<()> {
    match nonce_retry!(order.poll_ready(policy).await) {
        Ok(OrderStatus::Ready | OrderStatus::Valid) => Ok(()),
        Ok(OrderStatus::Invalid) => Err(failed_authorizations(order, None).await),
        Ok(status) => bail!("the order ended in state {status:?}"),
        Err(instant_acme::Error::Api(problem)) => {
            Err(failed_authorizations(order, Some(problem)).await)
        }
        Err(instant_acme::Error::Timeout(_)) => {
            bail!(
                "the order was not ready within {}s",
                ORDER_TIMEOUT.as_secs()
            )
        }
        Err(e) => Err(acme_err("cannot poll the order")(e)),
    }
}

/// A new key and CSR, the order finalized with it (unless the CA already
/// did), and the certificate downloaded: (chain PEM, key PEM).
async fn finalize(
    order: &mut Order,
    key: KeyType,
    names: &[String],
    policy: &RetryPolicy,
) -> Result<(String, String)> {
    let (key_pem, csr) = key_and_csr(key, names)?;
    if order.state().status == OrderStatus::Ready {
        nonce_retry!(order.finalize_csr(&csr).await)
            .map_err(acme_err("cannot finalize the order"))?;
    }
    tracing::debug!("order finalized");
    let chain = nonce_retry!(order.poll_certificate(policy).await)
        .map_err(acme_err("cannot download the certificate"))?;
    tracing::debug!("certificate downloaded");
    Ok((chain, key_pem))
}

/// Why an order failed: each failed name with its challenge's problem,
/// else the order's own problem.
async fn failed_authorizations(
    order: &mut Order,
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
