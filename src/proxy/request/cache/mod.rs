//! Stage 8: the response cache of proxied routes, a shared cache as RFC
//! 9111 describes one.
//!
//! - **Key**: the host (lower-case, with the port if the client sent
//!   one: the upstream gets it so) and the target as the client sent
//!   them (`s.test/a?b=1`), and a variant per value of the request headers the
//!   response names in `Vary`. GET and HEAD are looked up; only GETs
//!   store.
//! - **Stored** ([`policy::storable`]): explicit freshness (`s-maxage`,
//!   `max-age`, `Expires`) or the route's `default_ttl_s`; never
//!   `no-store`, `private`, `Vary: *`, a `Set-Cookie` (unless the route
//!   strips it from the stored copy), nor a response to a request with
//!   credentials (`Authorization`, or a login's identity passed upstream)
//!   unless it is `public`, `s-maxage` or `must-revalidate`; nor is
//!   such a request answered from one that is not. Bodies over `max_entry_kb` pass through unstored.
//! - **Fresh** entries answer at once (`X-Cache: HIT`, with `Age`); a
//!   client's `If-None-Match`/`If-Modified-Since` that matches gets 304.
//! - **Stale** ones are revalidated: with the stored `ETag` or
//!   `Last-Modified` as a conditional request, a 304 refreshing the entry
//!   (`REVALIDATED`). Within `stale-while-revalidate` the stale entry
//!   answers at once (`STALE`) while one request refreshes it in the
//!   background; within `stale-if-error` it answers when the upstream
//!   fails or answers 500, 502, 503 or 504 (`STALE`). Never for
//!   `must-revalidate`, `proxy-revalidate` or `s-maxage` entries.
//! - **Coalescing**: concurrent misses of one key make one upstream
//!   request; the others wait for it (up to [`WAIT_FOR_FETCH`]) and are
//!   answered from what it stored (`HIT`), or go to the upstream
//!   themselves when it stored nothing.
//! - Anything else on a cached route (other methods, `Range`, upgrades,
//!   a GET with a body) is `BYPASS`; a successful unsafe request drops
//!   what is stored for its target (RFC 9111 §4.4).
//! - Never stored either: a response varying by a header the proxy sets
//!   itself (forwarding, a login's identity), whose value the key could
//!   not hold; a 304's `Set-Cookie` (its client's alone).
//!
//! The client that caused a fetch gets the response as it streams; a copy
//! is kept as it passes ([`Recording`]) and stored once whole.

pub mod policy;
mod store;

pub use store::{Outcome, Purge, Store};

use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body as _, Frame, SizeHint};

use crate::proxy::body::{Body, BoxError};
use crate::proxy::clock::now_ms;
use crate::proxy::config::{CacheConfig, RouteConfig};
use crate::proxy::request::compress::Encoded;
use policy::{Directives, Rules, Storable};
use store::{Entry, Flight, Joined};

/// How long a miss waits for another request's fetch of its key before
/// going to the upstream itself (nginx's `proxy_cache_lock_timeout`).
pub const WAIT_FOR_FETCH: Duration = Duration::from_secs(5);

/// A route's cache, compiled.
#[derive(Debug)]
pub struct RouteCache {
    pub rules: Rules,
    /// What the route is (its site, path, upstreams, rewrite and cache
    /// settings): entries stored for another are not served, and a reload
    /// drops them.
    pub fingerprint: u64,
}

