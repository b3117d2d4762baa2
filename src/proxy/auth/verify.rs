//! Signature checks of bearer tokens, with aws-lc-rs (already in the tree
//! through rustls) rather than openidconnect's `JsonWebKey::verify_signature`.
//!
//! Measured (bench/auth.sh, perf, one worker): openidconnect verifies
//! RS256 with the `rsa` crate's big-number code, about 243 µs a token on
//! this machine, 85% of a bearer request's CPU (11-12x an unauthenticated
//! request); aws-lc-rs verifies RS256 in about 24 µs (`openssl speed
//! rsa2048` on the same core, the same assembly). Bearer tokens come with
//! every API request, and a garbage signature costs as much to refuse as
//! a good one to accept: the slow path was a cheap way to load the proxy.
//! ID tokens (one per login) stay with openidconnect.
//!
//! The keys are read once per key set from the JWKS the crate fetched
//! (`n`, `e` for RSA, `crv`, `x`, `y` for EC and Ed25519).

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use openidconnect::JsonWebKeySet;
use openidconnect::core::CoreJsonWebKey;
use serde_json::Value;

/// One public key of the provider's set.
struct Key {
    kid: Option<String>,
    /// The key's own `alg`, which then is the only one it verifies.
    alg: Option<String>,
    public: Public,
}

enum Public {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// `0x04 || x || y`.
    P256(Vec<u8>),
    P384(Vec<u8>),
    Ed25519(Vec<u8>),
}

/// The signing keys of a provider's set, ready for [`SigningKeys::verify`].
pub struct SigningKeys(Vec<Key>);

/// Why a signature was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Failed {
    /// No key of the set has this `kid` (or fits the algorithm).
    NoKey,
    /// A key fits, and the signature is not its.
    Bad,
}

impl SigningKeys {
    /// The signing keys of `jwks` (encryption keys and keys of kinds not
    /// used for signatures are left out).
    pub fn of(jwks: &JsonWebKeySet<CoreJsonWebKey>) -> SigningKeys {
        SigningKeys(
            jwks.keys()
                .iter()
                .filter_map(|k| serde_json::to_value(k).ok())
                .filter_map(|v| key(&v))
                .collect(),
        )
    }

    /// Checks `signature` over `message` for the JWS algorithm `alg` (an
    /// asymmetric one) with the key named `kid`, or any fitting key when
    /// the token names none.
    pub fn verify(
        &self,
        kid: Option<&str>,
        alg: &str,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), Failed> {
        let mut fitting = self
            .0
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg))
            .peekable();
        if fitting.peek().is_none() {
            return Err(Failed::NoKey);
        }
        let mut any = false;
        for key in fitting {
            let checked = match (&key.public, alg) {
                (Public::Rsa { n, e }, _) => {
                    let Some(params) = rsa_params(alg) else {
                        continue;
                    };
                    RsaPublicKeyComponents { n, e }.verify(params, message, sig)
                }
                (Public::P256(point), "ES256") => {
                    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(message, sig)
                }
                (Public::P384(point), "ES384") => {
                    UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                        .verify(message, sig)
                }
                (Public::Ed25519(x), "EdDSA") => {
                    UnparsedPublicKey::new(&signature::ED25519, x).verify(message, sig)
                }
                _ => continue,
            };
            any = true;
            if checked.is_ok() {
                return Ok(());
            }
        }
        Err(if any { Failed::Bad } else { Failed::NoKey })
    }
}

fn rsa_params(alg: &str) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
        "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// A JWK (as JSON) as a signing key, if it is one.
fn key(v: &Value) -> Option<Key> {
    let text = |name: &str| v.get(name).and_then(Value::as_str);
    let bytes = |name: &str| text(name).and_then(|s| B64.decode(s).ok());
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let public = match (text("kty")?, text("crv")) {
        ("RSA", _) => Public::Rsa {
            n: bytes("n")?,
            e: bytes("e")?,
        },
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            let len = if crv == "P-256" { 32 } else { 48 };
            if x.len() != len || y.len() != len {
                return None;
            }
            let point = [&[4u8][..], &x, &y].concat();
            match crv {
                "P-256" => Public::P256(point),
                _ => Public::P384(point),
            }
        }
        ("OKP", Some("Ed25519")) => Public::Ed25519(bytes("x")?),
        _ => return None,
    };
    Some(Key {
        kid: text("kid").map(str::to_string),
        alg: text("alg").map(str::to_string),
        public,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair};

    fn jwks(keys: Value) -> JsonWebKeySet<CoreJsonWebKey> {
        serde_json::from_value(serde_json::json!({ "keys": keys })).unwrap()
    }

    #[test]
    fn rsa_and_ec_signatures_are_checked_by_the_named_key() {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let components: RsaPublicKeyComponents<Vec<u8>> = rsa.public_key().into();
        let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = ec.public_key().as_ref();
        let set = SigningKeys::of(&jwks(serde_json::json!([
            { "kty": "RSA", "kid": "r1", "use": "sig", "n": B64.encode(&components.n), "e": B64.encode(&components.e) },
            { "kty": "EC", "kid": "e1", "crv": "P-256", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..]) },
            { "kty": "RSA", "kid": "enc", "use": "enc", "n": B64.encode(&components.n), "e": B64.encode(&components.e) },
        ])));
        let msg = b"header.payload";
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut sig = vec![0; rsa.public_modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
            .unwrap();
        assert_eq!(set.verify(Some("r1"), "RS256", msg, &sig), Ok(()));
        assert_eq!(set.verify(None, "RS256", msg, &sig), Ok(()));
        assert_eq!(
            set.verify(Some("r1"), "RS256", b"other", &sig),
            Err(Failed::Bad)
        );
        assert_eq!(set.verify(Some("r1"), "RS384", msg, &sig), Err(Failed::Bad));
        assert_eq!(
            set.verify(Some("r9"), "RS256", msg, &sig),
            Err(Failed::NoKey)
        );
        assert_eq!(
            set.verify(Some("enc"), "RS256", msg, &sig),
            Err(Failed::NoKey),
            "an encryption key signs nothing"
        );
        let ec_sig = ec.sign(&rng, msg).unwrap();
        assert_eq!(
            set.verify(Some("e1"), "ES256", msg, ec_sig.as_ref()),
            Ok(())
        );
        assert_eq!(
            set.verify(Some("e1"), "RS256", msg, ec_sig.as_ref()),
            Err(Failed::NoKey),
            "an EC key is no RSA key"
        );
        assert_eq!(
            set.verify(Some("r1"), "ES256", msg, ec_sig.as_ref()),
            Err(Failed::NoKey)
        );
    }
}
