//! Running the bundled proxy as a service: a detached process, or a
//! systemd unit. `webtier proxy start|stop|status` and the `proxy` step
//! use these; the daemon itself is `crate::proxy::daemon`.

pub mod detached;
pub mod systemd;
