//! Stage 6, auth: OpenID Connect login at the edge (DESIGN §7).
//!
//! A site with `auth` has one OpenID client ([`provider::Provider`]); each
//! of its routes with `auth` has a [`policy::Policy`] (who may in), the
//! others are public. For a protected route a request passes with:
//! - a bearer JWT access token ([`tokens::bearer`]) when the route takes
//!   them, or
//! - a session cookie ([`session`]) of a user the policy admits, its
//!   tokens refreshed first when they expired and a refresh token was
//!   issued ([`login::refresh`]).
//!
//! Without either, a browser asking for a page is sent to the provider's
//! login ([`login::start`]), anything else gets 401. The proxy answers
//! `/auth/callback` and `/auth/logout` itself on such sites. Identity
//! reaches the upstream in `X-Auth-Request-User` (the `sub`) and
//! `X-Auth-Request-Email`; those headers are taken off every request
//! before, and our cookies off the requests of sites with a login.

pub mod basic;
pub mod key_source;
pub mod keys;
pub mod login;
pub mod path;
pub mod policy;
pub mod provider;
pub mod session;
pub mod tokens;
pub mod verify;

use std::pin::Pin;
use std::sync::Arc;

use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};

use crate::proxy::body::Body;
use crate::proxy::request::pages;
use policy::Policy;
use provider::Provider;
use tokens::Refused;

pub const CALLBACK: &str = "/auth/callback";
pub const LOGOUT: &str = "/auth/logout";

/// Whether `path` is one of the paths the auth stage answers itself.
pub fn is_endpoint(path: &str) -> bool {
    path == CALLBACK || path == LOGOUT
}

/// Refresh this long before the tokens expire.
pub const REFRESH_EARLY_S: u64 = 30;

pub static USER: HeaderName = HeaderName::from_static("x-auth-request-user");
pub static EMAIL: HeaderName = HeaderName::from_static("x-auth-request-email");
pub static ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-auth-request-access-token");

pub type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the auth stage decided for a request.
#[allow(clippy::large_enum_variant)] // matched at once, never stored; boxing would allocate
pub enum Decision {
    /// On to the upstream, as this user (None: a public path).
    Pass(Option<Box<Identity>>),
    /// Answered here.
    Answer(Response<Body>),
    /// Answered here once this is done (the login redirect, the callback,
    /// the logout).
    Reply(Pending<Response<Body>>),
    /// On to the upstream once this is done (a refresh, new signing
    /// keys), or answered here.
    Wait(Pending<Result<Box<Identity>, Response<Body>>>),
}

/// Who the request is from, for the upstream.
#[derive(Debug, Default)]
pub struct Identity {
    pub user: String,
    pub email: Option<String>,
    pub access_token: Option<String>,
    /// Set on the response: a refreshed session.
    pub set_cookies: Vec<HeaderValue>,
}

/// `/auth/callback` or `/auth/logout` on a site with a login: answered
/// here. `policy_of` gives the policy of a path of the site.
pub fn endpoint<P>(
    provider: &Arc<Provider>,
    req: &Request<hyper::body::Incoming>,
    path: &str,
    policy_of: P,
) -> Option<Decision>
where
    P: FnOnce(&str) -> Option<Policy> + Send + 'static,
{
    if path == CALLBACK {
        if req.method() != Method::GET {
            return Some(Decision::Answer(pages::error(
                StatusCode::METHOD_NOT_ALLOWED,
            )));
        }
        let query = req.uri().query().unwrap_or("").to_string();
        let fut = login::callback(
            Arc::clone(provider),
            query,
            req.headers().clone(),
            policy_of,
        );
        return Some(Decision::Reply(Box::pin(fut)));
    }
    if path == LOGOUT {
        if req.method() != Method::GET && req.method() != Method::POST {
            return Some(Decision::Answer(pages::error(
                StatusCode::METHOD_NOT_ALLOWED,
            )));
        }
        let fut = login::logout(Arc::clone(provider), req.headers().clone());
        return Some(Decision::Reply(Box::pin(fut)));
    }
    None
}

