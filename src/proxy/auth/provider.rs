//! A site's OpenID provider, as the proxy knows it: the client settings,
//! what discovery found (endpoints, signing keys), and the calls to it
//! (discovery, JWKS, the token endpoint). The `openidconnect` crate does
//! discovery, the authorization URL with PKCE, the code and refresh-token
//! exchanges and the ID token's validation; reqwest carries its requests
//! (no redirects followed, bounded in time and size).
//!
//! Discovery runs from the control loop ([`discover_due`]) at start (and
//! after a reload that changes the issuer or client; otherwise the reload
//! keeps what was found), retried with a growing pause while the provider
//! is unreachable; its signing keys are read again every 15 minutes, and
//! at once (at most every 30 s) when a token names a key they lack.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use arc_swap::ArcSwapOption;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthType, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, JsonWebKeySet, ProviderMetadata, RedirectUrl,
};
use serde::{Deserialize, Serialize};

use crate::proxy::auth::keys::SessionKeys;
use crate::proxy::auth::session::Session;
use crate::proxy::config::AuthConfig;

/// Requests to the provider end within this.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Larger answers from the provider are refused.
const MAX_ANSWER: usize = 1 << 20;
/// Signing keys are read again this often…
const JWKS_EVERY: Duration = Duration::from_secs(15 * 60);
/// …and at most this often when a token names a key they lack.
const JWKS_AT_MOST: Duration = Duration::from_secs(30);
/// A request for a login waits this long for a discovery under way.
pub const DISCOVERY_WAIT: Duration = Duration::from_secs(5);

/// What discovery reads besides the core fields: logout, and RFC 9207.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extra {
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for Extra {}

pub type Metadata = ProviderMetadata<
    Extra,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The client with the endpoints discovery gives.
