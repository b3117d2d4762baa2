//! ACME Renewal Information (RFC 9773): when the CA suggests renewing a
//! certificate, and how to name the one an order replaces.

use std::time::Duration;

use anyhow::{Result, anyhow};
use instant_acme::{Account, CertificateIdentifier};

use super::error::acme_err;

/// The ARI identifier of a certificate (the DER of a chain's leaf).
pub fn certificate_id(leaf_der: &[u8]) -> Result<CertificateIdentifier<'static>> {
    let der = rustls_pki_types::CertificateDer::from(leaf_der);
    CertificateIdentifier::try_from(&der)
        .map(|id| id.into_owned())
        .map_err(|e| anyhow!("cannot identify the certificate for ARI: {e}"))
}

/// Asks the CA when to renew the certificate whose leaf is `leaf_der`
/// (RFC 9773). `Ok(None)` when the CA's directory offers no renewalInfo.
pub async fn renewal_window(
    account: &Account,
    leaf_der: &[u8],
) -> Result<Option<(instant_acme::RenewalInfo, Duration)>> {
    let id = certificate_id(leaf_der)?;
    match account.renewal_info(&id).await {
        Ok(found) => Ok(Some(found)),
        Err(instant_acme::Error::Unsupported(_)) => Ok(None),
        Err(e) => Err(acme_err("cannot fetch the renewal information")(e)),
    }
}
