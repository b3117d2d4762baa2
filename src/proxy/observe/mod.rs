//! What the proxy tells its operator: the access log and the metrics of
//! the admin listener.

pub mod access_log;
pub mod metrics;
