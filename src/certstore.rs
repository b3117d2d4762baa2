//! The certificate store under `state_dir`:
//!
//! ```text
//! archive/<name>/<NNNN>/{cert.pem,chain.pem,fullchain.pem,privkey.pem,meta.json}
//! live/<name> -> ../archive/<name>/<NNNN>      (one symlink, swapped atomically)
//! renewal/<name>.json                          (last attempt and its result)
//! accounts/<directory hash>/account.json       (ACME account, 0600)
//! ```
//!
//! A new certificate becomes live only after it parses, matches its key,
//! covers every name and is currently valid; a failed order never touches
//! the live set.
//!
//! Used by the `cert` step and `webtier cert …` (which write it, one at a
//! time under [`Store::lock`]) and by `proxy-config` (which points the
//! proxy at [`Store::live_files`]).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use x509_parser::prelude::*;

use crate::fsutil::{atomic_write, atomic_write_with_mode};

pub struct Store {
    root: PathBuf,
}

/// Where a certificate's live files are, whether or not they exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFiles {
    pub dir: PathBuf,
    pub fullchain: PathBuf,
    pub privkey: PathBuf,
}

/// Holds the store's lock: one writer at a time; a second run waits.
pub struct StoreLock(#[allow(dead_code)] fs::File);

/// What webtier remembers about how a certificate was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub names: Vec<String>,
    pub directory: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Unix seconds.
    pub issued_at: i64,
    /// Exported from AWS Certificate Manager: which certificate, as ACM
    /// described it then (another serial or expiry there means ACM has
    /// renewed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acm: Option<AcmSource>,
}

/// The ACM certificate a live set was exported from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmSource {
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
}

/// A certificate as found in (or about to enter) the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// DNS names of the subjectAltName, lowercase, sorted.
    pub names: Vec<String>,
    pub serial: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub key_type: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Live {
    pub info: CertInfo,
    pub meta: Option<Meta>,
    pub dir: PathBuf,
}

/// The outcome of the last attempt for a certificate (for `cert status`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastAttempt {
    pub at: i64,
    pub ok: bool,
    pub message: String,
}

/// What the CA said about renewing a certificate (ACME Renewal
/// Information, RFC 9773), kept between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AriState {
    /// The certificate this is about.
    pub serial: String,
    /// False when the CA's directory offers no renewalInfo.
    pub supported: bool,
    #[serde(default)]
    pub window_start: i64,
    #[serde(default)]
    pub window_end: i64,
    /// A point in the window picked once (RFC 9773 §4.2: at random).
    #[serde(default)]
    pub renew_at: i64,
    /// Not before this (the CA's Retry-After) is the window asked again.
    #[serde(default)]
    pub next_check: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// The directory name for a certificate: its first name, `*` spelled out.
pub fn dir_name(name: &str) -> String {
    name.replace('*', "_wildcard")
}

impl Store {
    pub fn new(state_dir: &Path) -> Store {
        Store {
            root: state_dir.to_path_buf(),
        }
    }

    pub fn live_dir(&self, name: &str) -> PathBuf {
        self.root.join("live").join(dir_name(name))
    }

    /// The account file for the ACME directory at `directory`: named by
    /// the first 8 bytes of the SHA-256 of the URL's JSON form (a quoted
    /// string), as account files have always been named.
    pub fn account_file(&self, directory: &str) -> PathBuf {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(directory).unwrap_or_default();
        let short: String = Sha256::digest(&json)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.root.join("accounts").join(short).join("account.json")
    }

