//! The integration tests: one test binary with a module per area, as
//! ripgrep does. Each file directly under `tests/` is a binary of its own
//! that links every dev-dependency (the AWS SDK, reqwest, rustls); one
//! binary links them once. Run one area with a filter on its module path:
//! `cargo test --test it proxy::` (or `acm::`, `auth::`, `aws::`, `cert::`, `cli::`,
//! `export::`, `init::`, `services::`, `session_keys::`, `status::`).
//!
//! `support` starts the real services (moto_server, pebble, nginx,
//! uvicorn, oidc-provider, chromium) and the `webtier` binary under test.

mod support;

mod acm;
mod auth;
mod aws;
mod cert;
mod cli;
mod export;
mod init;
mod lb;
mod proxy;
mod service;
mod services;
mod session_keys;
mod status;
