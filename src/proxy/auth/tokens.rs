//! Tokens from the provider: the ID token of a login (checked by the
//! `openidconnect` crate) and the bearer access tokens of machine clients.
//!
//! The crate checks ID tokens only; bearer tokens are checked here, by
//! hand, for what it cannot require: RFC 9068's `typ: at+jwt` (without it
//! an ID token, whose `aud` may be the same, would pass as an access
//! token), the audience of an API rather than the client, and scopes.
//! Their signature is checked with aws-lc-rs ([`crate::proxy::auth::verify`]:
//! the crate's is ten times slower, measured).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use openidconnect::core::{CoreIdToken, CoreJwsSigningAlgorithm};
use openidconnect::{ClientId, IdTokenVerifier, Nonce, NonceVerifier};
use serde_json::Value;

use crate::proxy::auth::provider::{ASYMMETRIC, Discovered};
use crate::proxy::auth::verify::Failed;

/// Clocks may differ this much, in seconds.
pub const SKEW: u64 = 60;

/// What a valid ID token says.
pub struct Claims {
    pub sub: String,
    /// The email, when the provider says it verified it.
    pub email: Option<String>,
    /// The token has an email claim (verified or not).
    pub email_claimed: bool,
    /// Named claims, as strings.
    pub named: Vec<(String, Vec<String>)>,
    pub exp: u64,
}

/// Why a token was refused (for the log; never the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The token names a signing key the provider's set lacks: read the
    /// set again, then try once more.
    #[error("signed by a key the provider does not publish")]
    UnknownKey,
    #[error("{0}")]
    Invalid(String),
}

/// Checks an ID token: signature (asymmetric algorithms the provider
/// announced; never none or HMAC), `iss`, `aud` (and `azp` with several
/// audiences), `exp` and `iat` within [`SKEW`], and the nonce when given
/// (a refresh's ID token has none to check).
pub fn id_token(
    d: &Discovered,
    client_id: &str,
    token: &CoreIdToken,
    nonce: Option<&str>,
    claim_names: &[String],
    now: u64,
) -> Result<Claims, Refused> {
    let verifier = IdTokenVerifier::new_public_client(
        ClientId::new(client_id.to_string()),
        d.issuer.clone(),
        d.jwks.clone(),
    )
    .set_allowed_algs(d.algs.iter().cloned())
    .set_time_fn(move || unix(now.saturating_sub(SKEW)))
    .set_issue_time_verifier_fn(move |iat| {
        if iat.timestamp() > (now + SKEW) as i64 {
            Err("issued in the future".into())
        } else {
            Ok(())
        }
    });
    let claims = match nonce {
        Some(n) => token.claims(&verifier, &Nonce::new(n.to_string())),
        None => token.claims(&verifier, AnyNonce),
    };
    let claims = claims.map_err(|e| {
        use openidconnect::{ClaimsVerificationError as C, SignatureVerificationError as S};
        match e {
            C::SignatureVerification(S::NoMatchingKey) => Refused::UnknownKey,
            other => Refused::Invalid(format!("ID token refused: {other}")),
        }
    })?;
    // Only an address the provider says it verified may open an
    // allow-list: without `email_verified: true` anyone could claim one
    // (some providers let users set it).
    let email = match (claims.email(), claims.email_verified()) {
        (Some(e), Some(true)) => Some(e.as_str().to_ascii_lowercase()),
        _ => None,
    };
    let payload = payload(&token.to_string()).unwrap_or(Value::Null);
    Ok(Claims {
        sub: claims.subject().as_str().to_string(),
        email_claimed: claims.email().is_some(),
        email,
        named: named_claims(&payload, claim_names),
        exp: claims.expiration().timestamp().max(0) as u64,
    })
}

struct AnyNonce;

impl NonceVerifier for AnyNonce {
    fn verify(self, _: Option<&Nonce>) -> Result<(), String> {
        Ok(())
    }
}

fn unix(secs: u64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default()
}

/// The decoded payload of a JWT (not checked).
fn payload(jwt: &str) -> Option<Value> {
    json_part(jwt.split('.').nth(1)?)
}

/// One base64url part of a JWT, as JSON.
fn json_part(part: &str) -> Option<Value> {
    serde_json::from_slice(&B64.decode(part).ok()?).ok()
}

