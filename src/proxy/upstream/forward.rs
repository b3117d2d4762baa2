//! The reverse proxy: pick an upstream, pass the request on with its
//! body streaming, and pass the response back (an Upgrade becomes a
//! tunnel). A request no connection could be opened for goes to the next
//! upstream (nothing was sent); so does an idempotent request without a
//! body when the upstream closed the connection without answering, and on
//! a pooled connection that closed as it was taken it is sent again on a
//! new one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use http_body::Body as _;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

use crate::proxy::body::Body;
use crate::proxy::clock::{ms_at, now_ms};
use crate::proxy::http::{forwarding, hop_by_hop};
use crate::proxy::request::pages;
use crate::proxy::upstream::group::{Group, InFlight, Tried, Upstream};
use crate::proxy::upstream::http1::{self, ResponseBody, Sending};
use crate::proxy::upstream::pool::{Lease, Pool};
use crate::proxy::upstream::tunnel;

/// How the request reached us.
pub struct Origin<'a> {
    pub peer: SocketAddr,
    pub tls: bool,
    pub host: &'a str,
    /// Who the auth stage found the client to be (`X-Auth-Request-*`),
    /// set after the client's own such headers are taken out.
    pub identity: Vec<(HeaderName, HeaderValue)>,
}

pub struct Limits<'a> {
    /// When the request arrived: one clock reading for the pool, the
    /// balancer and the response deadline.
    pub started: Instant,
    pub max_body: u64,
    pub read_timeout: Duration,
    /// An upgraded tunnel idle this long is closed.
    pub tunnel_idle: Duration,
    pub trusted: &'a [ipnet::IpNet],
}

/// A request without a body (`None`) is one the proxy makes itself (a
/// cache refresh). The request's head is prepared when this is called, and the future
/// holds only its parts: every request's future is moved whole, and an
/// `async fn` would hold the request, its parts, and a second copy of the
/// request (its parameters are moved into locals). A tunnel made of the
/// request holds `conn` (the client connection's context) for as long as
/// it lives, so that it stays counted as an open connection.
pub fn forward<'a, C: Send + Sync + 'static>(
    pool: &'a Pool,
    group: &'a Arc<Group>,
    req: Request<Option<Incoming>>,
    origin: &'a Origin<'a>,
    limits: &'a Limits<'a>,
    conn: &'a Arc<C>,
) -> impl Future<Output = Response<Body>> + 'a {
    let Prepared {
        too_large,
        client_version,
        client_upgrade,
        mut parts,
        mut body,
        forwarding,
        chunked,
        sending,
        is_head,
        resendable,
    } = prepare(req, origin, limits);
    async move {
        if too_large {
            return pages::error(StatusCode::PAYLOAD_TOO_LARGE);
        }
        // Origin form: the path and query only.
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        // The head is encoded into the first connection's buffer and moves on
        // with the request if it has to go to another; the request's header
        // map then takes the response's headers.
        let mut head: Option<Vec<u8>> = None;
        let mut reply_headers = http::HeaderMap::new();

        let deadline = tokio::time::Instant::from_std(limits.started + limits.read_timeout);
        let mut tried = Tried::new();
        let mut now = ms_at(limits.started);
        'upstreams: while let Some(index) = group.pick(now, tried.as_slice()) {
            tried.push(index);
            let upstream = &group.upstreams[index];
            let mut use_pool = true;
            loop {
                // A pooled connection, else a new one. A connection that cannot
                // be opened means nothing was sent: any request may go to the
                // next upstream.
                let pooled = if use_pool {
                    pool.idle(upstream, limits.started)
                } else {
                    None
                };
                let mut lease = match pooled {
                    Some(lease) => lease,
                    // Boxed: opening a connection is the rare path, and inline its
                    // future (resolver, TCP, TLS handshake) would make every
                    // request's future larger.
                    None => match Box::pin(pool.connect(upstream)).await {
                        Ok(lease) => lease,
                        Err(e) => {
                            now = now_ms();
                            group.failed(index, now);
                            tracing::warn!("upstream {} refused a connection: {e}", upstream.base);
                            continue 'upstreams;
                        }
                    },
                };
                match head.take() {
                    Some(head) => lease.conn.head = head,
                    None => {
                        let to = &mut lease.conn.head;
                        http1::encode_head(
                            to,
                            &parts.method,
                            target,
                            &parts.headers,
                            Some(&forwarding),
                            chunked,
                        );
                        reply_headers = std::mem::take(&mut parts.headers);
                    }
                }
                let guard = group.begin(index);
                let exchange = http1::exchange(
                    &mut lease.conn,
                    body.as_mut().map(|b| (b, sending)),
                    is_head,
                    deadline,
                    &mut reply_headers,
                );
                let error = match exchange.await {
                    Ok(reply) => {
                        group.succeeded(index);
                        return respond(
                            reply,
                            lease,
                            guard,
                            client_upgrade.map(|on| (on, Arc::clone(conn), limits.tunnel_idle)),
                            client_version,
                            limits.read_timeout,
                        );
                    }
                    Err(http1::Error::Closed) if !lease.is_fresh() && resendable => {
                        // The upstream closed the pooled connection as it was
                        // taken: not its failure. Again on a new connection.
                        head = Some(std::mem::take(&mut lease.conn.head));
                        use_pool = false;
                        continue;
                    }
                    Err(error) => match final_answer(&error, group, index, limits) {
                        Some(answer) => return answer,
                        None => error,
                    },
                };
                now = count_failure(group, index, &lease, &error);
                if resendable && matches!(error, http1::Error::Closed) {
                    head = Some(std::mem::take(&mut lease.conn.head));
                    continue 'upstreams;
                }
                return pages::error(StatusCode::BAD_GATEWAY);
            }
        }
        pages::error(if tried.as_slice().is_empty() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_GATEWAY
        })
    }
}

