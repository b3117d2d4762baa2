//! AWS Certificate Manager as webtier uses it: the certificates webtier
//! requested or imported (found by their tags, never by guessing), in a
//! plain form for planning; requests with DNS validation; exports, whose
//! private key is decrypted here with a passphrase that never leaves this
//! module; imports and re-imports to the same ARN.
//! Used by the `cert` step, `webtier cert …` and `webtier status`.

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_acm::primitives::Blob;
use aws_sdk_acm::types::{
    CertificateDetail, CertificateExport, CertificateOptions, CertificateStatus, Filters,
    KeyAlgorithm, Tag, ValidationMethod,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Clients, api_error};
use crate::config::{AcmMode, Config, Tls};

/// Every certificate webtier creates in ACM carries this tag…
pub const MANAGED_BY: (&str, &str) = ("managed-by", "webtier");
/// …and this one, naming the site (its domain) it is for.
pub const SITE_TAG: &str = "webtier-site";
/// …and this one, naming the webtier (`[dns] owner`) that made it.
pub const OWNER_TAG: &str = "webtier-owner";

/// A certificate in ACM, as webtier looks at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmCert {
    pub arn: String,
    /// ISSUED, PENDING_VALIDATION, FAILED, …
    pub status: String,
    /// The domain name and the subject alternative names: lowercase,
    /// sorted, each once.
    pub names: Vec<String>,
    /// AMAZON_ISSUED or IMPORTED.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_algorithm: Option<String>,
    pub exportable: bool,
    /// As ACM spells it (the same spelling on every call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_use_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_eligibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation: Vec<Validation>,
}

/// One name's DNS validation, as ACM asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub domain: String,
    /// The CNAME to create (lowercase, no trailing dot), once ACM has
    /// published it (it may take a few seconds after the request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<CnameRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CnameRecord {
    pub name: String,
    pub value: String,
}

impl AcmCert {
    /// Whether every validation record is known (ACM publishes them a
    /// few seconds after the request).
    pub fn records_published(&self) -> bool {
        !self.validation.is_empty() && self.validation.iter().all(|v| v.record.is_some())
    }

    /// The distinct validation records (a name and its wildcard share one).
    pub fn records(&self) -> Vec<CnameRecord> {
        let mut records: Vec<CnameRecord> = self
            .validation
            .iter()
            .filter_map(|v| v.record.clone())
            .collect();
        records.sort();
        records.dedup();
        records
    }

    /// ACM's reason for a FAILED certificate, in words.
    pub fn failure(&self) -> String {
        let reason = self.failure_reason.as_deref().unwrap_or("no reason given");
        let hint = match reason {
            "CAA_ERROR" => {
                " — a CAA record of the domain does not allow amazon.com (or amazontrust.com, awstrust.com, amazonaws.com) to issue; add one"
            }
            "DOMAIN_NOT_ALLOWED" => " — ACM does not issue for this domain",
            "INVALID_PUBLIC_DOMAIN" => " — a name is not a valid public domain",
            "ADDITIONAL_VERIFICATION_REQUIRED" => {
                " — ACM needs more information: open a case with AWS Support"
            }
            "NO_AVAILABLE_CONTACTS" => " — no contact address was found for the domain",
            "DOMAIN_VALIDATION_DENIED" => " — Amazon refuses to validate this domain",
            _ => "",
        };
        format!("{} ({reason}{hint})", self.status)
    }
}

fn unix(t: Option<&aws_sdk_acm::primitives::DateTime>) -> Option<i64> {
    t.map(|t| t.secs())
}

/// Lowercase, without the trailing dot.
fn dns_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn convert(detail: &CertificateDetail) -> AcmCert {
    let mut names: Vec<String> = detail
        .domain_name()
        .into_iter()
        .chain(
            detail
                .subject_alternative_names()
                .iter()
                .map(String::as_str),
        )
        .map(dns_name)
        .collect();
    names.sort();
    names.dedup();
    AcmCert {
        arn: detail.certificate_arn().unwrap_or_default().to_string(),
        status: detail
            .status()
            .map_or("UNKNOWN", |s| s.as_str())
            .to_string(),
        names,
        kind: detail.r#type().map_or("", |t| t.as_str()).to_string(),
        key_algorithm: detail.key_algorithm().map(|k| k.as_str().to_string()),
        exportable: detail
            .options()
            .and_then(|o| o.export())
            .is_some_and(|e| *e == CertificateExport::Enabled),
        serial: detail.serial().map(str::to_string),
        not_after: unix(detail.not_after()),
        created_at: unix(detail.created_at().or(detail.imported_at())),
        in_use_by: detail.in_use_by().to_vec(),
        renewal_eligibility: detail.renewal_eligibility().map(|r| r.as_str().to_string()),
        renewal_status: detail
            .renewal_summary()
            .map(|r| r.renewal_status().as_str().to_string()),
        failure_reason: detail.failure_reason().map(|f| f.as_str().to_string()),
        validation: detail
            .domain_validation_options()
            .iter()
            .map(|v| Validation {
                domain: dns_name(v.domain_name()),
                record: v.resource_record().map(|r| CnameRecord {
                    name: dns_name(r.name()),
                    value: dns_name(r.value()),
                }),
                status: v.validation_status().map(|s| s.as_str().to_string()),
            })
            .collect(),
    }
}