pub type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The signature algorithms accepted: asymmetric ones only. `none` and
/// the HMAC family never are (with HMAC, anyone holding the client
/// secret, or nothing for a public client, could sign).
pub const ASYMMETRIC: &[CoreJwsSigningAlgorithm] = &[
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// What discovery found.
#[derive(Clone)]
pub struct Discovered {
    /// What discovery read, to make the client again after a reload.
    metadata: Metadata,
    /// `jwks`'s signing keys for bearer tokens (`verify`).
    pub bearer_keys: Arc<crate::proxy::auth::verify::SigningKeys>,
    pub client: Client,
    pub issuer: IssuerUrl,
    pub jwks: JsonWebKeySet<CoreJsonWebKey>,
    /// The ID token algorithms: the provider's, among [`ASYMMETRIC`].
    pub algs: Vec<CoreJwsSigningAlgorithm>,
    pub end_session: Option<url::Url>,
    /// The provider puts `iss` in its authorization responses (RFC 9207):
    /// a callback without it is refused.
    pub iss_required: bool,
    jwks_uri: openidconnect::JsonWebKeySetUrl,
    read_at: Instant,
}

/// Where discovery stands.
#[derive(Default)]
struct Attempts {
    running: bool,
    failures: u32,
    next: Option<Instant>,
}

pub struct Provider {
    /// The site's first name.
    pub site: String,
    pub config: AuthConfig,
    secret: Option<ClientSecret>,
    pub redirect_uri: RedirectUrl,
    pub post_logout_uri: String,
    pub keys: Arc<SessionKeys>,
    /// `aad("session")`, made once: every request with a session opens it.
    pub session_aad: Vec<u8>,
    /// The claims the routes' allow-lists name, kept in the session.
    pub claim_names: Vec<String>,
    discovered: ArcSwapOption<Discovered>,
    attempts: Mutex<Attempts>,
    ready: tokio::sync::Notify,
    http: reqwest::Client,
    /// Refreshes under way or just done, by the refresh token's hash:
    /// requests that carry one session at once make one refresh (a
    /// provider that rotates refresh tokens refuses the second).
    pub refreshes: Mutex<HashMap<[u8; 32], Refresh>>,
    jwks_refetch: tokio::sync::Mutex<Option<Instant>>,
    /// Logins that came back, by state, until their login cookie would
    /// have expired (unix seconds): a replayed callback is refused here,
    /// without a call to the provider.
    used: Mutex<HashMap<String, u64>>,
    /// Bearer tokens checked already, by audience and token, until they
    /// expire: an API client sends the same token with every request.
    bearers: Mutex<HashMap<[u8; 32], Arc<crate::proxy::auth::tokens::Bearer>>>,
}

/// At most this many checked bearer tokens are kept.
const BEARERS_MAX: usize = 10_000;

/// At most this many logins are remembered as used (beyond, a replay is
/// still refused by the provider, which takes a code once).
const USED_MAX: usize = 100_000;

/// A refresh under way or done: when it began, and its outcome once there.
pub type Refresh = (
    Instant,
    tokio::sync::watch::Receiver<Option<Result<Session, crate::proxy::auth::login::RefreshFailed>>>,
);

impl Provider {
    /// The provider of a site, its secret read now. `previous`, the
    /// provider of the state this one replaces, lends what it discovered
    /// when the issuer and client are the same.
    pub fn new(
        site: &str,
        config: &AuthConfig,
        https_port: u16,
        keys: Arc<SessionKeys>,
        claim_names: Vec<String>,
        previous: Option<&Provider>,
    ) -> Result<Provider> {
        let secret = match (&config.client_secret_file, &config.client_secret_env) {
            (Some(path), _) => {
                let read = std::fs::read_to_string(path);
                // Read as root at start, a root-only secret cannot be read
                // again by a reload (as the proxy's user): the one read at
                // start stays.
                let kept = previous
                    .filter(|p| p.config.client_secret_file.as_ref() == Some(path))
                    .and_then(|p| p.secret.clone());
                let text = match (read, kept) {
                    (Ok(text), _) => text,
                    (Err(e), Some(kept)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                        tracing::warn!(
                            "site {site}: cannot read the client secret {} again ({e}); the one read at start stays — make it readable by the proxy's user to change it with a reload",
                            path.display()
                        );
                        kept.secret().clone()
                    }
                    (Err(e), _) => {
                        return Err(e).with_context(|| {
                            format!(
                                "cannot read the client secret {} — it must be readable by the proxy's user",
                                path.display()
                            )
                        });
                    }
                };
                let text = text.trim().to_string();
                if text.is_empty() {
                    bail!("the client secret file {} is empty", path.display());
                }
                Some(ClientSecret::new(text))
            }
            (None, Some(var)) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Some(ClientSecret::new(v.trim().to_string())),
                _ => bail!(
                    "the environment variable {var} (client_secret_env) is not set in the proxy's environment"
                ),
            },
            (None, None) => None,
        };
        let base = match https_port {
            443 => format!("https://{site}"),
            port => format!("https://{site}:{port}"),
        };
        let redirect = config
            .redirect_uri
            .clone()
            .unwrap_or_else(|| format!("{base}/auth/callback"));
        let redirect_uri = RedirectUrl::new(redirect).context("auth.redirect_uri")?;
        let post_logout_uri = config.post_logout_redirect_uri.clone().unwrap_or_else(|| {
            // Behind a load balancer, the site's address is the
            // redirect URI's.
            let mut u = redirect_uri.url().clone();
            u.set_path("/");
            u.to_string()
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // Workers run event loops of their own: a pooled connection
            // belongs to the loop that opened it.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("webtier/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot make an HTTPS client for the OpenID provider")?;
        // What discovery found is kept; the client is made again, with
        // this configuration's secret and redirect URI.
        let discovered = previous
            .filter(|p| p.config.issuer == config.issuer && p.config.client_id == config.client_id)
            .and_then(|p| p.discovered.load_full())
            .map(|d| {
                let client =
                    Provider::make_client(&d.metadata, config, secret.clone(), &redirect_uri);
                Arc::new(Discovered {
                    client,
                    ..(*d).clone()
                })
            });
        Ok(Provider {
            session_aad: aad("session", site, config),
            site: site.to_string(),
            config: config.clone(),
            secret,
            redirect_uri,
            post_logout_uri,
            keys,
            claim_names,
            discovered: ArcSwapOption::new(discovered),
            attempts: Mutex::default(),
            ready: tokio::sync::Notify::new(),
            http,
            refreshes: Mutex::default(),
            jwks_refetch: tokio::sync::Mutex::new(None),
            used: Mutex::default(),
            bearers: Mutex::default(),
        })
    }

    /// What sealed values of this site are bound to: a cookie of one site
    /// (or issuer, or client) is worth nothing at another.
    pub fn aad(&self, what: &str) -> Vec<u8> {
        aad(what, &self.site, &self.config)
    }

    /// A bearer token checked before and not expired, by its key (a hash
    /// of the route's audience and the token).
    pub fn checked_bearer(
        &self,
        key: &[u8; 32],
        now: u64,
    ) -> Option<Arc<crate::proxy::auth::tokens::Bearer>> {
        let found = self
            .bearers
            .lock()
            .expect("not poisoned")
            .get(key)
            .cloned()?;
        (found.exp + crate::proxy::auth::tokens::SKEW > now).then_some(found)
    }

    /// Keeps a bearer token that passed the checks, until it expires.
    pub fn remember_bearer(
        &self,
        key: [u8; 32],
        bearer: Arc<crate::proxy::auth::tokens::Bearer>,
        now: u64,
    ) {
        let mut kept = self.bearers.lock().expect("not poisoned");
        if kept.len() >= BEARERS_MAX {
            kept.retain(|_, b| b.exp + crate::proxy::auth::tokens::SKEW > now);
            if kept.len() >= BEARERS_MAX {
                kept.clear();
            }
        }
        kept.insert(key, bearer);
    }

    /// Marks the login of `state` as come back; false when it had already.
    pub fn first_use(&self, state: &str, until: u64) -> bool {
        let mut used = self.used.lock().expect("not poisoned");
        if used.contains_key(state) {
            return false;
        }
        if used.len() >= USED_MAX {
            let now = crate::proxy::auth::session::now();
            used.retain(|_, t| *t > now);
        }
        if used.len() < USED_MAX {
            used.insert(state.to_string(), until);
        }
        true
    }

    pub fn discovered(&self) -> Option<Arc<Discovered>> {
        self.discovered.load_full()
    }

    /// The discovered provider, waiting up to [`DISCOVERY_WAIT`] for a
    /// first discovery; None when it failed or takes longer.
    pub async fn discovered_soon(&self) -> Option<Arc<Discovered>> {
        let deadline = tokio::time::Instant::now() + DISCOVERY_WAIT;
        loop {
            let notified = self.ready.notified();
            if let Some(d) = self.discovered() {
                return Some(d);
            }
            let failed = self.attempts.lock().expect("not poisoned").failures > 0;
            if failed || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.discovered();
            }
        }
    }

    /// Reads the discovery document and the signing keys.
    async fn discover(&self) -> Result<Discovered> {
        let issuer = IssuerUrl::new(self.config.issuer.clone()).context("auth.issuer")?;
        let http = self.caller();
        let metadata = Metadata::discover_async(issuer.clone(), &http)
            .await
            .map_err(|e| anyhow!("discovery at {}: {}", self.config.issuer, chain(&e)))?;
        // A loopback issuer (tests, a provider on this machine) may use
        // http://, for endpoints on loopback only.
        let secure = |u: &url::Url| {
            u.scheme() == "https" || (is_loopback(&self.config.issuer) && is_loopback(u.as_str()))
        };
        let token = metadata
            .token_endpoint()
            .ok_or_else(|| anyhow!("the provider has no token_endpoint"))?;
        for (what, u) in [
            (
                "authorization_endpoint",
                metadata.authorization_endpoint().url(),
            ),
            ("token_endpoint", token.url()),
            ("jwks_uri", metadata.jwks_uri().url()),
        ] {
            if !secure(u) {
                bail!("the provider's {what} {u} is not https://");
            }
        }
        if !metadata
            .response_types_supported()
            .iter()
            .any(|r| r.as_ref() == [CoreResponseType::Code])
        {
            bail!("the provider does not offer the authorization code flow (response_type=code)");
        }
        let algs: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|a| ASYMMETRIC.contains(a))
            .cloned()
            .collect();
        if algs.is_empty() {
            bail!(
                "the provider signs ID tokens with no asymmetric algorithm (only none or HMAC), which webtier refuses"
            );
        }
        let extra = metadata.additional_metadata().clone();
        let end_session = extra
            .end_session_endpoint
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .filter(secure);
        let jwks = metadata.jwks().clone();
        let jwks_uri = metadata.jwks_uri().clone();
        let issuer = metadata.issuer().clone();
        let client = Provider::make_client(
            &metadata,
            &self.config,
            self.secret.clone(),
            &self.redirect_uri,
        );
        Ok(Discovered {
            bearer_keys: Arc::new(crate::proxy::auth::verify::SigningKeys::of(&jwks)),
            metadata,
            client,
            issuer,
            jwks,
            algs,
            end_session,
            iss_required: extra
                .authorization_response_iss_parameter_supported
                .unwrap_or(false),
            jwks_uri,
            read_at: Instant::now(),
        })
    }

    /// Reads the signing keys again, unless that was begun less than 30 s
    /// ago: a token names a key they lack (the provider rotated). Requests
    /// that come meanwhile wait for the read under way, then check again
    /// (the lock is held across it).
    pub async fn refetch_keys(&self) {
        let mut last = self.jwks_refetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < JWKS_AT_MOST) {
            return;
        }
        *last = Some(Instant::now());
        self.read_keys().await;
    }

    async fn read_keys(&self) -> bool {
        let Some(current) = self.discovered() else {
            return false;
        };
        let http = self.caller();
        match JsonWebKeySet::fetch_async(&current.jwks_uri, &http).await {
            Ok(jwks) => {
                let new = Discovered {
                    bearer_keys: Arc::new(crate::proxy::auth::verify::SigningKeys::of(&jwks)),
                    jwks,
                    read_at: Instant::now(),
                    ..(*current).clone()
                };
                self.discovered.store(Some(Arc::new(new)));
                true
            }
            Err(e) => {
                tracing::warn!(
                    "site {}: cannot read the provider's signing keys: {}",
                    self.site,
                    chain(&e)
                );
                false
            }
        }
    }

    /// The client of `config` at the provider `metadata` describes: the
    /// secret sent as discovered (`client_secret_basic`, else `_post`).
    fn make_client(
        metadata: &Metadata,
        config: &AuthConfig,
        secret: Option<ClientSecret>,
        redirect_uri: &RedirectUrl,
    ) -> Client {
        let methods = metadata.token_endpoint_auth_methods_supported();
        let post_only = methods.is_some_and(|m| {
            !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && m.contains(&CoreClientAuthMethod::ClientSecretPost)
        });
        CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(config.client_id.clone()),
            secret,
        )
        .set_redirect_uri(redirect_uri.clone())
        .set_auth_type(if post_only {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        })
    }

    /// The function openidconnect calls for each request to the provider.
    pub fn caller(&self) -> impl Fn(openidconnect::HttpRequest) -> CallFuture + use<> {
        let client = self.http.clone();
        move |req| {
            let client = client.clone();
            Box::pin(async move { call(&client, req).await })
        }
    }
}

