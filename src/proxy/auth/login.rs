//! The browser's login: the redirect to the provider (authorization code
//! with PKCE S256, `state` and `nonce` kept in a sealed login cookie),
//! `/auth/callback`, `/auth/logout`, and the refresh of a session whose
//! tokens expired.

use std::sync::Arc;

use http::header;
use http::{HeaderMap, Response, StatusCode};
use openidconnect::core::{CoreAuthenticationFlow, CoreIdToken};
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RefreshToken, Scope, TokenResponse,
};
use sha2::Digest;

use crate::proxy::auth::policy::Policy;
use crate::proxy::auth::provider::{Discovered, Provider, chain};
use crate::proxy::auth::session::{self, Login, Session, now};
use crate::proxy::auth::tokens::{self, Refused};
use crate::proxy::body::Body;
use crate::proxy::request::pages;

/// A refresh's outcome is reused by requests that carry the same
/// session for this long (they were sent before the new cookie arrived).
const REFRESH_REUSE_S: u64 = 120;

/// The redirect to the provider's login, the login cookie set. Waits for
/// discovery just after a start.
/// `stale`: the login cookies the request carries, cleared when there are
/// many (logins begun and never finished).
pub async fn start(provider: Arc<Provider>, back: String, stale: Vec<String>) -> Response<Body> {
    let Some(d) = provider.discovered_soon().await else {
        return unavailable(&provider);
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = d
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in provider.config.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.url();
    let login = Login {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        back,
        at: now(),
    };
    let name = session::login_cookie(&login.state);
    let sealed = provider.keys.seal(
        &login_aad(&provider, &name),
        &serde_json::to_vec(&login).expect("a login serializes"),
    );
    let mut resp = pages::redirect(StatusCode::FOUND, url.as_str());
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::set(&name, &sealed, session::LOGIN_TTL_S),
    );
    if stale.len() >= session::LOGINS_KEPT {
        for old in stale {
            resp.headers_mut()
                .append(header::SET_COOKIE, session::clear(&old));
        }
    }
    resp
}

fn login_aad(provider: &Provider, cookie: &str) -> Vec<u8> {
    let mut aad = provider.aad("login");
    aad.extend_from_slice(cookie.as_bytes());
    aad
}

/// A login that failed: a page that says what the user can do, and the
/// reason in the log (never a code, token or secret; nor on the page,
/// which shows nothing of the provider's answers beyond its error code).
fn failed(provider: &Provider, status: StatusCode, why: &str) -> Response<Body> {
    tracing::warn!("site {}: login refused: {why}", provider.site);
    let page = match status {
        StatusCode::BAD_REQUEST => {
            "The login did not succeed: it was begun in another browser, used already, or took too long. Go back to the page you wanted and try again."
        }
        _ => {
            "The login did not succeed: the login service's answer was not accepted. Try again; if it goes on, tell the site's owner."
        }
    };
    pages::message(status, page)
}

fn unavailable(provider: &Provider) -> Response<Body> {
    tracing::warn!(
        "site {}: a login was asked for but the OpenID provider {} has not been reached",
        provider.site,
        provider.config.issuer
    );
    pages::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "The login service cannot be reached right now; try again shortly.",
    )
}

/// `/auth/callback`: the provider sends the browser back with a code.
/// `policy` is the policy of the route the login began at (by its path),
/// None when that path needs no login any more.
pub async fn callback(
    provider: Arc<Provider>,
    query: String,
    headers: HeaderMap,
    policy_of: impl FnOnce(&str) -> Option<Policy> + Send,
) -> Response<Body> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| {
        let mut found = params.iter().filter(|(k, _)| k == name);
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Some(v.as_str()),
            _ => None,
        }
    };
    // A state is base64url, as ours are: anything else names no login
    // (and could not go into a cookie's name).
    let Some(state) =
        param("state").filter(|s| !s.is_empty() && s.len() <= 128 && session::is_token(s))
    else {
        return failed(
            &provider,
            StatusCode::BAD_REQUEST,
            "the callback has no state, or not one of ours",
        );
    };
    let name = session::login_cookie(state);
    // From here on every answer removes the login cookie: one try each.
    let mut resp = callback_checked(&provider, &params, state, &name, &headers, policy_of).await;
    resp.headers_mut()
        .append(header::SET_COOKIE, session::clear(&name));
    resp
}