/// The ACM client for `region` (None: the run's region).
pub fn client(clients: &Clients, region: Option<&str>) -> aws_sdk_acm::Client {
    match region {
        Some(r) if r != clients.region => {
            let config = aws_sdk_acm::config::Builder::from(&clients.sdk)
                .region(aws_sdk_acm::config::Region::new(r.to_string()))
                .build();
            aws_sdk_acm::Client::from_conf(config)
        }
        _ => aws_sdk_acm::Client::new(&clients.sdk),
    }
}

pub async fn describe(acm: &aws_sdk_acm::Client, arn: &str) -> Result<AcmCert> {
    let out = acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| api_error("acm:DescribeCertificate", e))?;
    let detail = out
        .certificate()
        .ok_or_else(|| anyhow!("ACM described {arn} without its details"))?;
    Ok(convert(detail))
}

/// The value of the site tag for a site's domain: `*` is not allowed in
/// ACM tag values, so a wildcard is spelled out as the store does.
pub fn site_tag(site: &str) -> String {
    crate::certstore::dir_name(site)
}

/// Every certificate webtier made in ACM for the site `site` (its
/// domain): listed whatever its key type or status (ListCertificates
/// shows only RSA keys unless asked for all), those that name the site
/// (as their domain name, or among their first alternative names: an
/// imported certificate's domain name is whatever its CA put in the
/// subject) looked at, and kept when their tags say webtier made them for
/// it.
pub async fn site_certificates(
    acm: &aws_sdk_acm::Client,
    site: &str,
    owner: &str,
) -> Result<Vec<AcmCert>> {
    let mut arns = Vec::new();
    let mut next: Option<String> = None;
    let every_key = Filters::builder()
        .set_key_types(Some(
            KeyAlgorithm::values()
                .iter()
                .map(|k| KeyAlgorithm::from(*k))
                .collect(),
        ))
        .build();
    loop {
        let page = acm
            .list_certificates()
            .includes(every_key.clone())
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| api_error("acm:ListCertificates", e))?;
        arns.extend(
            page.certificate_summary_list()
                .iter()
                .filter(|s| {
                    s.domain_name().is_some_and(|d| dns_name(d) == site)
                        || s.subject_alternative_name_summaries()
                            .iter()
                            .any(|n| dns_name(n) == site)
                        // Summaries list the first 100 names only.
                        || s.has_additional_subject_alternative_names() == Some(true)
                })
                .filter_map(|s| s.certificate_arn().map(str::to_string)),
        );
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_string()),
            _ => break,
        }
    }
    let mut found = Vec::new();
    for arn in arns {
        let tags = acm
            .list_tags_for_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .map_err(|e| api_error("acm:ListTagsForCertificate", e))?;
        let tag = |key: &str| {
            tags.tags()
                .iter()
                .find(|t| t.key() == key)
                .and_then(|t| t.value())
        };
        if tag(MANAGED_BY.0) == Some(MANAGED_BY.1)
            && tag(SITE_TAG) == Some(site_tag(site).as_str())
            && tag(OWNER_TAG) == Some(owner)
        {
            found.push(describe(acm, &arn).await?);
        }
    }
    Ok(found)
}

/// webtier's tags for a certificate of `site`.
pub fn tags(site: &str, owner: &str) -> Result<Vec<Tag>> {
    Ok(vec![
        Tag::builder()
            .key(MANAGED_BY.0)
            .value(MANAGED_BY.1)
            .build()?,
        Tag::builder().key(SITE_TAG).value(site_tag(site)).build()?,
        Tag::builder().key(OWNER_TAG).value(owner).build()?,
    ])
}