/// Counts a failed exchange (reset, closed, or not HTTP) towards ejection
/// like a refused connection, except a pooled connection closing
/// unanswered: more likely the idle-close race than a failing upstream.
/// Returns the time it was noted.
fn count_failure(group: &Group, index: usize, lease: &Lease, error: &http1::Error) -> u64 {
    let now = now_ms();
    if lease.is_fresh() || !matches!(error, http1::Error::Closed) {
        group.failed(index, now);
    }
    tracing::warn!("upstream {} failed: {error}", group.upstreams[index].base);
    now
}

/// A request ready to go upstream: its head stripped of hop-by-hop
/// headers and given the forwarding ones, and how its body is sent.
struct Prepared<'a> {
    /// A declared length over the route's maximum: answered 413.
    too_large: bool,
    client_version: Version,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    parts: http::request::Parts,
    body: Option<Limited<Incoming>>,
    forwarding: forwarding::Forwarding<'a>,
    chunked: bool,
    sending: Sending,
    is_head: bool,
    /// May go again to a new connection or the next upstream.
    resendable: bool,
}

fn prepare<'a>(
    mut req: Request<Option<Incoming>>,
    origin: &'a Origin<'a>,
    limits: &'a Limits<'a>,
) -> Prepared<'a> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = declared.is_some_and(|n| n > limits.max_body);
    let client_version = req.version();
    let upgrade = req.version() == Version::HTTP_11 && hop_by_hop::wants_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));

    let (mut parts, body) = req.into_parts();
    hop_by_hop::strip_hop_by_hop(&mut parts.headers, upgrade);
    let forwarding = forwarding::Forwarding::take(
        &mut parts.headers,
        &forwarding::Client {
            peer: origin.peer.ip(),
            proto: if origin.tls { "https" } else { "http" },
            host: origin.host,
        },
        limits.trusted,
    );
    for (name, value) in &origin.identity {
        parts.headers.insert(name.clone(), value.clone());
    }
    if !parts.headers.contains_key(header::HOST) {
        // HTTP/2 carries the host in :authority; HTTP/1.1 upstreams need it
        // as the client sent it, port included (as over HTTP/1.1).
        let authority = parts.uri.authority().map(|a| a.as_str());
        let sent = authority.map(|a| a.rsplit_once('@').map_or(a, |(_, host)| host));
        if let Ok(host) = HeaderValue::from_str(sent.unwrap_or(origin.host)) {
            parts.headers.insert(header::HOST, host);
        }
    }
    let body = body
        .filter(|b| !b.is_end_stream())
        .map(|b| Limited::new(b, limits.max_body as usize));
    // A body of unknown length (HTTP/1.1 chunked, or HTTP/2 without a
    // content-length) goes upstream chunked.
    let chunked = body.is_some() && !parts.headers.contains_key(header::CONTENT_LENGTH);
    // Otherwise it is counted against its declared length as it is sent
    // (a length that does not parse allows no byte).
    let sending = if chunked {
        Sending::Chunked
    } else {
        Sending::Length(declared.unwrap_or(0))
    };
    if body.is_none() && parts.headers.contains_key(header::CONTENT_LENGTH) {
        // `Content-Length: 0`, or an HTTP/2 length with no data.
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    let is_head = parts.method == Method::HEAD;
    // Sent again (to a new connection, or the next upstream) only when the
    // upstream cannot have acted on it: nothing came back, and the
    // request is idempotent and has no body to have been consumed.
    let resendable = body.is_none() && parts.method.is_idempotent();
    Prepared {
        too_large,
        client_version,
        client_upgrade,
        parts,
        body,
        forwarding,
        chunked,
        sending,
        is_head,
        resendable,
    }
}

