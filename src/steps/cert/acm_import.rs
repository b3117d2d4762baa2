//! An ACME site's certificate kept imported in AWS Certificate Manager
//! (`[site.acm] import = true`, or once with `webtier cert
//! import-to-acm`), so that a load balancer or CloudFront can use it. The
//! first import is tagged; every renewal is re-imported to the same ARN,
//! so whatever uses the certificate gets the new one without a change.
//!
//! Observed: webtier's imported certificate for the site (by tag) and
//! whether its body is the store's live leaf. Change: import the live set.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::aws::Clients;
use crate::aws::acm;
use crate::certstore::{self, Store};
use crate::config::Config;

/// One site whose certificate is kept in ACM, as a plan file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportWanted {
    /// The site's domain.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Every ACME site with `[site.acm] import = true`.
pub fn wanted(config: &Config) -> Vec<ImportWanted> {
    config
        .sites
        .iter()
        .filter(|s| s.imports_to_acm())
        .map(for_site)
        .collect()
}

pub fn for_site(site: &crate::config::Site) -> ImportWanted {
    ImportWanted {
        name: site.domain.clone(),
        region: site.acm.as_ref().and_then(|a| a.region.clone()),
    }
}

#[derive(Debug, Serialize)]
pub struct ImportObserved {
    pub name: String,
    /// webtier's imported certificate for the site, if any.
    pub certificate: Option<acm::AcmCert>,
    /// Whether ACM holds the store's live certificate (None: nothing live).
    pub current: Option<bool>,
}

/// webtier's imported certificate for the site: the newest if there are
/// several (there should be one).
async fn find(
    client: &aws_sdk_acm::Client,
    config: &Config,
    name: &str,
) -> Result<Option<acm::AcmCert>> {
    let certs = acm::site_certificates(client, name, &config.dns.owner).await?;
    Ok(certs
        .into_iter()
        .filter(|c| c.kind == "IMPORTED")
        .max_by_key(|c| c.created_at))
}

/// The DER of the store's live leaf for `name`, if there is one.
fn live_leaf(config: &Config, name: &str) -> Result<Option<Vec<u8>>> {
    let store = Store::new(&config.state_dir);
    let Some(live) = store.live(name)? else {
        return Ok(None);
    };
    let pem = std::fs::read_to_string(live.dir.join("fullchain.pem"))?;
    Ok(Some(certstore::leaf_der(&pem)?))
}

/// Whether ACM's certificate at `arn` is the leaf `der`.
async fn holds(client: &aws_sdk_acm::Client, arn: &str, der: &[u8]) -> Result<bool> {
    let pem = acm::certificate_pem(client, arn).await?;
    Ok(certstore::leaf_der(&pem)? == der)
}

pub async fn observe(
    clients: &Clients,
    config: &Config,
    w: &ImportWanted,
) -> Result<ImportObserved> {
    let client = acm::client(clients, w.region.as_deref());
    let certificate = find(&client, config, &w.name).await?;
    let current = match (live_leaf(config, &w.name)?, &certificate) {
        (None, _) => None,
        (Some(_), None) => Some(false),
        (Some(der), Some(cert)) => Some(holds(&client, &cert.arn, &der).await?),
    };
    Ok(ImportObserved {
        name: w.name.clone(),
        certificate,
        current,
    })
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Imported {
    /// A first import: a new ARN.
    Created(String),
    /// The renewed certificate, re-imported to the same ARN.
    Reimported(String),
    /// ACM already holds the live certificate.
    Current(String),
}

impl Imported {
    pub fn arn(&self) -> &str {
        match self {
            Imported::Created(a) | Imported::Reimported(a) | Imported::Current(a) => a,
        }
    }
}

/// Imports the store's live certificate of `w.name` into ACM, or
/// re-imports it to webtier's ARN for the site; nothing when ACM holds it
/// already (unless `force`). The caller holds the store's lock.
pub async fn import(
    clients: &Clients,
    config: &Config,
    w: &ImportWanted,
    force: bool,
) -> Result<Imported> {
    let store = Store::new(&config.state_dir);
    let Some(live) = store.live(&w.name)? else {
        bail!(
            "{} has no live certificate to import into ACM — `webtier cert issue {}` issues one",
            w.name,
            w.name
        );
    };
    let read = |file: &str| std::fs::read_to_string(live.dir.join(file));
    let (leaf, chain, key) = (read("cert.pem")?, read("chain.pem")?, read("privkey.pem")?);
    let key = zeroize::Zeroizing::new(key);
    let client = acm::client(clients, w.region.as_deref());
    let mut existing = find(&client, config, &w.name).await?;
    if let Some(cert) = &existing
        && !force
        && holds(&client, &cert.arn, &certstore::leaf_der(&leaf)?).await?
    {
        return Ok(Imported::Current(cert.arn.clone()));
    }
    // ACM re-imports only a certificate with the same key type.
    let key_type = acm::key_algorithm_of(&live.info.key_type);
    if let Some(cert) = &existing
        && cert.key_algorithm.is_some()
        && cert.key_algorithm.as_deref() != key_type
    {
        tracing::warn!(
            "{}: the certificate's key type changed ({} → {}), which ACM cannot re-import to {}; importing it as a new certificate — point what uses {} at the new ARN, then delete the old one",
            w.name,
            cert.key_algorithm.as_deref().unwrap_or("?"),
            key_type.unwrap_or("?"),
            cert.arn,
            cert.arn
        );
        existing = None;
    }
    let arn = acm::import(
        &client,
        existing.as_ref().map(|c| c.arn.as_str()),
        &leaf,
        &chain,
        &key,
        acm::tags(&w.name, &config.dns.owner)?,
    )
    .await?;
    Ok(match existing {
        Some(_) => Imported::Reimported(arn),
        None => Imported::Created(arn),
    })
}