/// What to ask ACM for.
pub struct Request<'a> {
    pub site: &'a str,
    pub owner: &'a str,
    /// The site's names, its domain first.
    pub names: &'a [String],
    /// ACM's key algorithm name (`EC_prime256v1`).
    pub key_algorithm: &'a str,
    pub exportable: bool,
    /// The same request made twice within an hour gets the same
    /// certificate (ACM's idempotency token: at most 32 word characters).
    pub token: &'a str,
}

/// Requests a DNS-validated certificate; returns its ARN.
pub async fn request(acm: &aws_sdk_acm::Client, r: &Request<'_>) -> Result<String> {
    let export = if r.exportable {
        CertificateExport::Enabled
    } else {
        CertificateExport::Disabled
    };
    let out = acm
        .request_certificate()
        .domain_name(&r.names[0])
        .set_subject_alternative_names((r.names.len() > 1).then(|| r.names.to_vec()))
        .validation_method(ValidationMethod::Dns)
        .key_algorithm(KeyAlgorithm::from(r.key_algorithm))
        .options(CertificateOptions::builder().export(export).build())
        .idempotency_token(r.token)
        .set_tags(Some(tags(r.site, r.owner)?))
        .send()
        .await
        .map_err(|e| api_error("acm:RequestCertificate", e))?;
    out.certificate_arn()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("ACM accepted the request for {} without an ARN", r.site))
}

/// An exported certificate: the PEM leaf, chain and private key (in
/// clear, in memory that is wiped when dropped).
pub struct Exported {
    pub certificate: String,
    pub chain: String,
    pub key: Zeroizing<String>,
}

/// Exports an exportable certificate. The private key comes encrypted
/// (PKCS#8, PBES2) under a random passphrase made for this call; it is
/// decrypted here and the passphrase is dropped.
pub async fn export(acm: &aws_sdk_acm::Client, arn: &str) -> Result<Exported> {
    let passphrase = passphrase()?;
    let out = acm
        .export_certificate()
        .certificate_arn(arn)
        .passphrase(Blob::new(passphrase.as_bytes().to_vec()))
        .send()
        .await
        .map_err(|e| api_error("acm:ExportCertificate", e))?;
    let (Some(certificate), Some(encrypted)) = (out.certificate(), out.private_key()) else {
        bail!("ACM exported {arn} without its certificate or private key");
    };
    let key = decrypt_key(encrypted, passphrase.as_bytes())
        .with_context(|| format!("cannot decrypt the private key ACM exported for {arn}"))?;
    Ok(Exported {
        certificate: certificate.to_string(),
        chain: out.certificate_chain().unwrap_or_default().to_string(),
        key,
    })
}

/// 32 characters from 24 random bytes (base64url): ACM takes 4 to 128.
fn passphrase() -> Result<Zeroizing<String>> {
    use base64::Engine;
    let mut bytes = Zeroizing::new([0u8; 24]);
    aws_lc_rs::rand::fill(bytes.as_mut()).map_err(|_| anyhow!("no randomness for a passphrase"))?;
    Ok(Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()),
    ))
}

/// Pure: an `ENCRYPTED PRIVATE KEY` PEM (PKCS#8 with PBES2) decrypted to a
/// `PRIVATE KEY` PEM.
pub fn decrypt_key(pem: &str, passphrase: &[u8]) -> Result<Zeroizing<String>> {
    use pkcs8::der::pem::LineEnding;
    use pkcs8::{EncryptedPrivateKeyInfoRef, der};
    let (label, der_bytes) =
        der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| anyhow!("not a PEM key: {e}"))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        bail!("a PEM {label}, not an ENCRYPTED PRIVATE KEY");
    }
    let info = EncryptedPrivateKeyInfoRef::try_from(der_bytes.as_slice())
        .map_err(|e| anyhow!("not a PKCS#8 encrypted key: {e}"))?;
    let clear = info
        .decrypt(passphrase)
        .map_err(|e| anyhow!("the passphrase does not open it: {e}"))?;
    clear
        .to_pem("PRIVATE KEY", LineEnding::LF)
        .map_err(|e| anyhow!("cannot write the key as PEM: {e}"))
}

