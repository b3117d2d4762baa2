//! The bundled proxy. Its public face for the rest of webtier is the
//! runtime configuration it reads ([`config::ProxyConfig`]); steps talk to
//! the running daemon only through that file and signals, like an operator.

pub mod config;