    /// The live files of `name`, for the proxy and deploy hooks.
    pub fn live_files(&self, name: &str) -> LiveFiles {
        let dir = self.live_dir(name);
        LiveFiles {
            fullchain: dir.join("fullchain.pem"),
            privkey: dir.join("privkey.pem"),
            dir,
        }
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// Takes the store's lock, waiting (with a warning) while another
    /// webtier holds it.
    pub fn lock(&self) -> Result<StoreLock> {
        let path = self.lock_file();
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        if file.try_lock().is_err() {
            tracing::warn!("another webtier holds {}; waiting for it", path.display());
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Ok(StoreLock(file))
    }

    /// Takes `name` out of `live/` (its link only; the archive keeps
    /// every version). For a revoked certificate, so that nothing serves
    /// it and the next plan issues a new one.
    pub fn retire(&self, name: &str) -> Result<()> {
        let link = self.live_dir(name);
        match fs::symlink_metadata(&link) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::remove_file(&link).with_context(|| format!("cannot remove {}", link.display()))
            }
            Ok(_) => bail!("{} is not a webtier symlink — left alone", link.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", link.display())),
        }
    }

    /// The live certificate of `name`, if any. A live set that does not
    /// parse is an error (it needs attention), not "absent".
    pub fn live(&self, name: &str) -> Result<Option<Live>> {
        let dir = self.live_dir(name);
        let fullchain = dir.join("fullchain.pem");
        let pem = match fs::read_to_string(&fullchain) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", fullchain.display()));
            }
        };
        let info = inspect(&pem)
            .with_context(|| format!("{} is not a valid certificate chain", fullchain.display()))?;
        let meta = fs::read_to_string(dir.join("meta.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        Ok(Some(Live { info, meta, dir }))
    }

    pub fn last_attempt(&self, name: &str) -> Option<LastAttempt> {
        let text = fs::read_to_string(self.renewal_file(name)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn record_attempt(&self, name: &str, attempt: &LastAttempt) -> Result<()> {
        let text = serde_json::to_string_pretty(attempt)?;
        atomic_write(&self.renewal_file(name), text.as_bytes(), 0o644)
    }

    pub fn ari(&self, name: &str) -> Option<AriState> {
        let text = fs::read_to_string(self.ari_file(name)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn save_ari(&self, name: &str, state: &AriState) -> Result<()> {
        let text = serde_json::to_string_pretty(state)?;
        atomic_write(&self.ari_file(name), text.as_bytes(), 0o644)
    }

    fn ari_file(&self, name: &str) -> PathBuf {
        self.root
            .join("renewal")
            .join(format!("{}.ari.json", dir_name(name)))
    }

    fn renewal_file(&self, name: &str) -> PathBuf {
        self.root
            .join("renewal")
            .join(format!("{}.json", dir_name(name)))
    }

    /// Checks a new certificate and makes it live: a new archive version,
    /// then the `live/<name>` link is swapped in one rename.
    pub fn install(
        &self,
        names: &[String],
        chain_pem: &str,
        key_pem: &str,
        meta: &Meta,
        key_readers: Option<u32>,
    ) -> Result<Live> {
        let name = &names[0];
        let info = validate(chain_pem, key_pem, names)?;
        let (leaf, chain) = split_leaf(chain_pem)?;

        let archive = self.root.join("archive").join(dir_name(name));
        fs::create_dir_all(&archive)
            .with_context(|| format!("cannot create {}", archive.display()))?;
        let next = fs::read_dir(&archive)?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let version = format!("{next:04}");
        let dir = archive.join(&version);
        fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
        let key = dir.join("privkey.pem");
        atomic_write_with_mode(&key, key_pem.as_bytes(), 0o600)?;
        give_key_readers(&self.live_files(name).privkey, &key, key_readers)?;
        atomic_write_with_mode(&dir.join("cert.pem"), leaf.as_bytes(), 0o644)?;
        atomic_write_with_mode(&dir.join("chain.pem"), chain.as_bytes(), 0o644)?;
        atomic_write_with_mode(&dir.join("fullchain.pem"), chain_pem.as_bytes(), 0o644)?;
        atomic_write_with_mode(
            &dir.join("meta.json"),
            serde_json::to_string_pretty(meta)?.as_bytes(),
            0o644,
        )?;

        let live_root = self.root.join("live");
        fs::create_dir_all(&live_root)?;
        let link = self.live_dir(name);
        if fs::symlink_metadata(&link).is_ok_and(|m| !m.file_type().is_symlink()) {
            bail!(
                "{} exists and is not a webtier symlink — move it away; webtier does not overwrite it",
                link.display()
            );
        }
        let tmp = live_root.join(format!(".{}.{}.tmp", dir_name(name), std::process::id()));
        let _ = fs::remove_file(&tmp);
        let target = Path::new("..")
            .join("archive")
            .join(dir_name(name))
            .join(&version);
        std::os::unix::fs::symlink(&target, &tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        fs::rename(&tmp, &link).with_context(|| format!("cannot replace {}", link.display()))?;
        fs::File::open(&live_root).and_then(|d| d.sync_all()).ok();
        Ok(Live {
            info,
            meta: Some(meta.clone()),
            dir: link,
        })
    }
}

fn pems(text: &str) -> Result<Vec<x509_parser::pem::Pem>> {
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()) {
        let pem = pem.map_err(|e| anyhow!("bad PEM: {e}"))?;
        if pem.label == "CERTIFICATE" {
            out.push(pem);
        }
    }
    if out.is_empty() {
        bail!("no certificate in the PEM text");
    }
    Ok(out)
}

/// The leaf and the rest of the chain, as PEM.
fn split_leaf(chain_pem: &str) -> Result<(String, String)> {
    let marker = "-----BEGIN CERTIFICATE-----";
    let mut blocks: Vec<String> = chain_pem
        .split_inclusive("-----END CERTIFICATE-----")
        .filter(|b| b.contains(marker))
        .map(|b| format!("{}\n", b[b.find(marker).unwrap_or(0)..].trim_end()))
        .collect();
    if blocks.is_empty() {
        bail!("no certificate in the chain");
    }
    let leaf = blocks.remove(0);
    Ok((leaf, blocks.concat()))
}

/// The DER of the leaf certificate of a PEM chain.
pub fn leaf_der(chain_pem: &str) -> Result<Vec<u8>> {
    Ok(pems(chain_pem)?.swap_remove(0).contents)
}

/// The DNS names a certificate covers (its subject alternative names),
/// ASCII lowercase, in the certificate's order.
pub fn dns_names(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    GeneralName::DNSName(n) => Some(n.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Facts about the leaf certificate of a PEM chain.
pub fn inspect(chain_pem: &str) -> Result<CertInfo> {
    let pems = pems(chain_pem)?;
    let (_, cert) = X509Certificate::from_der(&pems[0].contents)
        .map_err(|e| anyhow!("cannot parse the certificate: {e}"))?;
    let mut names = dns_names(&cert);
    names.sort();
    let key_type = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::EC(ec)) => match ec.key_size() {
            256 => "ecdsa-p256".to_string(),
            384 => "ecdsa-p384".to_string(),
            n => format!("ecdsa-{n}"),
        },
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("rsa-{}", rsa.key_size()),
        _ => "unknown".to_string(),
    };
    Ok(CertInfo {
        names,
        serial: cert.raw_serial_as_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        key_type,
    })
}

/// A chain may go live only if it parses, its leaf matches the key, it
/// covers every name and it is valid now.
pub fn validate(chain_pem: &str, key_pem: &str, names: &[String]) -> Result<CertInfo> {
    let info = inspect(chain_pem)?;
    let pems = pems(chain_pem)?;
    let (_, leaf) = X509Certificate::from_der(&pems[0].contents)
        .map_err(|e| anyhow!("cannot parse the certificate: {e}"))?;
    let key = rcgen::KeyPair::from_pem(key_pem).context("the private key does not parse")?;
    if leaf.public_key().raw != rcgen::PublicKeyData::subject_public_key_info(&key).as_slice() {
        bail!("the certificate does not match its private key");
    }
    let missing: Vec<&String> = names.iter().filter(|n| !info.names.contains(n)).collect();
    if !missing.is_empty() {
        bail!(
            "the certificate does not cover {}",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
    if info.not_after <= now || info.not_before > now + 300 {
        bail!("the certificate is not valid now");
    }
    Ok(info)
}

/// Who may read a new private key besides root: `group` (the proxy
/// user's, so that the daemon can load it after dropping root), else the
/// group of the live key it replaces when that one was group-readable (a
/// renewal keeps the access the `proxy` step gave). Mode 0640 then;
/// otherwise the key stays 0600. Set before the key goes live.
fn give_key_readers(live: &Path, new: &Path, group: Option<u32>) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let kept = fs::metadata(live)
        .ok()
        .filter(|meta| meta.mode() & 0o040 != 0)
        .map(|meta| meta.gid());
    let Some(gid) = group.or(kept) else {
        return Ok(());
    };
    std::os::unix::fs::chown(new, None, Some(gid))
        .with_context(|| format!("cannot give {} to group {gid}", new.display()))?;
    fs::set_permissions(new, fs::Permissions::from_mode(0o640))
        .with_context(|| format!("cannot set the mode of {}", new.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_files_are_named_by_a_hash_of_the_directory() {
        // The name must not change: an account made by an older webtier
        // is found again.
        let store = Store::new(Path::new("/var/lib/webtier"));
        assert_eq!(
            store.account_file("https://acme-v02.api.letsencrypt.org/directory"),
            Path::new("/var/lib/webtier/accounts/234c743771f86511/account.json")
        );
    }
}
