//! The ACME protocol as webtier speaks it (over instant-acme), for the
//! `cert` step and `webtier cert …`. Nothing here decides *when* to order
//! or *where* certificates live: that is the cert step's and the
//! certificate store's (`crate::certstore`) business.
//!
//! - `account`: the account, created once and reused; revocation.
//! - `order`: one order, from creation to the downloaded chain.
//! - `ari`: renewal information (RFC 9773).
//! - `http01`, `dns01`: who answers the challenges (token files, Route 53
//!   TXT records).
//! - `preflight`: HTTP-01 challenge URLs fetched as the CA will, before
//!   asking it.
//! - `error`: ACME problems in plain words; `badNonce` retried
//!   transparently.

mod account;
mod ari;
pub mod dns01;
mod error;
pub mod http01;
mod order;
pub mod preflight;

pub use account::{account, revoke};
pub use ari::{certificate_id, renewal_window};
pub use order::{Responder, order};