/// The answer to an exchange that failed in a way no other upstream or
/// connection can mend; `None`: the caller may try again.
fn final_answer(
    error: &http1::Error,
    group: &Group,
    index: usize,
    limits: &Limits<'_>,
) -> Option<Response<Body>> {
    let upstream = &group.upstreams[index];
    Some(match error {
        http1::Error::TooLarge => pages::error(StatusCode::PAYLOAD_TOO_LARGE),
        http1::Error::ClientBody(e) => {
            tracing::debug!("the client's request body failed: {e}");
            pages::error(StatusCode::BAD_REQUEST)
        }
        e @ http1::Error::BodyLength { .. } => {
            // The upstream connection is dropped with the lease; the
            // client's is closed after this answer.
            tracing::warn!("request to {} refused: {e}", upstream.base);
            let mut resp = pages::error(StatusCode::BAD_REQUEST);
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
        http1::Error::TimedOut => {
            group.failed(index, now_ms());
            tracing::warn!(
                "upstream {} did not answer within {}ms",
                upstream.base,
                limits.read_timeout.as_millis()
            );
            pages::error(StatusCode::GATEWAY_TIMEOUT)
        }
        _ => return None,
    })
}

/// The upstream's response as the client gets it; a 101 becomes a tunnel
/// between the two connections, which holds the client connection's
/// context and closes once idle for its limit.
fn respond<C: Send + Sync + 'static>(
    reply: http1::Reply,
    lease: Lease,
    guard: InFlight,
    client_upgrade: Option<(hyper::upgrade::OnUpgrade, Arc<C>, Duration)>,
    client_version: Version,
    read_timeout: Duration,
) -> Response<Body> {
    // The headers came back without hop-by-hop and identity headers.
    if reply.status == StatusCode::SWITCHING_PROTOCOLS {
        let Some((on_client, held, idle)) = client_upgrade else {
            // A 101 the client did not ask for.
            return pages::error(StatusCode::BAD_GATEWAY);
        };
        let base = lease.base().to_string();
        let mut conn = lease.conn;
        tokio::spawn(async move {
            if let Ok(upgraded) = on_client.await {
                let mut client = TokioIo::new(upgraded);
                // What the upstream sent after its 101 belongs to the client.
                if client.write_all(&conn.buf).await.is_ok() {
                    conn.buf.clear();
                    if let Err(e) = tunnel::run(&mut client, &mut conn.stream, idle).await {
                        tracing::debug!("tunnel to {base} ended: {e}");
                    }
                }
            }
            drop(guard);
            drop(held);
        });
        return Body::empty().respond(reply.status, reply.headers);
    }
    let body = ResponseBody::new(
        lease,
        reply.framing,
        reply.reusable,
        Some(guard),
        read_timeout,
    );
    let mut resp = Body::Upstream(body).respond(reply.status, reply.headers);
    // The client's HTTP version, not the upstream's.
    *resp.version_mut() = client_version;
    resp
}

/// A bodiless GET for active health checks; true on 2xx/3xx.
pub async fn check(pool: &Pool, upstream: &Upstream, path: &str, timeout: Duration) -> bool {
    let Ok(target) = path.parse::<http::uri::PathAndQuery>() else {
        return false;
    };
    let attempt = async {
        let mut lease = match pool.idle(upstream, Instant::now()) {
            Some(lease) => lease,
            None => pool.connect(upstream).await.ok()?,
        };
        let mut h = http::HeaderMap::with_capacity(2);
        let host = HeaderValue::from_str(&format!("{}:{}", upstream.addr.host, upstream.addr.port))
            .ok()?;
        h.insert(header::HOST, host);
        h.insert(
            header::USER_AGENT,
            HeaderValue::from_static("webtier-health-check"),
        );
        http1::encode_head(
            &mut lease.conn.head,
            &Method::GET,
            target.as_str(),
            &h,
            None,
            false,
        );
        let deadline = tokio::time::Instant::now() + timeout;
        let reply = http1::exchange(&mut lease.conn, None, false, deadline, &mut h)
            .await
            .ok()?;
        let ok = reply.status.is_success() || reply.status.is_redirection();
        // Read to the end so the connection can be kept.
        ResponseBody::new(lease, reply.framing, reply.reusable, None, timeout)
            .collect()
            .await
            .ok()?;
        Some(ok)
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}