impl RouteCache {
    /// None when the table turns the cache off.
    pub fn compile(
        config: &CacheConfig,
        site: &str,
        route: &RouteConfig,
    ) -> Option<Arc<RouteCache>> {
        if !config.enabled {
            return None;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (site, &route.path, &route.upstreams, &route.rewrite, config).hash(&mut h);
        Some(Arc::new(RouteCache {
            rules: Rules {
                default_ttl: config.default_ttl_s,
                strip_set_cookie: config.strip_set_cookie,
            },
            fingerprint: h.finish(),
        }))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The key of a request: host and target as the client sent them.
pub fn key(host: &str, req: &Request<impl Sized>) -> String {
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let mut key = String::with_capacity(host.len() + target.len());
    key.push_str(host);
    key.push_str(target);
    key
}

/// What the cache stage decided for a request.
pub enum Lookup {
    /// Answered from the cache.
    Answer(Response<Body>),
    /// Answered from a stale entry; the request (made by the caller)
    /// refreshes it in the background and is finished with this.
    Refresh(Response<Body>, Box<Pending>),
    /// To the upstream; the response is finished with this.
    Forward(Box<Pending>),
}

/// A request on its way to the upstream, and what to do with the answer.
pub struct Pending {
    store: Arc<Store>,
    route: Arc<RouteCache>,
    key: String,
    mode: Mode,
    /// When the request left (Unix seconds).
    requested: u64,
    method: Method,
    authorized: bool,
    directives: Directives,
    /// The request's headers, for the values of what the response varies
    /// by (kept only when the response may be stored).
    headers: HeaderMap,
    compressing: bool,
    /// A client's request (counted in the metrics), not the proxy's own
    /// background refresh.
    counted: bool,
}

enum Mode {
    Bypass,
    /// A miss: the flight others wait on, if this request leads one.
    Fetch(Option<Flight>),
    /// A stale entry asked again (conditionally when it has a validator).
    Revalidate(Arc<Entry>, Option<Flight>),
}

/// Looks `req` up. A request sent on may have been changed: its own
/// conditional headers are replaced by the cache's (the cache needs a full
/// answer to store, or a 304 about its entry). `identified`: the upstream
/// learns who the client is (a login's identity headers), which counts
/// as credentials. `compressing`: the route compresses, and a hit carries
/// its compressed copies.
pub async fn lookup<B>(
    store: &Arc<Store>,
    route: &Arc<RouteCache>,
    req: &mut Request<B>,
    key: String,
    identified: bool,
    compressing: bool,
    has_body: bool,
) -> Lookup {
    let authorized = identified || req.headers().contains_key(header::AUTHORIZATION);
    let method = req.method().clone();
    let pending = |mode, req: &Request<B>| {
        Box::new(Pending {
            store: Arc::clone(store),
            route: Arc::clone(route),
            key: key.clone(),
            mode,
            requested: unix_now(),
            method: req.method().clone(),
            authorized,
            directives: Directives::of(req.headers()),
            headers: req.headers().clone(),
            compressing,
            counted: true,
        })
    };
    // A GET with a body could make the upstream answer what the key
    // does not say.
    let cacheable = (method == Method::GET || method == Method::HEAD)
        && !has_body
        && !req.headers().contains_key(header::RANGE)
        && !req.headers().contains_key(header::UPGRADE);
    if !cacheable {
        return Lookup::Forward(pending(Mode::Bypass, req));
    }
    let mut waited = false;
    loop {
        let now = now_ms();
        let found = store
            .get(&key, req.headers(), route.fingerprint)
            .filter(|e| !authorized || e.shared_with_credentials);
        if let Some(entry) = found {
            match entry.stale_by(now) {
                None => {
                    store.count(Outcome::Hit);
                    let resp = serve(
                        store,
                        &key,
                        &entry,
                        Outcome::Hit,
                        req.headers(),
                        &method,
                        compressing,
                    );
                    return Lookup::Answer(resp);
                }
                Some(late)
                    if !entry.must_revalidate
                        && late < entry.stale_while_revalidate.saturating_mul(1000) =>
                {
                    store.count(Outcome::Stale);
                    let resp = serve(
                        store,
                        &key,
                        &entry,
                        Outcome::Stale,
                        req.headers(),
                        &method,
                        compressing,
                    );
                    // One refresh at a time.
                    return match store.join(&key) {
                        Joined::First(flight) => {
                            set_validators(req.headers_mut(), &entry);
                            let p = pending(Mode::Revalidate(entry, Some(flight)), req);
                            Lookup::Refresh(resp, p)
                        }
                        Joined::Wait(_) => Lookup::Answer(resp),
                    };
                }
                Some(_) => {
                    // Concurrent requests for a stale entry wait for one
                    // revalidation, as misses do for one fetch.
                    let flight = match store.join(&key) {
                        Joined::First(flight) => Some(flight),
                        Joined::Wait(mut done) if !waited => {
                            waited = true;
                            let _ = tokio::time::timeout(WAIT_FOR_FETCH, done.changed()).await;
                            continue;
                        }
                        Joined::Wait(_) => None,
                    };
                    set_validators(req.headers_mut(), &entry);
                    return Lookup::Forward(pending(Mode::Revalidate(entry, flight), req));
                }
            }
        }
        if method == Method::HEAD {
            return Lookup::Forward(pending(Mode::Fetch(None), req));
        }
        match store.join(&key) {
            Joined::First(flight) => {
                strip_conditionals(req.headers_mut());
                return Lookup::Forward(pending(Mode::Fetch(Some(flight)), req));
            }
            Joined::Wait(mut done) if !waited => {
                waited = true;
                let _ = tokio::time::timeout(WAIT_FOR_FETCH, done.changed()).await;
            }
            Joined::Wait(_) => {
                return Lookup::Forward(pending(Mode::Fetch(None), req));
            }
        }
    }
}

fn strip_conditionals(headers: &mut HeaderMap) {
    for name in [
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
        header::IF_MATCH,
        header::IF_UNMODIFIED_SINCE,
        header::IF_RANGE,
    ] {
        headers.remove(name);
    }
}

/// The cache's own conditional request for `entry`.
fn set_validators(headers: &mut HeaderMap, entry: &Entry) {
    strip_conditionals(headers);
    if let Some(etag) = entry.headers.get(header::ETAG) {
        headers.insert(header::IF_NONE_MATCH, etag.clone());
    }
    if let Some(modified) = entry.headers.get(header::LAST_MODIFIED) {
        headers.insert(header::IF_MODIFIED_SINCE, modified.clone());
    }
}

/// `entry` as an answer: its head with `Age` and `X-Cache`, 304 to a
/// client whose validator matches it, the body unless a HEAD.
fn serve(
    store: &Arc<Store>,
    key: &str,
    entry: &Arc<Entry>,
    outcome: Outcome,
    request: &HeaderMap,
    method: &Method,
    compressing: bool,
) -> Response<Body> {
    let now = now_ms();
    if entry.status == StatusCode::OK && policy::not_modified(request, &entry.headers) {
        let mut headers = HeaderMap::new();
        for name in [
            header::ETAG,
            header::CACHE_CONTROL,
            header::VARY,
            header::EXPIRES,
            header::LAST_MODIFIED,
            header::DATE,
        ] {
            for v in entry.headers.get_all(&name) {
                headers.append(name.clone(), v.clone());
            }
        }
        headers.insert(header::AGE, HeaderValue::from(entry.age(now)));
        headers.insert("x-cache", outcome.header());
        return Body::empty().respond(StatusCode::NOT_MODIFIED, headers);
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::full(entry.body.clone())
    };
    let mut resp = body.respond(entry.status, entry.headers.clone());
    resp.headers_mut()
        .insert(header::AGE, HeaderValue::from(entry.age(now)));
    resp.headers_mut().insert("x-cache", outcome.header());
    if compressing {
        let (entry, store, key) = (Arc::clone(entry), Arc::clone(store), key.to_string());
        resp.extensions_mut()
            .insert(Encoded(Arc::new(move |encoding, levels| {
                store.encoded(&key, &entry, encoding, levels)
            })));
    }
    resp
}

impl Pending {
    /// The upstream's answer `resp` as the client gets it: stored (as it
    /// streams) when it may be, or replaced by the entry it revalidated
    /// or by a stale one when the upstream failed.
    pub fn complete(self: Box<Self>, resp: Response<Body>) -> Response<Body> {
        let received = unix_now();
        let now = now_ms();
        match self.mode {
            Mode::Bypass => {
                self.count(Outcome::Bypass);
                // RFC 9111 §4.4: a successful unsafe request invalidates
                // what is stored for its target.
                if !self.method.is_safe() && resp.status().as_u16() < 400 {
                    self.store.purge(Purge::Key(&self.key));
                }
                marked(resp, Outcome::Bypass)
            }
            Mode::Revalidate(ref entry, _) if resp.status() == StatusCode::NOT_MODIFIED => {
                let entry = Arc::clone(entry);
                let refreshed = self.refreshed(&entry, resp.headers(), received, now);
                // The 304 may say the response is no longer to be shared
                // (`private`, `no-store`): then it goes, and only this
                // client gets it.
                let still = policy::storable(
                    &Method::GET,
                    self.authorized,
                    &self.directives,
                    refreshed.status,
                    &refreshed.headers,
                    &Directives::of(&refreshed.headers),
                    self.route.rules,
                );
                if still == Storable::Yes {
                    self.store.put(&self.key, Arc::clone(&refreshed));
                } else {
                    self.store.purge(Purge::Key(&self.key));
                }
                self.count(Outcome::Revalidated);
                let mut answer = serve(
                    &self.store,
                    &self.key,
                    &refreshed,
                    Outcome::Revalidated,
                    &HeaderMap::new(),
                    &self.method,
                    self.compressing && still == Storable::Yes,
                );
                // A cookie in the 304 is this client's alone: never stored.
                for cookie in resp.headers().get_all(header::SET_COOKIE) {
                    answer
                        .headers_mut()
                        .append(header::SET_COOKIE, cookie.clone());
                }
                answer
            }
            Mode::Revalidate(ref entry, _)
                if matches!(resp.status().as_u16(), 500 | 502 | 503 | 504)
                    && !entry.must_revalidate
                    && entry
                        .stale_by(now)
                        .is_some_and(|late| late < entry.stale_if_error.saturating_mul(1000)) =>
            {
                self.count(Outcome::Stale);
                tracing::warn!(
                    "upstream answered {} for {}: serving the stored response (stale-if-error)",
                    resp.status().as_u16(),
                    self.key
                );
                serve(
                    &self.store,
                    &self.key,
                    entry,
                    Outcome::Stale,
                    &HeaderMap::new(),
                    &self.method,
                    self.compressing,
                )
            }
            _ => {
                self.count(Outcome::Miss);
                self.keep(resp)
            }
        }
    }

    /// A background refresh: not a client's request, so not counted.
    pub fn in_background(mut self: Box<Self>) -> Box<Self> {
        self.counted = false;
        self
    }

    fn count(&self, outcome: Outcome) {
        if self.counted {
            self.store.count(outcome);
        }
    }

    /// `entry` made fresh again by a 304's headers (RFC 9111 §4.3.4).
    fn refreshed(&self, entry: &Entry, update: &HeaderMap, received: u64, now: u64) -> Arc<Entry> {
        let mut headers = entry.headers.clone();
        for name in update.keys() {
            if matches!(
                *name,
                header::CONTENT_LENGTH
                    | header::CONTENT_ENCODING
                    | header::TRANSFER_ENCODING
                    | header::SET_COOKIE
                    | header::AGE
            ) {
                continue;
            }
            headers.remove(name);
            for v in update.get_all(name) {
                headers.append(name.clone(), v.clone());
            }
        }
        let directives = Directives::of(&headers);
        Arc::new(Entry::new(
            entry.status,
            headers.clone(),
            entry.body.clone(),
            now,
            policy::initial_age(update, self.requested, received),
            policy::freshness(&headers, &directives, self.route.rules.default_ttl),
            &directives,
            entry.vary.clone(),
            entry.route,
        ))
    }

    /// A fresh answer: passed on, and recorded when it may be stored.
    fn keep(self: Box<Self>, mut resp: Response<Body>) -> Response<Body> {
        let directives = Directives::of(resp.headers());
        let storable = policy::storable(
            &self.method,
            self.authorized,
            &self.directives,
            resp.status(),
            resp.headers(),
            &directives,
            self.route.rules,
        );
        let too_large = resp
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > self.store.max_entry());
        if storable != Storable::Yes || too_large {
            return marked(resp, Outcome::Miss);
        }
        let vary = policy::vary_names(resp.headers())
            .unwrap_or_default()
            .into_iter()
            .map(|name| {
                let value = self.headers.get(&name).cloned();
                (name, value)
            })
            .collect();
        let mut stored = resp.headers().clone();
        if self.route.rules.strip_set_cookie {
            stored.remove(header::SET_COOKIE);
        }
        stored.remove(header::AGE);
        stored.remove(header::TRANSFER_ENCODING);
        let flight = match self.mode {
            Mode::Fetch(flight) | Mode::Revalidate(_, flight) => flight,
            Mode::Bypass => None,
        };
        let keep = Keep {
            store: self.store,
            key: self.key,
            status: resp.status(),
            fresh_for: policy::freshness(&stored, &directives, self.route.rules.default_ttl),
            initial_age: policy::initial_age(&stored, self.requested, unix_now()),
            headers: stored,
            directives,
            vary,
            route: self.route.fingerprint,
            _flight: flight,
        };
        let limit = keep.store.max_entry();
        let inner = std::mem::replace(resp.body_mut(), Body::empty());
        let expected = inner.size_hint().exact().unwrap_or(0).min(limit as u64);
        *resp.body_mut() = Body::Recorded(Box::new(Recording {
            inner,
            kept: Some(Vec::with_capacity(expected as usize)),
            limit,
            keep: Some(keep),
        }));
        marked(resp, Outcome::Miss)
    }
}

fn marked(mut resp: Response<Body>, outcome: Outcome) -> Response<Body> {
    resp.headers_mut().insert("x-cache", outcome.header());
    resp
}

/// What a recorded response is stored as once its body is whole; the
/// fetch others wait on ends when it is dropped.
struct Keep {
    store: Arc<Store>,
    key: String,
    status: StatusCode,
    headers: HeaderMap,
    directives: Directives,
    fresh_for: u64,
    initial_age: u64,
    vary: Vec<(http::HeaderName, Option<HeaderValue>)>,
    route: u64,
    _flight: Option<Flight>,
}

impl Keep {
    fn store(mut self, mut body: Vec<u8>) {
        // `Bytes` keeps a vector's spare capacity: the store counts what
        // it holds.
        body.shrink_to_fit();
        self.headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        let entry = Entry::new(
            self.status,
            std::mem::take(&mut self.headers),
            Bytes::from(body),
            now_ms(),
            self.initial_age,
            self.fresh_for,
            &self.directives,
            std::mem::take(&mut self.vary),
            self.route,
        );
        self.store.put(&self.key, Arc::new(entry));
        // The flight ends (waiters wake) after the entry is in.
    }
}

/// A body passed on as it arrives, a copy kept and stored at its end
/// (dropped, unstored, past the entry limit or on an error).
pub struct Recording {
    inner: Body,
    kept: Option<Vec<u8>>,
    limit: usize,
    keep: Option<Keep>,
}

impl Recording {
    pub fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(kept), Some(data)) = (self.kept.as_mut(), frame.data_ref()) {
                    if kept.len() + data.len() > self.limit {
                        self.kept = None;
                        self.keep = None;
                    } else {
                        kept.extend_from_slice(data);
                    }
                }
                // A body of known length is not polled past its last
                // byte: stored as soon as that has come.
                if self.inner.is_end_stream() {
                    self.store();
                }
            }
            Poll::Ready(Some(Err(_))) => {
                self.kept = None;
                self.keep = None;
            }
            Poll::Ready(None) => self.store(),
            Poll::Pending => {}
        }
        polled
    }

    fn store(&mut self) {
        if let (Some(kept), Some(keep)) = (self.kept.take(), self.keep.take()) {
            keep.store(kept);
        }
    }

    pub fn is_end_stream(&self) -> bool {
        // Polled to its end even when empty, so that it is stored.
        self.keep.is_none() && self.inner.is_end_stream()
    }

    pub fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
