//! The session keys from an SSM parameter (`session_key_ssm`), for the
//! proxies of one site behind a load balancer: a login begun on one
//! completes on another, and a session made by one opens on all.
//!
//! The parameter holds the key file's text (`keys`), a SecureString read
//! with decryption through the standard AWS credential chain (and
//! `AWS_ENDPOINT_URL`, like any SDK program). The daemon reads it at
//! start (a start without it fails), on every reload and every
//! [`REFRESH_INTERVAL`]; a read that fails later keeps the keys read
//! before and logs a warning.
//!
//! A rotation (`webtier apply`, `webtier proxy rotate-session-key`) puts
//! a new key first. A proxy that sealed with it at once would make
//! sessions the proxies that have not read it yet cannot open, so the
//! newest key seals only once the parameter is two refresh intervals old
//! ([`sealing_key`]); until then the key before it seals, and every key
//! opens.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Result, anyhow};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::proxy::auth::keys::{Keys, SessionKeys};
use crate::proxy::config::{ProxyConfig, SessionKeySsm};

/// How often a running proxy reads the parameter again.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Pure: which of `keys` keys (newest first) seals, the parameter having
/// last changed at `modified`: the newest once every proxy has read it
/// (more than two refresh intervals later), else the one before it, if
/// any. A `modified` ahead of `now` (clocks apart) counts as new.
pub fn sealing_key(keys: usize, modified: SystemTime, now: SystemTime) -> usize {
    let settled = now
        .duration_since(modified)
        .is_ok_and(|age| age > 2 * REFRESH_INTERVAL);
    if keys > 1 && !settled { 1 } else { 0 }
}

/// The parameter `config` reads its keys from: when it sets one and a
/// site has a login.
pub fn wanted(config: &ProxyConfig) -> Option<&SessionKeySsm> {
    config
        .session_key_ssm
        .as_ref()
        .filter(|_| config.sites.iter().any(|s| s.auth.is_some()))
}

/// One parameter, the keys last read from it, and the client reading it.
pub struct KeySource {
    setting: SessionKeySsm,
    client: aws_sdk_ssm::Client,
    /// What the logins seal and open with; replaced by each read.
    pub keys: Arc<SessionKeys>,
    /// The text last read, so that an unchanged read is not logged.
    text: std::sync::Mutex<zeroize::Zeroizing<String>>,
}

impl KeySource {
    /// Reads the parameter for the first time; the error is one line
    /// naming it and what to do.
    pub async fn start(setting: &SessionKeySsm) -> Result<KeySource> {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(setting.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .build(),
            )
            .load()
            .await;
        let client = aws_sdk_ssm::Client::new(&sdk);
        let (keys, text) = fetch(&client, setting).await?;
        tracing::info!(
            "read the session keys from SSM parameter {} ({})",
            setting.parameter,
            setting.region
        );
        Ok(KeySource {
            setting: setting.clone(),
            client,
            keys: Arc::new(SessionKeys::new(keys)),
            text: std::sync::Mutex::new(text),
        })
    }

    pub fn setting(&self) -> &SessionKeySsm {
        &self.setting
    }

    /// Reads the parameter again; on failure the keys stay as they were
    /// and one warning line says why (never the value).
    pub async fn refresh(&self) {
        match fetch(&self.client, &self.setting).await {
            Ok((keys, text)) => {
                let mut last = self.text.lock().unwrap_or_else(|e| e.into_inner());
                if *last != text {
                    tracing::info!(
                        "new session keys in SSM parameter {}",
                        self.setting.parameter
                    );
                    *last = text;
                }
                self.keys.replace(keys);
            }
            Err(e) => tracing::warn!("{e:#}; the session keys read before stay in use"),
        }
    }

    /// Reads the parameter every [`REFRESH_INTERVAL`], for ever (the
    /// daemon aborts the task when the parameter is no longer wanted).
    pub async fn refresh_every_interval(self: Arc<KeySource>) {
        let mut tick = tokio::time::interval(REFRESH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.refresh().await;
        }
    }
}