/// A request for a route with `policy`; `path` is its normalized path
/// (`path::normalize`).
pub fn check<B>(
    provider: &Arc<Provider>,
    policy: &Policy,
    req: &Request<B>,
    path: &str,
) -> Decision {
    if policy.is_public(path) {
        return Decision::Pass(None);
    }
    let now = session::now();
    if let (Some(token), Some(audience)) = (bearer(req.headers()), &policy.bearer_audience) {
        let Some(d) = provider.discovered() else {
            return Decision::Answer(pages::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "The login service cannot be reached right now; try again shortly.",
            ));
        };
        if req.headers().get_all(header::AUTHORIZATION).iter().count() > 1 {
            return Decision::Answer(pages::error(StatusCode::BAD_REQUEST));
        }
        return match bearer_checked(provider, &d, token, audience, now) {
            Ok(b) => match bearer_passes(provider, policy, &b) {
                Ok(identity) => Decision::Pass(Some(identity)),
                Err(resp) => Decision::Answer(resp),
            },
            Err(Refused::UnknownKey) => {
                let (provider, policy) = (Arc::clone(provider), policy.clone());
                let (token, audience) = (token.to_string(), audience.clone());
                Decision::Wait(Box::pin(async move {
                    provider.refetch_keys().await;
                    let checked = provider
                        .discovered()
                        .ok_or(Refused::UnknownKey)
                        .and_then(|d| {
                            bearer_checked(&provider, &d, &token, &audience, session::now())
                        });
                    match checked {
                        Ok(b) => bearer_passes(&provider, &policy, &b),
                        Err(e) => Err(invalid_bearer(&provider, &e)),
                    }
                }))
            }
            Err(e) => Decision::Answer(invalid_bearer(provider, &e)),
        };
    }
    let Some(found) = session::read(provider, req.headers()) else {
        return unauthenticated(provider, policy, req, path);
    };
    if !policy.admits(found.email.as_deref(), &found.claims) {
        return Decision::Answer(pages::message(
            StatusCode::FORBIDDEN,
            "Your account is not allowed here. Ask the site's owner for access, or log out and use another account.",
        ));
    }
    // `refresh_at` is set only with a refresh token.
    let due = found
        .refresh_at
        .is_some_and(|at| now + REFRESH_EARLY_S >= at);
    if !due {
        return Decision::Pass(Some(Box::new(identity_of(&found))));
    }
    let provider = Arc::clone(provider);
    let policy = policy.clone();
    let headers = req.headers().clone();
    let page = wants_page(req);
    let back = back_of(req, path);
    Decision::Wait(Box::pin(async move {
        let why = match login::refresh(Arc::clone(&provider), found.clone()).await {
            Ok(renewed) if policy.admits(renewed.email.as_deref(), &renewed.claims) => {
                match session::store(&provider, &renewed, &headers) {
                    Ok(cookies) => {
                        let mut identity = identity_of(&renewed);
                        identity.set_cookies = cookies;
                        return Ok(Box::new(identity));
                    }
                    Err(e) => e.to_string(),
                }
            }
            Ok(_) => {
                return Err(pages::message(
                    StatusCode::FORBIDDEN,
                    "Your account is not allowed here any more.",
                ));
            }
            Err(login::RefreshFailed::Unreachable(why)) => {
                // Not the user's doing: the session goes on as it is, and
                // a later request tries again.
                tracing::warn!(
                    "site {}: the session of {} could not be refreshed, it goes on: {why}",
                    provider.site,
                    found.email.as_deref().unwrap_or(&found.sub)
                );
                return Ok(Box::new(identity_of(&found)));
            }
            Err(login::RefreshFailed::Refused(why)) => why,
        };
        tracing::warn!("site {}: session ended: {why}", provider.site);
        let mut resp = if page && policy.login {
            login::start(Arc::clone(&provider), back, session::logins(&headers)).await
        } else {
            unauthorized(&policy, &provider.site)
        };
        for cookie in session::end(&headers) {
            resp.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Err(resp)
    }))
}

/// A valid bearer token's identity, when the route's policy admits it.
#[allow(clippy::result_large_err)] // matched at once, like `Decision`
fn bearer_passes(
    provider: &Provider,
    policy: &Policy,
    b: &tokens::Bearer,
) -> Result<Box<Identity>, Response<Body>> {
    // A route's allow-lists hold for machine clients too; without any,
    // the audience and scopes admit them.
    if policy.has_lists() && !policy.admits(b.email.as_deref(), &b.named) {
        tracing::warn!(
            "site {}: bearer token of {} refused: not on the route's allow-list",
            provider.site,
            b.sub
        );
        return Err(challenge(
            StatusCode::FORBIDDEN,
            &provider.site,
            ", error=\"insufficient_scope\"",
        ));
    }
    let missing = policy.missing_scopes(&b.scopes);
    if !missing.is_empty() {
        tracing::warn!(
            "site {}: bearer token of {} refused: it lacks the scope {}",
            provider.site,
            b.sub,
            missing.join(" ")
        );
        let scopes = policy.bearer_scopes.join(" ");
        return Err(challenge(
            StatusCode::FORBIDDEN,
            &provider.site,
            &format!(", error=\"insufficient_scope\", scope=\"{scopes}\""),
        ));
    }
    Ok(Box::new(Identity {
        user: b.sub.clone(),
        ..Identity::default()
    }))
}