/// Imports a certificate, or re-imports it to `arn` (which keeps the ARN,
/// so whatever uses it sees the new one). Tags are set on the first
/// import (ACM refuses them on a re-import, and keeps the ones it has).
/// Returns the ARN.
pub async fn import(
    acm: &aws_sdk_acm::Client,
    arn: Option<&str>,
    leaf: &str,
    chain: &str,
    key: &str,
    tags: Vec<Tag>,
) -> Result<String> {
    let out = acm
        .import_certificate()
        .set_certificate_arn(arn.map(str::to_string))
        .certificate(Blob::new(leaf.as_bytes().to_vec()))
        .set_certificate_chain(
            (!chain.trim().is_empty()).then(|| Blob::new(chain.as_bytes().to_vec())),
        )
        .private_key(Blob::new(key.as_bytes().to_vec()))
        .set_tags(arn.is_none().then(|| tags.clone()))
        .send()
        .await
        .map_err(|e| api_error("acm:ImportCertificate", e))?;
    let imported = out
        .certificate_arn()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("ACM imported a certificate without giving its ARN"))?;
    if arn.is_some() {
        keep_tags(acm, &imported, tags).await?;
    }
    Ok(imported)
}

/// Puts back any of `tags` a re-import dropped (ACM keeps them; an
/// emulator may not), so the certificate is still found as webtier's.
/// No write when they are all there.
async fn keep_tags(acm: &aws_sdk_acm::Client, arn: &str, tags: Vec<Tag>) -> Result<()> {
    let have = acm
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| api_error("acm:ListTagsForCertificate", e))?;
    let all_there = tags.iter().all(|t| {
        have.tags()
            .iter()
            .any(|h| h.key() == t.key() && h.value() == t.value())
    });
    if all_there {
        return Ok(());
    }
    // All of them, managed-by included: the policy lets webtier tag only
    // with it.
    acm.add_tags_to_certificate()
        .certificate_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| api_error("acm:AddTagsToCertificate", e))?;
    Ok(())
}

/// The PEM certificate (leaf) ACM holds at `arn`.
pub async fn certificate_pem(acm: &aws_sdk_acm::Client, arn: &str) -> Result<String> {
    let out = acm
        .get_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| api_error("acm:GetCertificate", e))?;
    out.certificate()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("ACM has no certificate body for {arn} yet"))
}

/// Deletes a certificate (ACM refuses while something uses it).
pub async fn delete(acm: &aws_sdk_acm::Client, arn: &str) -> Result<()> {
    acm.delete_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| api_error("acm:DeleteCertificate", e))?;
    Ok(())
}

/// ACM's key algorithm name for a store key type (`ecdsa-p256`).
pub fn key_algorithm_of(key_type: &str) -> Option<&'static str> {
    Some(match key_type {
        "ecdsa-p256" => "EC_prime256v1",
        "ecdsa-p384" => "EC_secp384r1",
        "ecdsa-521" | "ecdsa-p521" => "EC_secp521r1",
        "rsa-1024" => "RSA_1024",
        "rsa-2048" => "RSA_2048",
        "rsa-3072" => "RSA_3072",
        "rsa-4096" => "RSA_4096",
        _ => return None,
    })
}

/// Whether `status` can become or is a usable certificate.
pub fn is_live_status(status: &str) -> bool {
    status == CertificateStatus::Issued.as_str()
        || status == CertificateStatus::PendingValidation.as_str()
}

// What the cert step (and the lb step, and status) want of ACM for each
// `tls = "acm"` site.

/// One `tls = "acm"` site's certificate, as a plan file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmWanted {
    /// The site's domain.
    pub name: String,
    /// Its domain, then its aliases.
    pub names: Vec<String>,
    pub mode: AcmMode,
    /// ACM's name for the key type (`EC_prime256v1`).
    pub key_algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// Seconds to wait for ISSUED.
    pub validation_timeout: u64,
}

impl AcmWanted {
    pub fn exportable(&self) -> bool {
        self.mode == AcmMode::Export
    }

    /// Whether `cert` is this site's certificate: issued by ACM (not
    /// imported), usable or becoming so, for exactly these names, with
    /// this key type and export option.
    pub fn matches(&self, cert: &AcmCert) -> bool {
        let mut names = self.names.clone();
        names.sort();
        names.dedup();
        cert.kind == "AMAZON_ISSUED"
            && is_live_status(&cert.status)
            && cert.names == names
            && cert.exportable == self.exportable()
            && cert.key_algorithm.as_deref() == Some(self.key_algorithm.as_str())
    }