/// GetParameter with decryption: the keys, stamped with the parameter's
/// LastModifiedDate, and the text.
async fn fetch(
    client: &aws_sdk_ssm::Client,
    setting: &SessionKeySsm,
) -> Result<(Keys, zeroize::Zeroizing<String>)> {
    let name = &setting.parameter;
    let out = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| read_error(setting, e))?;
    let parameter = out
        .parameter
        .ok_or_else(|| anyhow!("SSM answered no parameter for {name}"))?;
    let text = zeroize::Zeroizing::new(parameter.value.unwrap_or_default());
    let keys = Keys::parse(&text).map_err(|e| {
        // What is wrong, without the key file's remedy.
        let e = e.to_string();
        let wrong = e.split(" — ").next().unwrap_or_default();
        anyhow!(
            "SSM parameter {name} holds no session keys ({wrong}) — put `<hex id> <base64url 32-byte key>` lines in it, or delete it and run `webtier apply` to create it"
        )
    })?;
    let modified = parameter
        .last_modified_date
        .and_then(|d| SystemTime::try_from(d).ok())
        // Without a date, as if just changed: the newest key waits.
        .unwrap_or_else(SystemTime::now);
    Ok((keys.published_at(modified), text))
}

/// A failed GetParameter in one line: which parameter, why, what to do.
fn read_error<E, R>(setting: &SessionKeySsm, err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let SessionKeySsm { parameter, region } = setting;
    match err.code() {
        Some("ParameterNotFound") => anyhow!(
            "cannot read the session keys: SSM parameter {parameter} does not exist in {region} — run `webtier apply` to create it"
        ),
        Some(code @ ("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation")) => {
            anyhow!(
                "cannot read the session keys: AWS denied ssm:GetParameter on {parameter} in {region} ({code}) — grant ssm:GetParameter on it (and kms:Decrypt of its key) to this instance's role; `webtier iam-policy` prints the policy"
            )
        }
        Some(code) => anyhow!(
            "cannot read the session keys from SSM parameter {parameter} in {region}: {code}: {}",
            err.message().unwrap_or("no message")
        ),
        None => anyhow!(
            "cannot read the session keys from SSM parameter {parameter} in {region}: {} — check the instance's AWS credentials and network",
            chain(&err)
        ),
    }
}

/// An error and its sources in words, each said once.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_key_seals_once_every_proxy_has_read_it() {
        let changed = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let after = |s: u64| changed + Duration::from_secs(s);
        // Just rotated: the key before the newest seals.
        assert_eq!(sealing_key(2, changed, after(0)), 1);
        assert_eq!(sealing_key(3, changed, after(60)), 1);
        // Two refresh intervals exactly: some proxy may not have read it.
        assert_eq!(sealing_key(2, changed, after(120)), 1);
        assert_eq!(sealing_key(2, changed, after(121)), 0);
        assert_eq!(sealing_key(3, changed, after(86_400)), 0);
        // One key (just created): it seals, there is no other.
        assert_eq!(sealing_key(1, changed, after(0)), 0);
        // A date ahead of this clock: new.
        assert_eq!(sealing_key(2, after(30), changed), 1);
        assert_eq!(REFRESH_INTERVAL, Duration::from_secs(60));
    }

    #[test]
    fn keys_just_published_seal_with_the_one_every_proxy_has() {
        let old = Keys::parse(&crate::proxy::auth::keys::new_text().unwrap()).unwrap();
        let text = crate::proxy::auth::keys::new_text().unwrap();
        let (both, _) = crate::proxy::auth::keys::rotated(&text).unwrap();
        let (_, previous) = both.split_once('\n').unwrap();
        let previous = Keys::parse(previous).unwrap();
        let fresh = Keys::parse(&both).unwrap().published_at(SystemTime::now());
        let sealed = fresh.seal(b"x", b"v");
        // Sealed with the second key: a proxy that has only it opens it.
        assert_eq!(previous.open(b"x", &sealed).as_deref(), Some(&b"v"[..]));
        assert_eq!(old.open(b"x", &sealed), None);
        let settled = Keys::parse(&both)
            .unwrap()
            .published_at(SystemTime::now() - 3 * REFRESH_INTERVAL);
        let sealed = settled.seal(b"x", b"v");
        assert_eq!(previous.open(b"x", &sealed), None, "the newest sealed");
        assert_eq!(fresh.open(b"x", &sealed).as_deref(), Some(&b"v"[..]));
    }
}