pub type CallFuture =
    std::pin::Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, CallError>> + Send>>;

/// A request to the provider that got no usable answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CallError(String);

async fn call(
    client: &reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, CallError> {
    let (parts, body) = req.into_parts();
    let url = parts.uri.to_string();
    let mut sent = client
        .request(parts.method, &url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| CallError(format!("{url}: {}", chain(&e))))?;
    let mut resp = http::Response::builder().status(sent.status());
    if let Some(headers) = resp.headers_mut() {
        *headers = sent.headers().clone();
    }
    let mut body = Vec::new();
    while let Some(chunk) = sent
        .chunk()
        .await
        .map_err(|e| CallError(format!("{url}: {}", chain(&e))))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(CallError(format!("{url}: the answer is larger than 1 MiB")));
        }
        body.extend_from_slice(&chunk);
    }
    resp.body(body).map_err(|e| CallError(e.to_string()))
}

/// An error and its causes on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

fn aad(what: &str, site: &str, config: &AuthConfig) -> Vec<u8> {
    format!(
        "webtier {what}|{site}|{}|{}",
        config.issuer, config.client_id
    )
    .into_bytes()
}

fn is_loopback(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| crate::proxy::config::loopback_url(&u))
}

/// Starts the discoveries that are due (control loop, each tick): a
/// provider not yet discovered (again after 2 s, 4 s, … up to 60 s while
/// it fails), and keys older than 15 minutes (again after 30 s when their
/// read fails).
pub fn discover_due(providers: impl Iterator<Item = Arc<Provider>>) {
    for provider in providers {
        let now = Instant::now();
        let due = {
            let mut a = provider.attempts.lock().expect("not poisoned");
            let keys_old = provider
                .discovered()
                .is_some_and(|d| d.read_at.elapsed() >= JWKS_EVERY);
            let missing = provider.discovered().is_none();
            // A failed read (of the document or of the keys) waits its
            // pause before the next.
            let waited = a.next.is_none_or(|t| t <= now);
            let due = !a.running && waited && (keys_old || missing);
            if due {
                a.running = true;
            }
            due
        };
        if !due {
            continue;
        }
        tokio::spawn(async move {
            if provider.discovered().is_some() {
                let read = provider.read_keys().await;
                let mut a = provider.attempts.lock().expect("not poisoned");
                a.running = false;
                a.next = (!read).then(|| Instant::now() + JWKS_AT_MOST);
                return;
            }
            let outcome = provider.discover().await;
            let mut a = provider.attempts.lock().expect("not poisoned");
            a.running = false;
            match outcome {
                Ok(d) => {
                    if a.failures > 0 {
                        tracing::warn!(
                            "site {}: the OpenID provider {} answers again",
                            provider.site,
                            provider.config.issuer
                        );
                    }
                    a.failures = 0;
                    a.next = None;
                    provider.discovered.store(Some(Arc::new(d)));
                }
                Err(e) => {
                    a.failures += 1;
                    let pause =
                        Duration::from_secs(1 << a.failures.min(6)).min(Duration::from_secs(60));
                    a.next = Some(Instant::now() + pause);
                    tracing::error!(
                        "site {}: login unavailable, cannot use the OpenID provider: {e:#} (trying again in {} s)",
                        provider.site,
                        pause.as_secs()
                    );
                }
            }
            drop(a);
            provider.ready.notify_waiters();
        });
    }
}
