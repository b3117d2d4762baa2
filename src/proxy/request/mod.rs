//! One request, start to finish: find the site and route, answer ACME
//! challenges and HTTPS redirects on plain HTTP, serve or forward, add
//! HSTS, count and log.

mod access;
pub mod cache;
pub mod compress;
pub mod limit;
pub mod pages;
pub mod rewrite;
pub mod routing;

use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::Poll;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use tokio::net::TcpStream;

use crate::proxy::auth::{self, Decision, Identity, Pending, basic};
use crate::proxy::body::{Body, BoxError};
use crate::proxy::daemon::drain::{Activity, Track};
use crate::proxy::daemon::socket;
use crate::proxy::files;
use crate::proxy::http::forwarding;
use crate::proxy::observe::access_log::{self, Entry};
use crate::proxy::observe::metrics::{Metrics, PolicyDecision};
use crate::proxy::request::routing::{
    http_location, https_location, is_health_check, longest_prefix, request_host,
};
use crate::proxy::state::{Route, RouteKind, State};
use crate::proxy::upstream::forward::{self, Origin};
use crate::proxy::upstream::group::Group;
use crate::proxy::upstream::pool::Pool;

const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// What every request of a worker shares.
pub struct Shared {
    pub state: Arc<ArcSwap<State>>,
    pub metrics: Arc<Metrics>,
    pub access_log: Option<Arc<access_log::Writer>>,
}

/// One client connection.
pub struct ClientConn {
    pub peer: SocketAddr,
    pub tls: bool,
    /// The SNI name of a TLS connection, ASCII lowercase.
    pub sni: Option<String>,
}

/// Counts an open client connection (the limit, the gauge) until dropped.
pub struct Open(pub Arc<AtomicUsize>, pub Arc<Metrics>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
        self.1.connections.fetch_sub(1, Relaxed);
    }
}

/// What the requests of one connection share: the worker's state and
/// upstream pool, and who the client is. It lives as long as the
/// connection, or a tunnel made of it, does.
pub struct Connection {
    pub shared: Arc<Shared>,
    pub pool: Pool,
    pub conn: ClientConn,
    /// Whether a request is being served, for the header-read timeout.
    pub activity: Activity,
    /// The client's socket, watched for a hang-up while a request waits on
    /// its upstream: plain HTTP/1.1. Over TLS hyper reads mid-request
    /// itself (a close alert sits in the socket before the FIN, where a
    /// peek cannot tell it from data), and HTTP/2 resets streams.
    pub socket: Option<Arc<TcpStream>>,
    /// The connection counts towards `max_connections` and is waited for
    /// by a drain for as long as this context lives: an upgraded tunnel
    /// holds it too.
    pub counted: (Open, Track),
}

/// One request being served, from its start until hyper drops its
/// response body, or drops the request unanswered (a client that reset
/// its HTTP/2 stream): the connection is busy meanwhile, and idle from
/// then on (the header-read and HTTP/2 idle timeouts run from there).
pub struct Serving(Arc<Connection>);

impl Serving {
    fn begin(cx: Arc<Connection>) -> Serving {
        cx.activity.busy();
        Serving(cx)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.activity.idle();
    }
}

/// A client that hung up while its request waited on the upstream: the
/// request is dropped (its upstream connection closes, cancelling it) and
/// hyper closes the connection without an answer, as nginx does by
/// default.
#[derive(Debug, thiserror::Error)]
#[error("the client closed the connection before the response")]
pub struct ClientGone;

