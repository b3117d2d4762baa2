//! The bundled proxy. Its public face for the rest of webtier is the
//! runtime configuration it reads ([`config::ProxyConfig`], "the proxy
//! file"); steps talk to the running daemon only through that file and
//! signals ([`daemon::control`]), like an operator.
//!
//! # A request's path
//!
//! Every request goes through these stages, in this order. A new feature is
//! one new file at its stage.
//!
//! | # | stage | module |
//! |---|---|---|
//! | 1 | accept: the connection limit, per-worker listeners | `daemon/worker.rs` |
//! | 2 | TLS: SNI picks the site's certificate, ALPN h2 or HTTP/1.1 | [`tls`] |
//! | 3 | limits: header-read, send, HTTP/2-idle timeouts; head size, stream count | `daemon/worker.rs`, [`daemon::drain`], [`daemon::send_timeout`] |
//! | 4 | routing: one Host per request, site by name, route by longest prefix; ACME challenges and the HTTPS redirect on plain HTTP; redirects (canonical host, the site's rules, the route's trailing slash) | [`request`], [`request::routing`], [`request::rewrite`] |
//! | 5 | access control: client addresses, dot segments on proxied routes; then rate limits per client | `request/access.rs`, `request/limit.rs` |
//! | 6 | auth: OIDC login, or HTTP Basic auth | [`auth`], [`auth::basic`] |
//! | 7 | rewrite: the path and query a proxied route's upstream receives | [`request::rewrite`] |
//! | 8 | response cache: lookup, coalescing, revalidation, stale answers; what the upstream sends is recorded as it streams | [`request::cache`] |
//! | 9 | static files, or the upstream: balancing, pool, HTTP/1.1, tunnels | [`files`], or [`upstream::forward`] |
//! | 10 | compression: br, zstd or gzip as the client prefers, streamed (run in `finish`, so that every answer of a route passes it) | [`request::compress`] |
//! | 11 | response headers (HSTS) and the log: access log line, metrics | [`request`] (`finish`), [`observe`] |
//!
//! Around them: [`daemon`] starts the process and its workers, reloads on
//! SIGHUP, drains on SIGTERM and serves the admin listener; [`state`] is
//! one configuration compiled for requests (swapped whole on reload), in
//! which a site whose files cannot be served is refused alone;
//! [`validate`] lists every problem of a file (`webtier proxy validate`);
//! [`http`] holds the protocol helpers that do no I/O; [`body`] is the one
//! response body type; [`clock`] is the process clock. Beside them,
//! [`export_nginx`] writes the file as an nginx configuration that serves
//! the same (`webtier proxy export nginx`).
//!
//! # Words
//!
//! - **client**: the peer that sent the request (browser, curl); its
//!   connection's facts are a [`request::ClientConn`], what its requests
//!   share a [`request::Connection`].
//! - **upstream**: an application server a route forwards to; a route's
//!   upstreams are a [`upstream::group::Group`]; connections to them come
//!   from the [`upstream::pool::Pool`] and are
//!   [`upstream::pool::UpstreamConn`]s, spoken to with [`upstream::http1`].
//! - **site**: the names a certificate and a set of routes serve;
//!   **route**: a path prefix of a site, served from a static root or
//!   forwarded.
//! - **config**: in the proxy, always the proxy file ([`config`]), never
//!   `webtier.toml` (that is `crate::config`).
//!
//! # Boundary
//!
//! Nothing here imports the rest of webtier except leaf helpers that
//! themselves import nothing from webtier (`crate::fsutil`); the test
//! `layering::the_proxy_names_nothing_of_webtier_but_leaves` enforces it.

pub mod auth;
mod body;
mod clock;
pub mod config;
pub mod daemon;
pub mod export_nginx;
mod files;
mod http;
mod observe;
mod read_buffers;
mod request;
mod state;
mod tls;
mod upstream;
pub mod validate;

pub use request::rewrite;
pub use state::State;

/// How every property test of the proxy's parsers runs: `cases` inputs
/// from one fixed seed, so that the suite runs the same cases every time
/// and cannot fail by chance (change the seed to explore others), and no
/// failure files written into the source tree.
#[cfg(test)]
fn properties(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_cafe),
        ..proptest::test_runner::Config::default()
    }
}
