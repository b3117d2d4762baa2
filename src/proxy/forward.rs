//! The reverse proxy: pick an upstream, pass the request on with its
//! body streaming (a request no connection could be opened for goes to the
//! next upstream; nothing was sent), and pass the response back (an
//! Upgrade becomes a tunnel).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use http_body_util::{BodyExt, Either, Empty, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::body::{Body, FromUpstream};
use super::headers;
use super::pages;
use super::pool::{Connector, Lease};
use super::upstream::{Group, InFlight, Upstream, now_ms};

/// How the request reached us.
pub struct Origin<'a> {
    pub peer: SocketAddr,
    pub tls: bool,
    pub host: &'a str,
}

pub struct Limits<'a> {
    pub max_body: u64,
    pub read_timeout: Duration,
    pub trusted: &'a [ipnet::IpNet],
}

pub async fn forward(
    client: &Connector,
    group: &Arc<Group>,
    mut req: Request<Incoming>,
    origin: &Origin<'_>,
    limits: &Limits<'_>,
) -> Response<Body> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return pages::error(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let client_version = req.version();
    let upgrade = req.version() == Version::HTTP_11 && headers::wants_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));

    let (mut parts, body) = req.into_parts();
    headers::strip_hop_by_hop(&mut parts.headers, upgrade);
    headers::set_forwarding(
        &mut parts.headers,
        &headers::Client {
            peer: origin.peer.ip(),
            proto: if origin.tls { "https" } else { "http" },
            host: origin.host,
        },
        limits.trusted,
    );
    if !parts.headers.contains_key(header::HOST)
        && let Ok(host) = HeaderValue::from_str(origin.host)
    {
        // HTTP/2 carries the host in :authority; HTTP/1.1 upstreams need it.
        parts.headers.insert(header::HOST, host);
    }
    // Origin form: the path and query only.
    let uri = parts
        .uri
        .path_and_query()
        .cloned()
        .map_or_else(|| Uri::from_static("/"), Uri::from);
    let outgoing_body = if body.is_end_stream() {
        Either::Right(Empty::new())
    } else {
        Either::Left(Limited::new(body, limits.max_body as usize))
    };
    let mut outgoing = Request::new(outgoing_body);
    *outgoing.method_mut() = parts.method;
    *outgoing.uri_mut() = uri;
    *outgoing.version_mut() = Version::HTTP_11;
    *outgoing.headers_mut() = parts.headers;
    let mut pending = Some(outgoing);

    let mut tried: Vec<usize> = Vec::new();
    'upstreams: while let Some(index) = group.pick(now_ms(), &tried) {
        tried.push(index);
        let upstream = &group.upstreams[index];
        // Fresh connections that closed before taking the request: an
        // upstream that accepts and hangs up at once is a failed one.
        let mut dead_on_arrival = 0;
        loop {
            let Some(req) = pending.take() else {
                return pages::error(StatusCode::BAD_GATEWAY);
            };
            if dead_on_arrival >= 3 {
                group.failed(index, now_ms());
                tracing::warn!("upstream {} closes every new connection", upstream.base);
                pending = Some(req);
                continue 'upstreams;
            }
            // A pooled connection, else a new one. A connection that cannot
            // be opened means nothing was sent: any request may go to the
            // next upstream.
            let mut lease = match client.idle(upstream) {
                Some(lease) => lease,
                None => match client.connect(upstream).await {
                    Ok(lease) => lease,
                    Err(e) => {
                        group.failed(index, now_ms());
                        tracing::warn!("upstream {} refused a connection: {e}", upstream.base);
                        pending = Some(req);
                        continue 'upstreams;
                    }
                },
            };
            let fresh = lease.is_fresh();
            if lease.ready().await.is_err() {
                dead_on_arrival += usize::from(fresh);
                pending = Some(req);
                continue;
            }
            let guard = group.begin(index);
            let sent = tokio::time::timeout(limits.read_timeout, lease.send(req)).await;
            match sent {
                Ok(Ok(resp)) => {
                    group.succeeded(index);
                    return respond(resp, lease, guard, client_upgrade, upgrade, client_version);
                }
                Ok(Err(mut e)) => {
                    if let Some(req) = e.take_message() {
                        // Never written: the connection was not ready after all.
                        dead_on_arrival += usize::from(fresh);
                        pending = Some(req);
                        continue;
                    }
                    let error = e.into_error();
                    if limit_exceeded(&error) {
                        return pages::error(StatusCode::PAYLOAD_TOO_LARGE);
                    }
                    // Reset or closed before a response head: counts
                    // towards ejection like a refused connection.
                    group.failed(index, now_ms());
                    tracing::warn!(
                        "upstream {} failed: {:#}",
                        upstream.base,
                        anyhow::Error::new(error)
                    );
                    return pages::error(StatusCode::BAD_GATEWAY);
                }
                Err(_elapsed) => {
                    group.failed(index, now_ms());
                    tracing::warn!(
                        "upstream {} did not answer within {}ms",
                        upstream.base,
                        limits.read_timeout.as_millis()
                    );
                    return pages::error(StatusCode::GATEWAY_TIMEOUT);
                }
            }
        }
    }
    pages::error(if tried.is_empty() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_GATEWAY
    })
}

fn limit_exceeded(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// The upstream's response as the client gets it; an Upgrade becomes a
/// tunnel between the two connections.
fn respond(
    mut resp: Response<Incoming>,
    lease: Lease,
    guard: InFlight,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    upgrade: bool,
    client_version: Version,
) -> Response<Body> {
    let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    headers::clean_response(resp.headers_mut(), switching && upgrade);
    if switching {
        let Some(on_client) = client_upgrade else {
            return pages::error(StatusCode::BAD_GATEWAY);
        };
        let on_upstream = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            if let (Ok(a), Ok(b)) = (on_client.await, on_upstream.await) {
                let _ =
                    tokio::io::copy_bidirectional(&mut TokioIo::new(a), &mut TokioIo::new(b)).await;
            }
            // The connection now belongs to the tunnel, not the pool.
            drop((guard, lease));
        });
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    let (mut parts, incoming) = resp.into_parts();
    // The client's HTTP version, not the upstream's.
    parts.version = client_version;
    Response::from_parts(
        parts,
        Body::Upstream(FromUpstream::new(incoming, guard, lease)),
    )
}

/// A bodiless GET for active health checks; true on 2xx/3xx.
pub async fn check(client: &Connector, upstream: &Upstream, path: &str, timeout: Duration) -> bool {
    let Ok(uri) = path.parse::<Uri>() else {
        return false;
    };
    let attempt = async {
        let mut lease = match client.idle(upstream) {
            Some(lease) => lease,
            None => client.connect(upstream).await.ok()?,
        };
        lease.ready().await.ok()?;
        let mut req = Request::new(Either::Right(Empty::new()));
        *req.uri_mut() = uri;
        let host = HeaderValue::from_str(&format!("{}:{}", upstream.addr.host, upstream.addr.port))
            .ok()?;
        req.headers_mut().insert(header::HOST, host);
        req.headers_mut().insert(
            header::USER_AGENT,
            HeaderValue::from_static("webtier-health-check"),
        );
        let resp = lease.send(req).await.ok()?;
        let ok = resp.status().is_success() || resp.status().is_redirection();
        // Read to the end so the connection can be kept.
        resp.into_body().collect().await.ok()?;
        lease.release();
        Some(ok)
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}
