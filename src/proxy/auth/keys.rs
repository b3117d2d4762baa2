//! The keys that seal login cookies (AES-256-GCM from aws-lc-rs, already
//! in the tree through rustls), and their file.
//!
//! The file holds one key a line, `<id> <base64url of 32 bytes>`: the
//! first line seals, every line opens. A sealed value names the key that
//! sealed it (its id), so rotating ([`rotate`]: a new key first, the two
//! before it kept) logs nobody out; a session sealed with a key that has
//! left the file no longer opens.
//!
//! The same text may come from an SSM parameter shared by several proxies
//! (`key_source`); its keys then seal by the rule of
//! [`key_source::sealing_key`](crate::proxy::auth::key_source::sealing_key).

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use arc_swap::ArcSwap;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

/// Keys kept after a rotation besides the new one.
const KEPT: usize = 2;
const KEY_LEN: usize = 32;
const ID_LEN: usize = 2;

pub struct Keys {
    /// The first seals (but see `published`).
    keys: Vec<(u16, LessSafeKey)>,
    /// When the text was last changed, for keys shared through SSM: the
    /// newest key seals only once every proxy has had time to read it.
    /// None (a file): the first key seals.
    published: Option<SystemTime>,
}

/// The keys a site's login seals and opens with, replaced whole when they
/// are read again (from SSM, every minute) while the state that holds
/// them goes on serving.
pub struct SessionKeys(ArcSwap<Keys>);

impl SessionKeys {
    pub fn new(keys: Keys) -> SessionKeys {
        SessionKeys(ArcSwap::from_pointee(keys))
    }

    pub fn replace(&self, keys: Keys) {
        self.0.store(Arc::new(keys));
    }

    /// [`Keys::seal`] with the keys of now.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> String {
        self.0.load().seal(aad, plain)
    }

    /// [`Keys::open`] with the keys of now.
    pub fn open(&self, aad: &[u8], value: &str) -> Option<Vec<u8>> {
        self.0.load().open(aad, value)
    }
}

impl Keys {
    /// Reads the key file, creating it (mode 0600, owned by `owner`) with
    /// one new key when it does not exist. A file that others may read
    /// is refused: whoever reads it can forge any session.
    pub fn load_or_create(path: &Path, owner: Option<(u32, u32)>) -> Result<Keys> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir
            && let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o002 != 0
        {
            bail!(
                "the session key file {} is in a directory anyone may write to ({}): anyone could put their own keys there and forge sessions — choose a directory of root or the proxy's user",
                path.display(),
                dir.display()
            );
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
        {
            Ok(mut file) => {
                let text = new_line(&[])?;
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                if let Some((uid, gid)) = owner {
                    std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).with_context(|| {
                        format!("cannot give {} to the proxy's user", path.display())
                    })?;
                }
                tracing::info!("created the session key file {}", path.display());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot create the session key file {} — create its directory, writable by the proxy's user",
                        path.display()
                    )
                });
            }
        }
        // Read through one descriptor that is not a symbolic link's, and
        // checked as what it is.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => anyhow::anyhow!(
                    "the session key file {} is a symbolic link, which is refused: name the file itself",
                    path.display()
                ),
                _ => anyhow::anyhow!(
                    "cannot read the session key file {}: {e}",
                    path.display()
                ),
            })?;
        let meta = file
            .metadata()
            .with_context(|| format!("cannot read the session key file {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "the session key file {} may be read by others (mode {mode:o}): chmod 600 {}",
                path.display(),
                path.display()
            );
        }
        let me = rustix::process::geteuid().as_raw();
        let trusted = [Some(0), Some(me), owner.map(|(uid, _)| uid)];
        if !trusted.contains(&Some(meta.uid())) {
            bail!(
                "the session key file {} belongs to uid {}, neither root nor the proxy's user: whoever owns it can forge sessions — remove it (a new one is made) or chown it",
                path.display(),
                meta.uid()
            );
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text)
            .with_context(|| format!("cannot read the session key file {}", path.display()))?;
        Keys::parse(&text).with_context(|| format!("in the session key file {}", path.display()))
    }

    /// The text of the key file (or of the SSM parameter): `<hex id>
    /// <base64url 32-byte key>` a line, the first the newest.
    pub fn parse(text: &str) -> Result<Keys> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let parsed = line.split_once(' ').and_then(|(id, key)| {
                let id = u16::from_str_radix(id, 16).ok()?;
                let key = B64.decode(key.trim()).ok()?;
                let key = UnboundKey::new(&AES_256_GCM, &key).ok()?;
                (key.algorithm().key_len() == KEY_LEN).then(|| (id, LessSafeKey::new(key)))
            });
            match parsed {
                Some(key) => keys.push(key),
                None => bail!(
                    "line {} is not `<hex id> <base64url 32-byte key>` — remove the file to start with a new key (everyone logs in again)",
                    n + 1
                ),
            }
        }
        if keys.is_empty() {
            bail!("it holds no key — remove it to start with a new key");
        }
        Ok(Keys {
            keys,
            published: None,
        })
    }

    /// These keys as published at `when` (an SSM parameter's
    /// LastModifiedDate).
    pub fn published_at(self, when: SystemTime) -> Keys {
        Keys {
            published: Some(when),
            ..self
        }
    }

    /// One new key held in memory only (`proxy validate` of a file whose
    /// key file the daemon has yet to create).
    pub fn ephemeral() -> Keys {
        Keys::parse(&new_text().expect("the system's random source works"))
            .expect("a new key parses")
    }

    /// `aad` binds the value to its use (which cookie, which site): a
    /// value sealed for one use does not open for another.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> String {
        let index = match self.published {
            Some(published) => crate::proxy::auth::key_source::sealing_key(
                self.keys.len(),
                published,
                SystemTime::now(),
            ),
            None => 0,
        };
        let (id, key) = &self.keys[index];
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system's random source works");
        let mut sealed = Vec::with_capacity(ID_LEN + NONCE_LEN + plain.len() + 16);
        sealed.extend_from_slice(&id.to_be_bytes());
        sealed.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut body,
        )
        .expect("sealing cannot fail for in-memory buffers");
        sealed.extend_from_slice(&body);
        B64.encode(sealed)
    }

    /// The plain text, when `value` was sealed by one of these keys for
    /// `aad` and not changed since.
    pub fn open(&self, aad: &[u8], value: &str) -> Option<Vec<u8>> {
        let mut sealed = B64.decode(value).ok()?;
        if sealed.len() < ID_LEN + NONCE_LEN + 16 {
            return None;
        }
        let id = u16::from_be_bytes([sealed[0], sealed[1]]);
        let (_, key) = self.keys.iter().find(|(k, _)| *k == id)?;
        let nonce = Nonce::try_assume_unique_for_key(&sealed[ID_LEN..ID_LEN + NONCE_LEN]).ok()?;
        let body = &mut sealed[ID_LEN + NONCE_LEN..];
        let plain = key.open_in_place(nonce, Aad::from(aad), body).ok()?;
        Some(plain.to_vec())
    }

    /// The id of the key that seals.
    #[cfg(test)]
    fn current(&self) -> u16 {
        self.keys[0].0
    }
}

