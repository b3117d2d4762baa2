//! The bundled proxy. Its public face for the rest of webtier is the
//! runtime configuration it reads ([`config::ProxyConfig`]); steps talk to
//! the running daemon only through that file and signals, like an operator.
//! Nothing here imports AWS or ACME code.

mod body;
mod clock;
pub mod config;
pub mod daemon;
mod files;
mod http;
mod observe;
mod request;
mod state;
mod tls;
mod upstream;

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