/// The claims named, as lists of strings (a string claim is one).
fn named_claims(payload: &Value, names: &[String]) -> Vec<(String, Vec<String>)> {
    names
        .iter()
        .filter_map(|name| {
            let values = match payload.get(name)? {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                Value::Bool(b) => vec![b.to_string()],
                Value::Number(n) => vec![n.to_string()],
                _ => return None,
            };
            Some((name.clone(), values))
        })
        .collect()
}

/// A valid bearer token's subject, scopes, and what allow-lists look at.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub sub: String,
    pub scopes: Vec<String>,
    /// A verified email, if the token has one.
    pub email: Option<String>,
    /// The claims `claim_names` named.
    pub named: Vec<(String, Vec<String>)>,
    /// Its expiry (unix seconds).
    pub exp: u64,
}

/// Checks a bearer JWT access token (RFC 9068): `typ` `at+jwt`, an
/// asymmetric signature by a key of the provider's set, `iss`, `aud`
/// holding `audience`, `exp` (required), `nbf` and `iat` within
/// [`SKEW`].
pub fn bearer(
    d: &Discovered,
    token: &str,
    audience: &str,
    claim_names: &[String],
    now: u64,
) -> Result<Bearer, Refused> {
    let bad = |why: &str| Refused::Invalid(format!("bearer token refused: {why}"));
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a signed JWT"));
    };
    let header = json_part(h).ok_or_else(|| bad("its header is not JSON"))?;
    let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(bad("not an access token (typ is not at+jwt, RFC 9068)"));
    }
    if header.get("crit").is_some() {
        return Err(bad("it has critical header parameters"));
    }
    let alg: CoreJwsSigningAlgorithm = header
        .get("alg")
        .cloned()
        .and_then(|a| serde_json::from_value(a).ok())
        .ok_or_else(|| bad("unknown alg"))?;
    if !ASYMMETRIC.contains(&alg) {
        return Err(bad("its alg is not an asymmetric signature"));
    }
    let signature = B64
        .decode(s)
        .map_err(|_| bad("its signature is not base64url"))?;
    let kid = header.get("kid").and_then(Value::as_str);
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    match d.bearer_keys.verify(kid, alg, signing_input, &signature) {
        Ok(()) => {}
        Err(Failed::NoKey) => return Err(Refused::UnknownKey),
        Err(Failed::Bad) => return Err(bad("bad signature")),
    }
    let claims = json_part(p).ok_or_else(|| bad("its claims are not JSON"))?;
    if claims.get("iss").and_then(Value::as_str) != Some(d.issuer.as_str()) {
        return Err(bad("another issuer"));
    }
    let for_us = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(audience)),
        _ => false,
    };
    if !for_us {
        return Err(bad("for another audience"));
    }
    let time = |name| claims.get(name).and_then(Value::as_u64);
    match time("exp") {
        Some(exp) if exp + SKEW > now => {}
        Some(_) => return Err(bad("expired")),
        None => return Err(bad("it has no exp")),
    }
    if time("nbf").is_some_and(|nbf| nbf > now + SKEW) {
        return Err(bad("not valid yet"));
    }
    if time("iat").is_some_and(|iat| iat > now + SKEW) {
        return Err(bad("issued in the future"));
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("it has no sub"))?
        .to_string();
    let email = match (claims.get("email"), claims.get("email_verified")) {
        (Some(Value::String(e)), Some(Value::Bool(true))) => Some(e.to_ascii_lowercase()),
        _ => None,
    };
    let scopes = match claims.get("scope").or_else(|| claims.get("scp")) {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Bearer {
        sub,
        scopes,
        email,
        named: named_claims(&claims, claim_names),
        exp: time("exp").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_claims_become_strings() {
        let p: Value =
            serde_json::json!({"groups": ["a", "b", 3], "team": "x", "admin": true, "o": {}});
        let names: Vec<String> = ["groups", "team", "admin", "o", "missing"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            named_claims(&p, &names),
            vec![
                ("groups".to_string(), vec!["a".to_string(), "b".to_string()]),
                ("team".to_string(), vec!["x".to_string()]),
                ("admin".to_string(), vec!["true".to_string()]),
            ]
        );
    }
}