    /// ACM's idempotency token for the request: the same for the same
    /// site, names, key and mode, so a request retried after a lost answer
    /// gets the same certificate; a new one after a failed certificate
    /// (`after`), so that fixing the cause and running again asks again.
    pub fn token(&self, after: Option<&str>) -> String {
        use sha2::{Digest, Sha256};
        let text = serde_json::json!([
            self.name,
            self.names,
            self.key_algorithm,
            self.exportable(),
            after
        ])
        .to_string();
        Sha256::digest(text.as_bytes())[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Every `tls = "acm"` site's certificate.
pub fn wanted(config: &Config) -> Vec<AcmWanted> {
    config
        .sites
        .iter()
        .filter(|s| s.tls == Tls::Acm)
        .filter_map(|s| {
            let acm = s.acm.as_ref()?;
            Some(AcmWanted {
                name: s.domain.clone(),
                names: s.names().map(str::to_string).collect(),
                mode: acm.mode?,
                key_algorithm: acm.key.acm_algorithm()?.to_string(),
                region: acm.region.clone(),
                zone_id: s.zone_id.clone(),
                validation_timeout: acm.validation_timeout,
            })
        })
        .collect()
}

/// Pure: the certificate to use among webtier's for the site: an issued
/// one before one still validating, then the newest.
pub fn pick<'a>(w: &AcmWanted, certs: &'a [AcmCert]) -> Option<&'a AcmCert> {
    certs.iter().filter(|c| w.matches(c)).max_by_key(|c| {
        (
            c.status == "ISSUED",
            c.not_after.unwrap_or(0),
            c.created_at.unwrap_or(0),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encrypted_pkcs8_key_opens_with_its_passphrase_only() {
        use pkcs8::der::pem::LineEnding;
        let key = rcgen::KeyPair::generate().unwrap();
        let clear = key.serialize_der();
        let info = pkcs8::PrivateKeyInfoRef::try_from(clear.as_slice()).unwrap();
        // PBES2 with PBKDF2-SHA256 and AES-256-CBC, as ACM and OpenSSL 3 write it.
        let params = pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
            2048, &[7u8; 16], [9u8; 16],
        )
        .unwrap();
        let encrypted = info
            .encrypt_with_params(params, b"correct horse")
            .unwrap()
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .unwrap();
        let opened = decrypt_key(&encrypted, b"correct horse").unwrap();
        assert_eq!(opened.as_str().trim(), key.serialize_pem().trim());
        // PBKDF2 with its default PRF, HMAC-SHA1 (the field left out), as
        // ACM's exports and OpenSSL 1.1's `pkcs8 -topk8 -v2 aes-256-cbc`
        // write it.
        let sha1 = pkcs8::pkcs5::pbes2::Parameters {
            kdf: pkcs8::pkcs5::pbes2::Pbkdf2Params {
                salt: pkcs8::pkcs5::pbes2::Salt::new([3u8; 8]).unwrap(),
                iteration_count: 2048,
                key_length: None,
                prf: pkcs8::pkcs5::pbes2::Pbkdf2Prf::HmacWithSha1,
            }
            .into(),
            encryption: pkcs8::pkcs5::pbes2::EncryptionScheme::Aes256Cbc { iv: [5u8; 16] },
        };
        let encrypted = info
            .encrypt_with_params(sha1, b"correct horse")
            .unwrap()
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .unwrap();
        let opened = decrypt_key(&encrypted, b"correct horse").unwrap();
        assert_eq!(opened.as_str().trim(), key.serialize_pem().trim());
        let wrong = decrypt_key(&encrypted, b"wrong horse").unwrap_err();
        assert!(format!("{wrong:#}").contains("passphrase"), "{wrong:#}");
        let not_encrypted = decrypt_key(&key.serialize_pem(), b"x").unwrap_err();
        assert!(format!("{not_encrypted:#}").contains("not an ENCRYPTED PRIVATE KEY"));
    }

    #[test]
    fn a_wildcard_site_is_tagged_with_allowed_characters() {
        assert_eq!(site_tag("*.example.com"), "_wildcard.example.com");
        assert_eq!(site_tag("example.com"), "example.com");
        let allowed = |c: char| c.is_alphanumeric() || " _.:/=+-@".contains(c);
        assert!(site_tag("*.a-b.example.com").chars().all(allowed));
    }

    #[test]
    fn failures_are_said_with_acms_reason() {
        let cert = AcmCert {
            arn: "arn:aws:acm:us-east-1:1:certificate/x".into(),
            status: "FAILED".into(),
            names: vec!["a.example".into()],
            kind: "AMAZON_ISSUED".into(),
            key_algorithm: None,
            exportable: false,
            serial: None,
            not_after: None,
            created_at: None,
            in_use_by: vec![],
            renewal_eligibility: None,
            renewal_status: None,
            failure_reason: Some("CAA_ERROR".into()),
            validation: vec![],
        };
        let said = cert.failure();
        assert!(said.starts_with("FAILED (CAA_ERROR"), "{said}");
        assert!(said.contains("CAA record"), "{said}");
    }
}