/// The text of a new key set: one new key.
pub fn new_text() -> Result<String> {
    new_line(&[])
}

/// Pure but for the new key: `text` (which must hold keys) with a new
/// key first and the two newest of its keys after it; and the new key's
/// id.
pub fn rotated(text: &str) -> Result<(String, String)> {
    Keys::parse(text)?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(KEPT)
        .collect();
    let rotated = new_line(&lines)?;
    let id = rotated
        .split_once(' ')
        .map(|(id, _)| id.to_string())
        .unwrap_or_default();
    Ok((rotated, id))
}

/// A new key line first, then `existing` (lines of the file).
fn new_line(existing: &[&str]) -> Result<String> {
    let rng = SystemRandom::new();
    let mut key = [0u8; KEY_LEN];
    let mut id = [0u8; ID_LEN];
    let taken: Vec<&str> = existing
        .iter()
        .filter_map(|l| l.split_once(' ').map(|(id, _)| id))
        .collect();
    let id = loop {
        rng.fill(&mut id)
            .map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
        let hex = format!("{:04x}", u16::from_be_bytes(id));
        if !taken.contains(&hex.as_str()) {
            break hex;
        }
    };
    rng.fill(&mut key)
        .map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
    let mut text = format!("{id} {}\n", B64.encode(key));
    for line in existing {
        let _ = writeln!(text, "{line}");
    }
    Ok(text)
}

/// Puts a new key first in the file at `path` (which must exist), keeping
/// the two newest of the others; the file keeps its owner and mode.
/// Returns the new key's id.
pub fn rotate(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the session key file {} (the proxy creates it at its first start with a login site)",
            path.display()
        )
    })?;
    let (rotated, id) =
        rotated(&text).with_context(|| format!("in the session key file {}", path.display()))?;
    crate::fsutil::atomic_write_with_mode(path, rotated.as_bytes(), 0o600)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_unchanged_and_for_its_use() {
        let keys = Keys::parse(&new_line(&[]).unwrap()).unwrap();
        let sealed = keys.seal(b"session|a.test", b"alice");
        assert_eq!(
            keys.open(b"session|a.test", &sealed).as_deref(),
            Some(&b"alice"[..])
        );
        assert_eq!(keys.open(b"session|b.test", &sealed), None, "another site");
        let mut bytes = B64.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(keys.open(b"session|a.test", &B64.encode(bytes)), None);
        assert_eq!(keys.open(b"session|a.test", "not base64!"), None);
        assert_eq!(keys.open(b"session|a.test", ""), None);
    }

    #[test]
    fn a_rotation_keeps_two_old_keys_opening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let first = Keys::load_or_create(&path, None).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let sealed = first.seal(b"x", b"v");
        rotate(&path).unwrap();
        let second = Keys::load_or_create(&path, None).unwrap();
        assert_ne!(second.current(), first.current());
        assert_eq!(second.open(b"x", &sealed).as_deref(), Some(&b"v"[..]));
        rotate(&path).unwrap();
        let third = Keys::load_or_create(&path, None).unwrap();
        assert_eq!(third.open(b"x", &sealed).as_deref(), Some(&b"v"[..]));
        rotate(&path).unwrap();
        let fourth = Keys::load_or_create(&path, None).unwrap();
        assert_eq!(fourth.keys.len(), 3);
        assert_eq!(fourth.open(b"x", &sealed), None, "three rotations ago");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_key_file_others_could_have_placed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let err = format!(
            "{:#}",
            Keys::load_or_create(&open.join("keys"), None)
                .err()
                .unwrap()
        );
        assert!(err.contains("anyone may write"), "{err}");
        let real = dir.path().join("real");
        Keys::load_or_create(&real, None).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = format!("{:#}", Keys::load_or_create(&link, None).err().unwrap());
        assert!(err.contains("symbolic link"), "{err}");
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        Keys::load_or_create(&path, None).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keys::load_or_create(&path, None).err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "zz nope\n").unwrap();
        let err = format!("{:#}", Keys::load_or_create(&path, None).err().unwrap());
        assert!(err.contains("line 1"), "{err}");
    }
}
