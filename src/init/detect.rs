//! What `webtier init` can tell about this machine before asking: the
//! EC2 instance it runs on (IMDSv2), an app already listening on the
//! usual port, and the Route 53 zone that would hold a domain. Every
//! probe is short and its failure only means "not detected".

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Where apps under uvicorn/gunicorn listen by default.
pub const APP_PORT: u16 = 8000;

/// This instance's id, when this is an EC2 instance.
pub async fn instance() -> Option<String> {
    tokio::time::timeout(
        Duration::from_secs(4),
        crate::aws::instances::this_instance_id(),
    )
    .await
    .ok()?
    .ok()
}

/// `127.0.0.1:8000` when something accepts connections there.
pub async fn app() -> Option<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, APP_PORT));
    let connected = tokio::time::timeout(
        Duration::from_millis(500),
        tokio::net::TcpStream::connect(addr),
    )
    .await;
    matches!(connected, Ok(Ok(_))).then(|| addr.to_string())
}

/// The public hosted zone that would hold `domain`, as `NAME (ID)`, or
/// why there is none (no credentials, no such zone).
pub async fn zone(domain: &str, region: Option<&str>) -> Result<String, String> {
    let aws = crate::config::Aws {
        region: region.map(str::to_string),
        profile: None,
    };
    let clients = crate::aws::Clients::connect(&aws)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let zones = crate::aws::route53::public_zones(&clients)
        .await
        .map_err(|e| format!("{e:#}"))?;
    crate::aws::route53::zone_for(domain, None, &zones).map(|z| format!("{} ({})", z.name, z.id))
}
