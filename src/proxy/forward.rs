//! The reverse proxy: pick an upstream, pass the request on with its
//! body streaming, retry an idempotent bodiless request on the next
//! upstream when a connection fails, and pass the response back (an
//! Upgrade becomes a tunnel).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use http_body_util::{BodyExt, Either, Empty, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::body::Body;
use super::headers;
use super::pages;
use super::upstream::{Group, now_ms};

pub type UpstreamBody = Either<Limited<Incoming>, Empty<Bytes>>;
pub type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
pub type UpstreamClient = Client<Connector, UpstreamBody>;

/// One pool of keep-alive connections per worker thread.
pub fn client(connect_timeout: Duration, idle_timeout: Duration) -> anyhow::Result<UpstreamClient> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(Duration::from_secs(60)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(super::tls::provider())
        .map_err(|e| {
            anyhow::anyhow!("cannot load the system trust roots for https upstreams: {e}")
        })?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(idle_timeout)
        .pool_max_idle_per_host(1024)
        .build(https))
}

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

fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

pub async fn forward(
    client: &UpstreamClient,
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
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    // Without a body a failed connection can be retried elsewhere.
    let bodiless = body.is_end_stream();
    let retryable = bodiless && idempotent(&parts.method) && !upgrade;
    let mut body = Some(body);

    let mut tried: Vec<usize> = Vec::new();
    loop {
        let Some(index) = group.pick(now_ms(), &tried) else {
            return pages::error(if tried.is_empty() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_GATEWAY
            });
        };
        tried.push(index);
        let upstream = &group.upstreams[index];
        let Ok(uri) = format!("{}{path}", upstream.base).parse::<Uri>() else {
            return pages::error(StatusCode::BAD_REQUEST);
        };
        let outgoing_body = match body.take() {
            Some(b) if !bodiless => Either::Left(Limited::new(b, limits.max_body as usize)),
            _ => Either::Right(Empty::new()),
        };
        let mut outgoing = Request::new(outgoing_body);
        *outgoing.method_mut() = parts.method.clone();
        *outgoing.uri_mut() = uri;
        *outgoing.version_mut() = Version::HTTP_11;
        *outgoing.headers_mut() = if retryable {
            parts.headers.clone()
        } else {
            std::mem::take(&mut parts.headers)
        };

        let guard = group.begin(index);
        let result = tokio::time::timeout(limits.read_timeout, client.request(outgoing)).await;
        match result {
            Ok(Ok(mut resp)) => {
                group.succeeded(index);
                let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
                headers::clean_response(resp.headers_mut(), switching && upgrade);
                if switching {
                    match client_upgrade {
                        Some(on_client) => {
                            let on_upstream = hyper::upgrade::on(&mut resp);
                            tokio::spawn(async move {
                                if let (Ok(a), Ok(b)) = (on_client.await, on_upstream.await) {
                                    let _ = tokio::io::copy_bidirectional(
                                        &mut TokioIo::new(a),
                                        &mut TokioIo::new(b),
                                    )
                                    .await;
                                }
                                drop(guard);
                            });
                            let (parts, _) = resp.into_parts();
                            return Response::from_parts(parts, Body::empty());
                        }
                        None => return pages::error(StatusCode::BAD_GATEWAY),
                    }
                }
                let (mut parts, incoming) = resp.into_parts();
                // The client's HTTP version, not the upstream's.
                parts.version = client_version;
                return Response::from_parts(
                    parts,
                    Body::Upstream {
                        body: incoming,
                        _in_flight: Some(guard),
                    },
                );
            }
            Ok(Err(e)) => {
                drop(guard);
                let connect = e.is_connect();
                if connect {
                    group.failed(index, now_ms());
                }
                if limit_exceeded(&e) {
                    return pages::error(StatusCode::PAYLOAD_TOO_LARGE);
                }
                tracing::warn!("upstream {} failed: {}", upstream.base, error_chain(&e));
                if connect && retryable {
                    continue;
                }
                return pages::error(StatusCode::BAD_GATEWAY);
            }
            Err(_elapsed) => {
                drop(guard);
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

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}

/// A bodiless GET for active health checks; true on 2xx/3xx.
pub async fn check(client: &UpstreamClient, base: &str, path: &str, timeout: Duration) -> bool {
    let Ok(uri) = format!("{base}{path}").parse::<Uri>() else {
        return false;
    };
    let mut req = Request::new(Either::Right(Empty::new()));
    *req.uri_mut() = uri;
    req.headers_mut().insert(
        header::USER_AGENT,
        HeaderValue::from_static("webtier-health-check"),
    );
    match tokio::time::timeout(timeout, client.request(req)).await {
        Ok(Ok(resp)) => {
            let ok = resp.status().is_success() || resp.status().is_redirection();
            // Drain so the connection goes back to the pool.
            let _ = resp.into_body().collect().await;
            ok
        }
        _ => false,
    }
}