/// Runs `work` until it ends, or None once the client is gone. `work` is
/// pinned where it was made: moving a forwarding future copies kilobytes.
/// While the client's socket holds unread bytes (the rest of a request
/// body, or a pipelined request) a hang-up cannot be seen; it is looked
/// for again each time `work` wakes, so once the body has been read the
/// watch resumes.
async fn until_gone<F: Future>(
    socket: Option<&TcpStream>,
    mut work: Pin<&mut F>,
) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if let Some(socket) = socket
            && socket::poll_gone(socket, cx) == Poll::Ready(true)
        {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// A response body that marks its connection idle once hyper is done with
/// it (it holds the request's [`Serving`]): from then on the client has
/// `header_read_ms` for its next request. While it waits on its upstream
/// it watches for the client hanging up (as `until_gone` does).
pub struct Sent {
    body: Body,
    serving: Serving,
}

impl http_body::Body for Sent {
    type Data = bytes::Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if polled.is_pending()
            && let Some(socket) = &this.serving.0.socket
            && socket::poll_gone(socket, cx) == Poll::Ready(true)
        {
            return Poll::Ready(Some(Err(ClientGone.into())));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Answers one request. The service's future is this one future (routing
/// is synchronous, and only forwarding waits): every request's future is
/// moved into the connection's slot, so each extra async layer would copy
/// kilobytes more per request. A plain `fn` returning an `async move`
/// block: an `async fn` would keep a second copy of the request in its
/// future (its parameters are moved into locals).
#[allow(clippy::manual_async_fn)] // on purpose: see above
pub fn handle(
    mut req: Request<Incoming>,
    cx: Arc<Connection>,
) -> impl Future<Output = Result<Response<Sent>, ClientGone>> {
    async move {
        let serving = Serving::begin(cx);
        let cx = &serving.0;
        let Connection {
            shared, pool, conn, ..
        } = &**cx;
        let started = Instant::now();
        let state = shared.state.load_full();
        let log = shared.access_log.as_ref().map(|_| LogFields::of(&req));
        // The header's value is shared, not copied, and so is the host when
        // it is already in canonical form.
        let authority = req.uri().authority().cloned();
        let mut host_headers = req.headers().get_all(header::HOST).iter();
        let host_header = host_headers.next().cloned();
        // Two Host headers: no host at all (400, RFC 9112 §3.2).
        let twice = host_headers.next().is_some();
        let host = request_host(
            authority.as_ref().map(|a| a.as_str()),
            host_header.as_ref().map(|h| h.as_bytes()),
        )
        .filter(|_| !twice);
        // A load balancer's health check names the instance, not a site:
        // it is served as the request to the site it is configured for,
        // Host and all (routing, stage 3).
        let host = match &state.health_check {
            Some(hc)
                if !twice
                    && is_health_check(
                        &hc.path,
                        conn.tls,
                        req.method(),
                        req.uri().path(),
                        host.as_deref()
                            .is_some_and(|h| state.names.lookup(h).is_some()),
                    ) =>
            {
                req.headers_mut()
                    .insert(header::HOST, hc.host_header.clone());
                Some(std::borrow::Cow::Owned(hc.host.clone()))
            }
            _ => host,
        };
        // The match ends before the wait, so that the future does not hold
        // a `Routed` (with room for a whole response) across it.
        let mut squeeze = None;
        // Every answer leaves through `finish` (compression, HSTS, the
        // log), with what it needs of the request.
        macro_rules! leave {
            ($resp:expr) => {
                return Ok(finish(
                    $resp,
                    serving,
                    &state,
                    started,
                    log,
                    host.as_deref(),
                    squeeze,
                ))
            };
        }
        let (group, mut origin, limits, mut user) =
            match route(&req, host.as_deref(), conn, &state, started, &mut squeeze) {
                Routed::Answer(resp) => {
                    leave!(resp);
                }
                Routed::Reply(answer) => {
                    let resp = answer.await;
                    leave!(resp);
                }
                Routed::Forward(group, origin, limits, user) => (group, origin, limits, user),
                Routed::Guarded(checking, route, path) => {
                    let resp = match checking.await {
                        Ok(()) => serve_static(route, &req, &path, started),
                        Err(resp) => denied_credentials(resp),
                    };
                    leave!(resp);
                }
            };
        // The cache's key: the target as the client sent it.
        let cache_key = (user.cache.is_some()).then(|| {
            // The host as the upstream will get it (port and all), so that
            // nothing it may answer by is left out of the key.
            let sent = match (&authority, &host_header) {
                (Some(a), _) => a.as_str().as_bytes(),
                (None, Some(h)) => h.as_bytes(),
                (None, None) => b"",
            };
            let sent = String::from_utf8_lossy(sent);
            let sent = sent.rsplit_once('@').map_or(&*sent, |(_, host)| host);
            cache::key(&sent.to_ascii_lowercase(), &req)
        });
        if let Some(checking) = user.basic.take()
            && let Err(resp) = checking.await
        {
            let resp = denied_credentials(resp);
            leave!(resp);
        }
        if user.strip_authorization {
            req.headers_mut().remove(header::AUTHORIZATION);
        }
        if let Some(pending) = user.pending.take() {
            match pending.await {
                Ok(identity) => user.identity = Some(identity),
                Err(resp) => {
                    leave!(resp);
                }
            }
        }
        if user.login_site {
            auth::without_our_cookies(req.headers_mut());
        }
        if let Some(path) = user.path.take() {
            auth::path::set(&mut req, &path);
        }
        if let Some(target) = user.target.take() {
            rewrite::set_target(&mut req, &target);
        }
        if let Some(identity) = &user.identity {
            match identity.headers() {
                Ok(headers) => origin.identity = headers,
                Err(status) => {
                    let resp = pages::error(status);
                    leave!(resp);
                }
            }
        }
        // The response cache (stage 8).
        let mut caching = None;
        if let (Some(route_cache), Some(store), Some(key)) =
            (user.cache.take(), &state.cache, cache_key)
        {
            let compressing = squeeze
                .as_ref()
                .is_some_and(|s: &Squeeze| s.chosen.is_some());
            let identified = user.identity.is_some();
            let has_body = !http_body::Body::is_end_stream(req.body());
            let looked = cache::lookup(
                store,
                &route_cache,
                &mut req,
                key,
                identified,
                compressing,
                has_body,
            );
            // A login's renewed session goes with an answer from the cache
            // too.
            let with_cookies = |mut resp: Response<Body>, user: &mut User| {
                if let Some(identity) = user.identity.take() {
                    for cookie in identity.set_cookies {
                        resp.headers_mut().append(header::SET_COOKIE, cookie);
                    }
                }
                resp
            };
            let answered = match looked.await {
                cache::Lookup::Answer(resp) => Some(resp),
                cache::Lookup::Refresh(resp, pending) => {
                    refresh(pool, group, &req, &origin, &state, pending);
                    Some(resp)
                }
                cache::Lookup::Forward(pending) => {
                    caching = Some(pending);
                    None
                }
            };
            if let Some(resp) = answered {
                let resp = with_cookies(resp, &mut user);
                leave!(resp);
            }
        }
        let forwarded = {
            let forwarding = pin!(forward::forward(
                pool,
                group,
                req.map(Some),
                &origin,
                &limits,
                cx
            ));
            until_gone(cx.socket.as_deref(), forwarding).await
        };
        let Some(mut resp) = forwarded else {
            return Err(ClientGone);
        };
        if let Some(pending) = caching {
            resp = pending.complete(resp);
        }
        if let Some(identity) = user.identity {
            for cookie in identity.set_cookies {
                resp.headers_mut().append(header::SET_COOKIE, cookie);
            }
        }
        Ok(finish(
            resp,
            serving,
            &state,
            started,
            log,
            host.as_deref(),
            squeeze,
        ))
    }
}

/// A stale entry's refresh (stale-while-revalidate): the same request,
/// made again by the proxy in the background, its answer stored.
fn refresh(
    pool: &Pool,
    group: &Arc<Group>,
    req: &Request<Incoming>,
    origin: &Origin<'_>,
    state: &Arc<State>,
    pending: Box<cache::Pending>,
) {
    let mut again = Request::new(None::<Incoming>);
    *again.method_mut() = Method::GET;
    *again.uri_mut() = req.uri().clone();
    *again.version_mut() = req.version();
    *again.headers_mut() = req.headers().clone();
    let (pool, group, state) = (pool.clone(), Arc::clone(group), Arc::clone(state));
    let (peer, tls, host) = (origin.peer, origin.tls, origin.host.to_string());
    let identity = origin.identity.clone();
    tokio::spawn(async move {
        let origin = Origin {
            peer,
            tls,
            host: &host,
            identity,
        };
        let timeouts = &state.config.timeouts;
        let limits = forward::Limits {
            started: Instant::now(),
            max_body: 0,
            read_timeout: Duration::from_millis(timeouts.upstream_read_ms),
            tunnel_idle: Duration::from_millis(timeouts.tunnel_idle_ms),
            trusted: &state.config.trusted_proxies,
        };
        let held = Arc::new(());
        let resp = forward::forward(&pool, &group, again, &origin, &limits, &held).await;
        // Read to its end: that is when it is stored.
        let done = pending.in_background().complete(resp);
        let _ = http_body_util::BodyExt::collect(done.into_body()).await;
    });
}

/// The compression stage's word on a request: the route's settings and
/// the coding the client prefers.
pub struct Squeeze {
    compress: Arc<compress::Compress>,
    chosen: Option<crate::proxy::config::Encoding>,
    head: bool,
}

/// The response as it leaves: compressed (stage 10), HSTS on TLS,
/// counted, logged, and wrapped to mark the connection idle once sent.
fn finish(
    mut resp: Response<Body>,
    serving: Serving,
    state: &State,
    started: Instant,
    log: Option<LogFields>,
    host: Option<&str>,
    squeeze: Option<Squeeze>,
) -> Response<Sent> {
    let Connection { shared, conn, .. } = &*serving.0;
    if let Some(squeeze) = squeeze {
        let (compressed, chosen) = squeeze.compress.apply(resp, squeeze.head, squeeze.chosen);
        resp = compressed;
        if let Some(encoding) = chosen {
            shared.metrics.record_compressed(encoding);
        }
    }
    if conn.tls
        && let Some(hsts) = &state.hsts
    {
        resp.headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    let elapsed = started.elapsed();
    shared.metrics.record(resp.status().as_u16(), elapsed);
    let decision = resp.extensions().get::<PolicyDecision>().copied();
    if let Some(decision) = decision {
        shared.metrics.record_decision(decision);
    }
    if let (Some(writer), Some(fields)) = (&shared.access_log, log) {
        fields.write(writer, conn, host, &resp, elapsed, decision);
    }
    resp.map(|body| Sent { body, serving })
}

/// Where a request goes: answered here (now, or once the auth stage has
/// waited on the provider), or to an upstream group. Matched as soon as it
/// is made, never held across a wait.
#[allow(clippy::large_enum_variant)] // boxing the answer would allocate
enum Routed<'a> {
    Answer(Response<Body>),
    Reply(Pending<Response<Body>>),
    Forward(&'a Arc<Group>, Origin<'a>, forward::Limits<'a>, User),
    /// A static file, served once HTTP Basic credentials have been checked
    /// (off the event loop): the route and the path.
    Guarded(Pending<Result<(), Response<Body>>>, &'a Route, String),
}

/// The auth stage's word on a forwarded request.
#[derive(Default)]
struct User {
    /// The site has a login: our cookies are not passed on.
    login_site: bool,
    identity: Option<Box<Identity>>,
    /// To wait for first (a refresh, new signing keys).
    pending: Option<Pending<Result<Box<Identity>, Response<Body>>>>,
    /// The normalized path the request goes upstream with, when it is
    /// not the one it came with.
    path: Option<String>,
    /// The route's rewrite: the path and query the upstream receives.
    target: Option<String>,
    /// HTTP Basic credentials to check first.
    basic: Option<Pending<Result<(), Response<Body>>>>,
    /// The client's `Authorization` is not passed on (basic auth).
    strip_authorization: bool,
    /// The route's response cache.
    cache: Option<Arc<cache::RouteCache>>,
}

fn route<'a>(
    req: &Request<Incoming>,
    host: Option<&'a str>,
    conn: &ClientConn,
    state: &'a State,
    started: Instant,
    squeeze: &mut Option<Squeeze>,
) -> Routed<'a> {
    // HTTP/1.1 heads are held to max_headers by hyper's parser; HTTP/2
    // only to their size.
    if req.version() == Version::HTTP_2 && req.headers().len() > state.config.limits.max_headers {
        return Routed::Answer(pages::error(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
    }
    let path = req.uri().path();
    if !conn.tls
        && let Some(token) = path.strip_prefix(CHALLENGE_PREFIX)
    {
        return Routed::Answer(challenge(
            state,
            req.method(),
            token,
            req.headers(),
            started,
        ));
    }
    let Some(host) = host else {
        return Routed::Answer(pages::error(StatusCode::BAD_REQUEST));
    };
    let Some(site_index) = state.names.lookup(host) else {
        return Routed::Answer(pages::error(StatusCode::NOT_FOUND));
    };
    if conn.tls {
        // A TLS connection belongs to the site its certificate was chosen
        // for (by SNI, or the default certificate without one); it may not
        // be used for another site, nor for a plain-HTTP one.
        let bound = match &conn.sni {
            Some(sni) => state.names.lookup(sni),
            None => state.default_tls_site,
        };
        if bound != Some(site_index) || !state.sites[site_index].tls {
            return Routed::Answer(pages::error(StatusCode::MISDIRECTED_REQUEST));
        }
    }
    let site = &state.sites[site_index];
    if site.tls && !conn.tls {
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let location = https_location(host, state.https_port, target);
        return Routed::Answer(pages::redirect(redirect_status(req.method()), &location));
    }
    // Redirects (stage 4, before anything is decided about the client).
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    if let Some(canonical) = &site.canonical_host
        && host != canonical
    {
        let location = if conn.tls {
            https_location(canonical, state.https_port, target)
        } else {
            let port = state.config.http_listen.first().map_or(80, |a| a.port());
            http_location(canonical, port, target)
        };
        let status = redirect_status(req.method());
        return Routed::Answer(redirected(
            status,
            &location,
            PolicyDecision::RedirectedHost,
        ));
    }
    if let Some((location, rule)) = rewrite::redirect(&site.redirects, path, req.uri().query()) {
        return Routed::Answer(redirected(
            rule.status,
            &location,
            PolicyDecision::RedirectedRule,
        ));
    }
    // On a site whose routes are guarded differently (a login, access
    // lists, basic auth, rate limits of their own), routing and the guards
    // decide on the path the upstream will read (`auth::path`), which it
    // then gets: `/%61dmin/` may not slip past the `/admin/` route's guard
    // to a route without one.
    let normalized;
    let path = match site.normalize.then(|| auth::path::normalize(path)) {
        Some(auth::path::Normal::Refused) => {
            return Routed::Answer(pages::error(StatusCode::BAD_REQUEST));
        }
        Some(auth::path::Normal::Changed(p)) => {
            normalized = p;
            normalized.as_str()
        }
        _ => path,
    };
    // Access control (stage 5): the client's address once a list applies.
    let client =
        || forwarding::client_ip(conn.peer.ip(), req.headers(), &state.config.trusted_proxies);
    if let Some(access) = &site.access
        && site.auth.is_some()
        && auth::is_endpoint(path)
        && !access::admits(access, client())
    {
        return Routed::Answer(refused(PolicyDecision::DeniedAddress));
    }
    if let Some(provider) = &site.auth {
        let policies = if path == auth::CALLBACK {
            site.policies()
        } else {
            Vec::new()
        };
        let policy_of = move |back: &str| {
            let path = back.split('?').next().unwrap_or(back);
            longest_prefix(policies.iter().map(|(p, _)| p.as_str()), path)
                .and_then(|i| policies[i].1.clone())
        };
        match auth::endpoint(provider, req, path, policy_of) {
            Some(Decision::Answer(resp)) => return Routed::Answer(resp),
            Some(Decision::Reply(answer)) => return Routed::Reply(answer),
            _ => {}
        }
    }
    let Some(route) = site.route(path) else {
        return Routed::Answer(pages::error(StatusCode::NOT_FOUND));
    };
    if let Some(compress) = &route.compress {
        *squeeze = Some(Squeeze {
            chosen: compress.choose(req.headers().get(header::ACCEPT_ENCODING)),
            compress: Arc::clone(compress),
            head: req.method() == Method::HEAD,
        });
    }
    if let Some(policy) = route.trailing_slash
        && let Some(to) = rewrite::slash(policy, path)
    {
        let location = match req.uri().query() {
            Some(q) => format!("{to}?{q}"),
            None => to,
        };
        let status = redirect_status(req.method());
        return Routed::Answer(redirected(
            status,
            &location,
            PolicyDecision::RedirectedSlash,
        ));
    }
    if let Some(access) = &route.access
        && !access::admits(access, client())
    {
        return Routed::Answer(refused(PolicyDecision::DeniedAddress));
    }
    if matches!(route.kind, RouteKind::Proxy(_))
        && (access::dot_segment(path) || (!route.allow_dotfiles && access::hidden(path)))
    {
        return Routed::Answer(refused(PolicyDecision::DeniedDotfile));
    }
    // Rate limits (stage 5, after access control).
    let mut held = None;
    if let Some(limiter) = &route.rate_limit {
        match limiter.check(client().unwrap_or(conn.peer.ip())) {
            limit::Verdict::Pass => {}
            limit::Verdict::Wait(wait) => held = Some(wait),
            limit::Verdict::Refuse(wait) => return Routed::Answer(too_many(wait)),
        }
    }
    // The rewrite (stage 7) is made now and applied after the login; what
    // it makes is held to the dotfile rule too.
    let target = route
        .rewrite
        .as_ref()
        .and_then(|r| r.apply(path, req.uri().query()));
    if let Some(t) = &target {
        let rewritten = t.split('?').next().unwrap_or(t);
        if access::dot_segment(rewritten) || (!route.allow_dotfiles && access::hidden(rewritten)) {
            return Routed::Answer(refused(PolicyDecision::DeniedDotfile));
        }
        if http::uri::PathAndQuery::try_from(t.as_str()).is_err() {
            return Routed::Answer(pages::error(StatusCode::INTERNAL_SERVER_ERROR));
        }
    }
    let mut user = User {
        cache: route.cache.clone(),
        login_site: site.auth.is_some(),
        path: (path != req.uri().path()).then(|| path.to_string()),
        target,
        ..User::default()
    };
    if let (Some(provider), Some(policy)) = (&site.auth, &route.auth) {
        match auth::check(provider, policy, req, path) {
            Decision::Pass(identity) => user.identity = identity,
            Decision::Answer(resp) => return Routed::Answer(resp),
            Decision::Reply(answer) => return Routed::Reply(answer),
            Decision::Wait(pending) => user.pending = Some(pending),
        }
    }
    if let Some(basic) = &route.basic_auth {
        user.strip_authorization = !basic.forward_authorization;
        match basic.check(req.headers()) {
            basic::Check::Pass => {}
            basic::Check::Refuse(resp) => return Routed::Answer(denied_credentials(resp)),
            basic::Check::Verify(checking) => user.basic = Some(checking),
        }
    }
    if let Some(wait) = held {
        // Held for its turn, then (after its credentials, if any) let on.
        let checking = user.basic.take();
        user.basic = Some(Box::pin(async move {
            tokio::time::sleep(wait).await;
            match checking {
                Some(checking) => checking.await,
                None => Ok(()),
            }
        }));
    }
    if let RouteKind::Static(_) = &route.kind
        && let Some(checking) = user.basic.take()
    {
        return Routed::Guarded(checking, route, path.to_string());
    }
    if let RouteKind::Static(_) = &route.kind
        && let Some(pending) = user.pending.take()
    {
        // The file is not served from the wait: once the session is
        // renewed (or the keys read), the client is sent to ask again,
        // with the new cookie.
        let again = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        return Routed::Reply(Box::pin(async move {
            match pending.await {
                Ok(identity) => {
                    let mut resp = pages::redirect(StatusCode::TEMPORARY_REDIRECT, &again);
                    for cookie in identity.set_cookies {
                        resp.headers_mut().append(header::SET_COOKIE, cookie);
                    }
                    resp
                }
                Err(resp) => resp,
            }
        }));
    }
    let resp = match &route.kind {
        RouteKind::Static(_) => {
            if path.len() < route.prefix.len() {
                // `/static` for the `/static/` route: the directory itself.
                return Routed::Answer(pages::redirect(
                    StatusCode::MOVED_PERMANENTLY,
                    &route.prefix,
                ));
            }
            serve_static(route, req, path, started)
        }
        RouteKind::Proxy(group) => {
            let timeouts = &state.config.timeouts;
            let origin = Origin {
                peer: conn.peer,
                tls: conn.tls,
                host,
                identity: Vec::new(),
            };
            let limits = forward::Limits {
                started,
                max_body: route.max_body,
                read_timeout: Duration::from_millis(timeouts.upstream_read_ms),
                tunnel_idle: Duration::from_millis(timeouts.tunnel_idle_ms),
                trusted: &state.config.trusted_proxies,
            };
            return Routed::Forward(group, origin, limits, user);
        }
    };
    Routed::Answer(resp)
}

/// A static route's file for `path` (at least as long as its prefix).
fn serve_static(
    route: &Route,
    req: &Request<Incoming>,
    path: &str,
    started: Instant,
) -> Response<Body> {
    let RouteKind::Static(root) = &route.kind else {
        return pages::error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let rest = path.get(route.prefix.len()..).unwrap_or("");
    files::serve(root, req.method(), path, rest, req.headers(), started)
}

/// 429 with `Retry-After`, marked as a decision.
fn too_many(wait: Duration) -> Response<Body> {
    let mut resp = pages::error(StatusCode::TOO_MANY_REQUESTS);
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(limit::retry_after(wait)),
    );
    resp.extensions_mut().insert(PolicyDecision::Limited);
    resp
}

/// A 401 of HTTP Basic auth, marked as a decision.
fn denied_credentials(mut resp: Response<Body>) -> Response<Body> {
    resp.extensions_mut()
        .insert(PolicyDecision::DeniedCredentials);
    resp
}

/// 301 for GET and HEAD, 308 for other methods (which must be repeated
/// as they were).
fn redirect_status(method: &Method) -> StatusCode {
    if method == Method::GET || method == Method::HEAD {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    }
}

/// A redirect of the traffic policy, marked with its decision.
fn redirected(status: StatusCode, location: &str, decision: PolicyDecision) -> Response<Body> {
    let mut resp = pages::redirect(status, location);
    resp.extensions_mut().insert(decision);
    resp
}

/// 403 from the traffic policy, marked with its decision (counted and
/// logged in `finish`).
fn refused(decision: PolicyDecision) -> Response<Body> {
    let mut resp = pages::error(StatusCode::FORBIDDEN);
    resp.extensions_mut().insert(decision);
    resp
}

/// An HTTP-01 token file: only the token alphabet (base64url) is looked up.
fn challenge(
    state: &State,
    method: &Method,
    token: &str,
    headers: &http::HeaderMap,
    now: Instant,
) -> Response<Body> {
    let valid = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return pages::error(StatusCode::NOT_FOUND);
    }
    let mut resp = files::serve(&state.challenge, method, token, token, headers, now);
    if resp.status() == StatusCode::OK {
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    }
    resp
}

/// The request's parts the access log needs, taken before the request is
/// consumed.
struct LogFields {
    method: Method,
    target: String,
    version: Version,
    referer: String,
    user_agent: String,
}

impl LogFields {
    fn of(req: &Request<Incoming>) -> LogFields {
        let text = |name| {
            req.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        LogFields {
            method: req.method().clone(),
            target: req
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_string(),
            version: req.version(),
            referer: text(header::REFERER),
            user_agent: text(header::USER_AGENT),
        }
    }

    fn write(
        self,
        writer: &access_log::Writer,
        conn: &ClientConn,
        host: Option<&str>,
        resp: &Response<Body>,
        elapsed: Duration,
        decision: Option<PolicyDecision>,
    ) {
        let version = match self.version {
            Version::HTTP_10 => "HTTP/1.0",
            Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        };
        // The body's own length (hyper writes Content-Length from it), else
        // the header (a HEAD response, or an upstream's).
        let bytes = http_body::Body::size_hint(resp.body()).exact().or_else(|| {
            resp.headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
        });
        writer.write(&Entry {
            peer: conn.peer.ip(),
            method: self.method.as_str(),
            target: &self.target,
            version,
            host: host.unwrap_or(""),
            status: resp.status().as_u16(),
            bytes,
            referer: &self.referer,
            user_agent: &self.user_agent,
            duration: elapsed,
            policy: decision
                .map(|d| {
                    let (decision, reason) = d.labels();
                    format!("{decision}:{reason}")
                })
                .as_deref(),
            cache: resp.headers().get("x-cache").and_then(|v| v.to_str().ok()),
        });
    }
}