async fn callback_checked(
    provider: &Provider,
    params: &[(String, String)],
    state: &str,
    name: &str,
    headers: &HeaderMap,
    policy_of: impl FnOnce(&str) -> Option<Policy>,
) -> Response<Body> {
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let login: Option<Login> = session::cookie(headers, name)
        .and_then(|sealed| provider.keys.open(&login_aad(provider, name), sealed))
        .and_then(|plain| serde_json::from_slice(&plain).ok());
    let Some(login) = login else {
        return failed(
            provider,
            StatusCode::BAD_REQUEST,
            "no login was started from this browser for that state (or it was used already)",
        );
    };
    if !constant_time_eq(login.state.as_bytes(), state.as_bytes()) {
        return failed(
            provider,
            StatusCode::BAD_REQUEST,
            "the state does not match",
        );
    }
    if now().saturating_sub(login.at) > session::LOGIN_TTL_S {
        return failed(
            provider,
            StatusCode::BAD_REQUEST,
            &format!(
                "the login took longer than {} minutes",
                session::LOGIN_TTL_S / 60
            ),
        );
    }
    if !provider.first_use(&login.state, login.at + session::LOGIN_TTL_S) {
        return failed(
            provider,
            StatusCode::BAD_REQUEST,
            "this login came back already (a replayed callback)",
        );
    }
    if let Some(error) = param("error") {
        // The provider's own words are shown only as its error code.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        tracing::warn!(
            "site {}: login refused: the provider answered {code}",
            provider.site
        );
        return pages::message(
            StatusCode::BAD_REQUEST,
            &format!("The login service answered {code}: the login did not succeed."),
        );
    }
    let Some(d) = provider.discovered() else {
        return unavailable(provider);
    };
    match param("iss") {
        Some(iss) if iss != d.issuer.as_str() => {
            return failed(
                provider,
                StatusCode::BAD_REQUEST,
                "the response comes from another issuer (RFC 9207 iss)",
            );
        }
        None if d.iss_required => {
            return failed(
                provider,
                StatusCode::BAD_REQUEST,
                "the response lacks the issuer the provider always sends (RFC 9207 iss)",
            );
        }
        _ => {}
    }
    let Some(code) = param("code").filter(|c| !c.is_empty()) else {
        return failed(
            provider,
            StatusCode::BAD_REQUEST,
            "the callback has no code",
        );
    };
    let http = provider.caller();
    let exchange = match d
        .client
        .exchange_code(AuthorizationCode::new(code.to_string()))
    {
        Ok(request) => {
            request
                .set_pkce_verifier(PkceCodeVerifier::new(login.verifier.clone()))
                .request_async(&http)
                .await
        }
        Err(e) => return failed(provider, StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let tokens = match exchange {
        Ok(t) => t,
        Err(e) => {
            return failed(
                provider,
                StatusCode::BAD_GATEWAY,
                &format!("the code exchange failed: {}", token_error(&e)),
            );
        }
    };
    let Some(id_token) = tokens.id_token() else {
        return failed(
            provider,
            StatusCode::BAD_GATEWAY,
            "the provider sent no ID token",
        );
    };
    let at = now();
    let claims = match check_id_token(provider, &d, id_token, Some(&login.nonce), at).await {
        Ok(c) => c,
        Err(e) => return failed(provider, StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let back = safe_back(&login.back);
    if let Some(policy) = policy_of(&back) {
        let user = claims.email.as_deref().unwrap_or(&claims.sub);
        if !policy.admits(claims.email.as_deref(), &claims.named) {
            tracing::warn!(
                "site {}: {user} logged in but is not allowed on {}",
                provider.site,
                path_only(&back)
            );
            return pages::message(
                StatusCode::FORBIDDEN,
                "Your account is not allowed here. Ask the site's owner for access, or log out and use another account.",
            );
        }
    }
    let refresh_token = tokens.refresh_token().map(|r| r.secret().clone());
    let session = Session {
        sub: claims.sub,
        email: claims.email,
        claims: claims.named,
        expires: at + provider.config.session_lifetime_s,
        refresh_at: refresh_token.as_ref().map(|_| claims.exp),
        refresh_token,
        refreshes: 0,
        access_token: provider
            .config
            .forward_access_token
            .then(|| tokens.access_token().secret().clone()),
    };
    tracing::info!(
        "site {}: {} logged in",
        provider.site,
        session.email.as_deref().unwrap_or(&session.sub)
    );
    let cookies = match session::store(provider, &session, headers) {
        Ok(cookies) => cookies,
        Err(e) => return failed(provider, StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let mut resp = pages::redirect(StatusCode::FOUND, &back);
    for cookie in cookies {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    resp
}

/// Checks an ID token; when it names a key the provider's set lacks, reads
/// the set again (the provider rotated) and checks once more.
async fn check_id_token(
    provider: &Provider,
    d: &Arc<Discovered>,
    id_token: &CoreIdToken,
    nonce: Option<&str>,
    at: u64,
) -> Result<tokens::Claims, Refused> {
    let check = |d: &Discovered| {
        tokens::id_token(
            d,
            &provider.config.client_id,
            id_token,
            nonce,
            &provider.claim_names,
            at,
        )
    };
    match check(d) {
        Err(Refused::UnknownKey) => {
            provider.refetch_keys().await;
            check(&provider.discovered().unwrap_or_else(|| Arc::clone(d)))
        }
        checked => checked,
    }
}

/// What of an OAuth error may be logged: its kind and the provider's
/// error code, never the request.
fn token_error<E: std::error::Error>(
    e: &openidconnect::RequestTokenError<
        E,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> String {
    use openidconnect::RequestTokenError as R;
    match e {
        R::ServerResponse(r) => format!("the provider answered {}", r.error().as_ref()),
        R::Request(e) => format!("the provider could not be reached: {}", chain(e)),
        R::Parse(_, _) => "the provider's answer is not a token response".into(),
        R::Other(what) => what.clone(),
    }
}

/// The path to go back to after a login: only ever a path of this site.
/// Anything else (`//evil`, `/\evil`, a scheme, control characters, their
/// encoded forms once decoded by a browser) becomes `/`.
pub fn safe_back(back: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(back).decode_utf8_lossy();
    let ok = |s: &str| {
        s.starts_with('/')
            && !s.starts_with("//")
            && !s.starts_with("/\\")
            && !s.contains(|c: char| c.is_control() || c == '\\')
    };
    if ok(back) && ok(&decoded) && !decoded.starts_with("/%") {
        back.to_string()
    } else {
        "/".into()
    }
}

fn path_only(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `/auth/logout`: the session's cookies cleared, then the provider's
/// logout when it has one, else the site's root.
pub async fn logout(provider: Arc<Provider>, headers: HeaderMap) -> Response<Body> {
    let target = match provider
        .discovered_soon()
        .await
        .and_then(|d| d.end_session.clone())
    {
        Some(mut end) => {
            end.query_pairs_mut()
                .append_pair("client_id", &provider.config.client_id)
                .append_pair("post_logout_redirect_uri", &provider.post_logout_uri);
            end.to_string()
        }
        None => "/".to_string(),
    };
    let mut resp = pages::redirect(StatusCode::FOUND, &target);
    for cookie in session::end(&headers) {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    resp
}

/// Refresh at most this often for one session, however short-lived the
/// provider's tokens.
const REFRESH_GAP_S: u64 = 5;

/// Why a refresh gave no new session.
#[derive(Debug, Clone)]
pub enum RefreshFailed {
    /// The provider refused it (the grant revoked, the user disabled), or
    /// its answer was not valid: the session ends.
    Refused(String),
    /// The provider could not be asked: the session goes on as it is.
    Unreachable(String),
}

/// Renews a session whose tokens expired with its refresh token. Requests
/// that carry the same session (the same refresh token, refreshed as many
/// times) share one refresh, and its outcome for two minutes. The refresh
/// runs as a task of its own: a client that goes away does not cut it
/// off half-way (a provider that rotates refresh tokens would take a
/// second try with the spent one for a stolen token).
pub async fn refresh(provider: Arc<Provider>, old: Session) -> Result<Session, RefreshFailed> {
    let token = old.refresh_token.clone().unwrap_or_default();
    let mut hash = sha2::Sha256::new();
    hash.update(token.as_bytes());
    hash.update(old.refreshes.to_be_bytes());
    let key: [u8; 32] = hash.finalize().into();
    let mut outcome = {
        let mut map = provider.refreshes.lock().expect("not poisoned");
        let now = std::time::Instant::now();
        map.retain(|_, (at, _)| now.duration_since(*at).as_secs() < REFRESH_REUSE_S);
        match map.get(&key) {
            Some((_, under_way)) => under_way.clone(),
            None => {
                let (done, under_way) = tokio::sync::watch::channel(None);
                map.insert(key, (now, under_way.clone()));
                let provider = Arc::clone(&provider);
                tokio::spawn(async move {
                    let _ = done.send(Some(refresh_now(&provider, old).await));
                });
                under_way
            }
        }
    };
    match outcome.wait_for(Option::is_some).await {
        Ok(result) => result.clone().expect("waited for it"),
        Err(_) => Err(RefreshFailed::Unreachable(
            "the refresh was stopped (the proxy is shutting down)".into(),
        )),
    }
}

async fn refresh_now(provider: &Provider, old: Session) -> Result<Session, RefreshFailed> {
    use RefreshFailed::{Refused, Unreachable};
    let Some(d) = provider.discovered() else {
        return Err(Unreachable("the provider has not been reached".into()));
    };
    let http = provider.caller();
    let token = RefreshToken::new(old.refresh_token.clone().unwrap_or_default());
    let answer = match d.client.exchange_refresh_token(&token) {
        Ok(request) => request.request_async(&http).await,
        Err(e) => return Err(Refused(e.to_string())),
    };
    let tokens = answer.map_err(|e| {
        let why = format!("the refresh failed: {}", token_error(&e));
        match e {
            openidconnect::RequestTokenError::ServerResponse(_)
            | openidconnect::RequestTokenError::Parse(_, _) => Refused(why),
            _ => Unreachable(why),
        }
    })?;
    let at = now();
    let mut session = old.clone();
    session.refreshes += 1;
    let expires = match tokens.id_token() {
        Some(id_token) => {
            let claims = check_id_token(provider, &d, id_token, None, at)
                .await
                .map_err(|e| Refused(e.to_string()))?;
            if claims.sub != old.sub {
                return Err(Refused("the refreshed ID token is for another user".into()));
            }
            // Providers often leave claims out of a refresh's ID token:
            // those it sends replace the session's (an email it no longer
            // calls verified is dropped), the others stay.
            if claims.email_claimed {
                session.email = claims.email;
            }
            for (name, values) in claims.named {
                session.claims.retain(|(n, _)| *n != name);
                session.claims.push((name, values));
            }
            claims.exp
        }
        None => at + tokens.expires_in().map_or(300, |d| d.as_secs()),
    };
    session.refresh_at = Some(expires.max(at + super::REFRESH_EARLY_S + REFRESH_GAP_S));
    if let Some(new) = tokens.refresh_token() {
        session.refresh_token = Some(new.secret().clone());
    }
    if provider.config.forward_access_token {
        session.access_token = Some(tokens.access_token().secret().clone());
    }
    tracing::info!(
        "site {}: refreshed the session of {}",
        provider.site,
        session.email.as_deref().unwrap_or(&session.sub)
    );
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_the_site_are_gone_back_to() {
        for good in ["/", "/admin?x=1", "/a/b%20c", "/?next=//evil"] {
            assert_eq!(safe_back(good), good);
        }
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil",
            "%2F%2Fevil",
            "/%2Fevil",
            "/%5Cevil",
            "/%09/evil",
            "javascript:alert(1)",
            "",
            "evil",
            "/\t/evil",
        ] {
            assert_eq!(safe_back(evil), "/", "{evil}");
        }
    }
}
