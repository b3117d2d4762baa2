//! ACME errors in plain words, and the `badNonce` retry every request
//! goes through.

use anyhow::anyhow;

const BAD_NONCE: &str = "urn:ietf:params:acme:error:badNonce";
/// How often one request is retried after `badNonce` (instant-acme already
/// retries each request twice itself).
pub const NONCE_RETRIES: u32 = 20;

pub fn is_bad_nonce(err: &instant_acme::Error) -> bool {
    matches!(err, instant_acme::Error::Api(p) if p.r#type.as_deref() == Some(BAD_NONCE))
}

/// Re-runs an ACME request while the server answers `badNonce`.
macro_rules! nonce_retry {
    ($call:expr) => {{
        let mut tries = 0;
        loop {
            match $call {
                Err(e)
                    if $crate::acme::error::is_bad_nonce(&e)
                        && tries < $crate::acme::error::NONCE_RETRIES =>
                {
                    tries += 1
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use nonce_retry;

/// An ACME error in plain words, with the problem document's type, detail
/// and the names it concerns.
pub fn describe(err: &instant_acme::Error) -> String {
    match err {
        instant_acme::Error::Api(p) => {
            let kind = p
                .r#type
                .as_deref()
                .unwrap_or("unknown")
                .trim_start_matches("urn:ietf:params:acme:error:");
            let mut text = match kind {
                "rateLimited" => {
                    "the CA's rate limit was reached; wait before retrying".to_string()
                }
                "unauthorized" => "the CA could not verify control of the name".to_string(),
                "connection" => "the CA could not connect to the server for validation".to_string(),
                "dns" => "the CA's DNS lookup failed".to_string(),
                "rejectedIdentifier" => "the CA will not issue for this name".to_string(),
                other => format!("the CA refused the request ({other})"),
            };
            if let Some(detail) = &p.detail {
                text.push_str(&format!(": {detail}"));
            }
            for sub in &p.subproblems {
                if let Some(id) = &sub.identifier {
                    text.push_str(&format!("; {id:?}"));
                }
                if let Some(detail) = &sub.detail {
                    text.push_str(&format!(" {detail}"));
                }
            }
            format!("{text} [{}]", p.r#type.as_deref().unwrap_or("no type"))
        }
        other => other.to_string(),
    }
}

/// Maps an ACME error to "<what>: <description>".
pub fn acme_err(what: &str) -> impl FnOnce(instant_acme::Error) -> anyhow::Error + '_ {
    move |e| anyhow!("{what}: {}", describe(&e))
}