/// A bearer token checked (`tokens::bearer`), or found among those
/// checked before for the same audience.
fn bearer_checked(
    provider: &Provider,
    d: &provider::Discovered,
    token: &str,
    audience: &str,
    now: u64,
) -> Result<Arc<tokens::Bearer>, Refused> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(audience.as_bytes());
    hash.update([0]);
    hash.update(token.as_bytes());
    let key: [u8; 32] = hash.finalize().into();
    if let Some(found) = provider.checked_bearer(&key, now) {
        return Ok(found);
    }
    let checked = Arc::new(tokens::bearer(
        d,
        token,
        audience,
        &provider.claim_names,
        now,
    )?);
    provider.remember_bearer(key, Arc::clone(&checked), now);
    Ok(checked)
}

fn invalid_bearer(provider: &Provider, why: &Refused) -> Response<Body> {
    tracing::warn!("site {}: {why}", provider.site);
    challenge(
        StatusCode::UNAUTHORIZED,
        &provider.site,
        ", error=\"invalid_token\"",
    )
}

/// The status's page with `WWW-Authenticate: Bearer realm="SITE"` and
/// `more` (RFC 6750 §3).
fn challenge(status: StatusCode, site: &str, more: &str) -> Response<Body> {
    let mut resp = pages::error(status);
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer realm=\"{site}\"{more}")) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

fn identity_of(s: &session::Session) -> Identity {
    Identity {
        user: s.sub.clone(),
        email: s.email.clone(),
        access_token: s.access_token.clone(),
        set_cookies: Vec::new(),
    }
}

/// No session: the login for a browser asking for a page, else 401.
fn unauthenticated<B>(
    provider: &Arc<Provider>,
    policy: &Policy,
    req: &Request<B>,
    path: &str,
) -> Decision {
    if policy.login && wants_page(req) {
        let back = back_of(req, path);
        let stale = session::logins(req.headers());
        return Decision::Reply(Box::pin(login::start(Arc::clone(provider), back, stale)));
    }
    Decision::Answer(unauthorized(policy, &provider.site))
}

fn unauthorized(policy: &Policy, site: &str) -> Response<Body> {
    match policy.bearer_audience {
        Some(_) => challenge(StatusCode::UNAUTHORIZED, site, ""),
        None => pages::error(StatusCode::UNAUTHORIZED),
    }
}

/// A browser navigating: GET or HEAD asking for HTML.
fn wants_page<B>(req: &Request<B>) -> bool {
    (req.method() == Method::GET || req.method() == Method::HEAD)
        && req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}

fn back_of<B>(req: &Request<B>, path: &str) -> String {
    login::safe_back(&match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Our cookies taken out of a request of a site with a login, before it
/// goes upstream. (The client's `X-Auth-Request-*` headers are taken out
/// of every forwarded request by `http::forwarding`.)
pub fn without_our_cookies(headers: &mut HeaderMap) {
    if let Some(kept) = session::without_ours(headers) {
        headers.remove(header::COOKIE);
        if let Some(kept) = kept {
            headers.insert(header::COOKIE, kept);
        }
    }
}

impl Identity {
    /// The headers that tell the upstream who the client is. Err: an
    /// identity that cannot be a header value.
    pub fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, StatusCode> {
        let value = |s: &str| {
            HeaderValue::from_str(s).map_err(|_| {
                tracing::warn!(
                    "refused a request of {:?}: its identity cannot be sent upstream in a header (control characters)",
                    self.user
                );
                StatusCode::FORBIDDEN
            })
        };
        let mut out = vec![(USER.clone(), value(&self.user)?)];
        if let Some(email) = &self.email {
            out.push((EMAIL.clone(), value(email)?));
        }
        if let Some(token) = &self.access_token {
            out.push((ACCESS_TOKEN.clone(), value(token)?));
        }
        Ok(out)
    }
}
