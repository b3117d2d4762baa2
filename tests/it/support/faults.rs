//! A fault-injecting HTTP/1.1 reverse proxy between the AWS SDK and
//! moto_server: throttling and odd responses that moto never produces.
//!
//! It runs on a tokio runtime of its own in a background thread (tests are
//! often sync), listens on a free port of 127.0.0.1 and stops when
//! dropped. Requests are forwarded unchanged (method, path and query,
//! headers, body), the `Host` header included, so SigV4 signatures still
//! match what moto sees. Bodies are buffered (AWS bodies here are small).

#![expect(
    clippy::disallowed_macros,
    reason = "a test helper: the proxy's own errors go to the test's stderr"
)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// How long the proxy waits for moto before answering 504.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

type Rewrite = Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>;

/// A reverse proxy in front of moto that can throttle and rewrite.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct State {
    /// `http://127.0.0.1:PORT` of moto.
    upstream: String,
    faults: Mutex<Faults>,
    forwarded: AtomicUsize,
    throttled: AtomicUsize,
    /// Numbers the request ids of injected errors.
    injected: AtomicUsize,
}

#[derive(Default)]
struct Faults {
    /// Percentage of requests throttled, and the sequence that picks them.
    throttle: Option<(u32, SplitMix64)>,
    /// (X-Amz-Target suffix, rewrite of the response body).
    rewrites: Vec<(String, Rewrite)>,
    /// A query-protocol action (`DeleteTargetGroup`) whose next request
    /// fails with a client error, which the SDK does not retry.
    fail_next: Option<String>,
}

/// A small seeded pseudo-random sequence (splitmix64).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The AWS protocol of a request, which decides how its throttling
/// error looks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Protocol {
    /// awsJson 1.0/1.1 (`X-Amz-Target`: ACM and others).
    Json,
    /// Route 53's REST-XML (`/2013-04-01/...`).
    Route53,
    /// EC2's query protocol (form body with `Action=`).
    Ec2Query,
    /// moto's own API, or something unknown: never throttled.
    Other,
}

impl FaultProxy {
    /// Starts in front of `upstream` (e.g. moto.endpoint(), "http://127.0.0.1:PORT").
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream.trim_end_matches('/').to_string();
        assert!(
            upstream.starts_with("http://127.0.0.1:"),
            "FaultProxy forwards to loopback only: {upstream}"
        );
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("FaultProxy: bind 127.0.0.1");
        let addr = listener.local_addr().expect("FaultProxy: local address");
        listener
            .set_nonblocking(true)
            .expect("FaultProxy: non-blocking listener");
        let state = Arc::new(State {
            upstream,
            faults: Mutex::new(Faults::default()),
            forwarded: AtomicUsize::new(0),
            throttled: AtomicUsize::new(0),
            injected: AtomicUsize::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || serve(listener, thread_state, stopped))
            .expect("FaultProxy: spawn its thread");
        FaultProxy {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// "http://127.0.0.1:PORT": the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers `percent` % of requests (a seeded pseudo-random sequence, so a run is reproducible; seed given) with the service's own throttling error instead of forwarding them.
    ///
    /// The sequence restarts at each call; `percent` 0 turns throttling
    /// off. Requests of an unknown protocol and moto's `/moto-api/` are
    /// never throttled and draw nothing from the sequence.
    pub fn throttle(&self, percent: u32, seed: u64) {
        assert!(percent <= 100, "throttle percent {percent} > 100");
        self.state.faults().throttle = (percent > 0).then_some((percent, SplitMix64(seed)));
    }

    /// Fails the next request of the query-protocol `action` (EC2 and
    /// Elastic Load Balancing: `Action=` in the form body) with a 400
    /// `InjectedFault` that no SDK retries; later ones go through.
    pub fn fail_next(&self, action: &str) {
        self.state.faults().fail_next = Some(action.to_string());
    }

    /// Rewrites the JSON body of responses to awsJson requests whose `X-Amz-Target` header ends with `target_suffix` (e.g. "DescribeCertificate"); the closure gets the parsed body and may change it. Replaces an earlier rewrite for the same suffix.
    ///
    /// Error responses are rewritten too (the closure can tell them by
    /// their `__type`). A body that is not JSON, or a closure that
    /// panics, makes the proxy answer 502 with the reason.
    pub fn rewrite_json(
        &self,
        target_suffix: &str,
        f: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
    ) {
        let mut faults = self.state.faults();
        faults
            .rewrites
            .retain(|(suffix, _)| suffix != target_suffix);
        faults
            .rewrites
            .push((target_suffix.to_string(), Arc::new(f)));
    }

    /// How many requests were forwarded to the upstream.
    pub fn forwarded(&self) -> usize {
        self.state.forwarded.load(Ordering::SeqCst)
    }

    /// How many requests were answered with an injected throttling error.
    pub fn throttled(&self) -> usize {
        self.state.throttled.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            eprintln!("FaultProxy on {}: its thread panicked", self.addr);
        }
    }
}

impl State {
    /// The fault settings; a closure that panicked elsewhere does not
    /// poison them for the rest of the test.
    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The proxy's thread: accepts connections until told to stop. Dropping
/// the runtime at the end cancels the connections still open.
fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("FaultProxy: tokio runtime");
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).expect("FaultProxy: tokio listener");
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        loop {
            let stream = tokio::select! {
                _ = &mut stopped => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        eprintln!("FaultProxy: accept failed: {e}");
                        continue;
                    }
                },
            };
            let state = state.clone();
            let client = client.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    let client = client.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(&state, &client, req).await) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    eprintln!("FaultProxy: connection from the client failed: {e}");
                }
            });
        }
    });
}

/// One request: throttled, or forwarded (and its response maybe
/// rewritten). Never fails: the proxy's own errors are 502/504 answers.
async fn handle(
    state: &State,
    client: &Client<HttpConnector, Full<Bytes>>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return proxy_error(
                StatusCode::BAD_GATEWAY,
                &format!("reading the request body: {e}"),
            );
        }
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let protocol = protocol(&path_and_query, target.is_some(), &body);

    // Throttle? The decision and the draw happen under one lock, so the
    // sequence is consumed in the order requests arrive.
    let throttle = protocol != Protocol::Other
        && state
            .faults()
            .throttle
            .as_mut()
            .is_some_and(|(percent, rng)| rng.next() % 100 < u64::from(*percent));
    if throttle {
        state.throttled.fetch_add(1, Ordering::SeqCst);
        let n = state.injected.fetch_add(1, Ordering::SeqCst);
        let request_id = format!("00000000-fa17-4000-8000-{n:012x}");
        let content_type = parts.headers.get(CONTENT_TYPE).cloned();
        return throttling_error(protocol, &request_id, content_type);
    }

    // Fail this one?
    if protocol == Protocol::Ec2Query {
        let action = std::str::from_utf8(&body)
            .ok()
            .and_then(|b| b.split('&').find_map(|kv| kv.strip_prefix("Action=")))
            .map(str::to_string);
        let mut faults = state.faults();
        if action.is_some() && faults.fail_next == action {
            faults.fail_next = None;
            drop(faults);
            let n = state.injected.fetch_add(1, Ordering::SeqCst);
            let body = format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>InjectedFault</Code><Message>a fault injected by the test</Message></Error><RequestId>00000000-fa17-4000-8000-{n:012x}</RequestId></ErrorResponse>"
            );
            return Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .header(CONTENT_TYPE, "text/xml")
                .body(Full::new(Bytes::from(body)))
                .expect("a valid response");
        }
    }

    // Forward.
    let uri: Uri = match format!("{}{path_and_query}", state.upstream).parse() {
        Ok(uri) => uri,
        Err(e) => {
            return proxy_error(
                StatusCode::BAD_GATEWAY,
                &format!("upstream URI for {path_and_query}: {e}"),
            );
        }
    };
    let mut upstream_req = Request::builder()
        .method(parts.method.clone())
        .uri(uri)
        .body(Full::new(body.clone()))
        .expect("a request from valid parts");
    let had_length =
        parts.headers.contains_key(CONTENT_LENGTH) || parts.headers.contains_key(TRANSFER_ENCODING);
    let headers = upstream_req.headers_mut();
    copy_end_to_end(&parts.headers, headers);
    if had_length || !body.is_empty() {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    state.forwarded.fetch_add(1, Ordering::SeqCst);
    let response = match tokio::time::timeout(UPSTREAM_TIMEOUT, client.request(upstream_req)).await
    {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            return proxy_error(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "{} {path_and_query} to {}: {e}",
                    parts.method, state.upstream
                ),
            );
        }
        Err(_) => {
            return proxy_error(
                StatusCode::GATEWAY_TIMEOUT,
                &format!(
                    "{} {path_and_query}: no answer from {} within {UPSTREAM_TIMEOUT:?}",
                    parts.method, state.upstream
                ),
            );
        }
    };
    let (mut resp_parts, resp_body) = response.into_parts();
    let mut resp_body = match resp_body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return proxy_error(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "{} {path_and_query}: reading the upstream body: {e}",
                    parts.method
                ),
            );
        }
    };

    // Rewrite?
    let rewrite = match (&target, protocol) {
        (Some(target), Protocol::Json) => state
            .faults()
            .rewrites
            .iter()
            .find(|(suffix, _)| target.ends_with(suffix.as_str()))
            .map(|(_, f)| f.clone()),
        _ => None,
    };
    if let Some(f) = rewrite {
        let target = target.unwrap_or_default();
        let mut value: serde_json::Value = match serde_json::from_slice(&resp_body) {
            Ok(value) => value,
            Err(e) => {
                return proxy_error(
                    StatusCode::BAD_GATEWAY,
                    &format!(
                        "rewrite of {target}: the response ({}) is not JSON: {e}: {}",
                        resp_parts.status,
                        String::from_utf8_lossy(&resp_body)
                    ),
                );
            }
        };
        // The closure runs outside the lock; a panic in it (an assertion
        // of the test) becomes a 502 instead of a dropped connection.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(&mut value))) {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            return proxy_error(
                StatusCode::BAD_GATEWAY,
                &format!("rewrite of {target} panicked: {why}"),
            );
        }
        resp_body = Bytes::from(serde_json::to_vec(&value).expect("a JSON value serializes"));
    }

    let mut headers = HeaderMap::new();
    copy_end_to_end(&resp_parts.headers, &mut headers);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(resp_body.len()));
    resp_parts.headers = headers;
    Response::from_parts(resp_parts, Full::new(resp_body))
}

/// Pure: which AWS protocol a request speaks.
fn protocol(path_and_query: &str, has_target: bool, body: &[u8]) -> Protocol {
    if path_and_query.starts_with("/moto-api/") || path_and_query == "/moto-api" {
        Protocol::Other
    } else if has_target {
        Protocol::Json
    } else if path_and_query.starts_with("/2013-04-01/") {
        Protocol::Route53
    } else if body.starts_with(b"Action=") || body.windows(8).any(|w| w == b"&Action=") {
        Protocol::Ec2Query
    } else {
        Protocol::Other
    }
}

/// The throttling error each AWS protocol sends.
fn throttling_error(
    protocol: Protocol,
    request_id: &str,
    request_content_type: Option<HeaderValue>,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match protocol {
        Protocol::Json => (
            StatusCode::BAD_REQUEST,
            // awsJson 1.0 services answer in 1.0.
            request_content_type
                .filter(|v| v.as_bytes().starts_with(b"application/x-amz-json-"))
                .unwrap_or(HeaderValue::from_static("application/x-amz-json-1.1")),
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        ),
        Protocol::Route53 => (
            StatusCode::BAD_REQUEST,
            HeaderValue::from_static("text/xml"),
            format!(
                r#"<?xml version="1.0"?><ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"#
            ),
        ),
        Protocol::Ec2Query => (
            StatusCode::SERVICE_UNAVAILABLE,
            HeaderValue::from_static("text/xml;charset=UTF-8"),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"#
            ),
        ),
        Protocol::Other => unreachable!("only AWS protocols are throttled"),
    };
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, content_type)
        .header(CONTENT_LENGTH, body.len())
        .header("x-amzn-RequestId", request_id)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid throttling response")
}

/// The proxy's own failure: said on stderr and in a 502/504 answer.
fn proxy_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    eprintln!("FaultProxy: {message}");
    let body = format!("FaultProxy: {message}\n");
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::from(body)))
        .expect("a valid error response")
}

/// Copies the end-to-end headers: not the hop-by-hop ones, nor the
/// framing (the buffered body gets its own Content-Length).
fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    const HOP_BY_HOP: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    ];
    for (name, value) in from {
        let skip = HOP_BY_HOP.contains(&name.as_str())
            || *name == CONTENT_LENGTH
            || *name == TRANSFER_ENCODING;
        if !skip {
            to.append(HeaderName::clone(name), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_are_told_apart() {
        assert_eq!(protocol("/", true, b"{}"), Protocol::Json);
        assert_eq!(
            protocol("/2013-04-01/hostedzone/Z1/rrset", false, b""),
            Protocol::Route53
        );
        assert_eq!(
            protocol("/", false, b"Action=DescribeInstances&Version=2016-11-15"),
            Protocol::Ec2Query
        );
        assert_eq!(
            protocol("/", false, b"Version=2016-11-15&Action=DescribeInstances"),
            Protocol::Ec2Query
        );
        assert_eq!(
            protocol("/moto-api/reset", true, b"Action=X"),
            Protocol::Other
        );
        assert_eq!(protocol("/", false, b""), Protocol::Other);
    }

    /// The proxy itself, in front of moto: forwarding, a rewrite (and
    /// its replacement), the three throttling errors, and moto's own API
    /// left alone.
    #[tokio::test]
    async fn forwards_rewrites_and_throttles_in_each_protocol() {
        let moto = crate::support::services::Moto::start();
        let proxy = FaultProxy::start(&moto.endpoint());
        let http = reqwest::Client::new();
        let signed = |service: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, \
                 SignedHeaders=host, Signature=0"
            )
        };
        let acm = |target: &'static str| {
            http.post(proxy.endpoint())
                .header("Authorization", signed("acm"))
                .header("X-Amz-Target", target)
                .header("Content-Type", "application/x-amz-json-1.1")
                .body("{}")
                .send()
        };

        proxy.rewrite_json("ListCertificates", |v| v["first"] = true.into());
        proxy.rewrite_json("ListCertificates", |v| v["NextToken"] = "more".into());
        let response = acm("CertificateManager.ListCertificates").await.unwrap();
        assert_eq!(response.status(), 200);
        let length = response.content_length();
        let body = response.bytes().await.unwrap();
        assert_eq!(length, Some(body.len() as u64));
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["NextToken"], "more", "{json}");
        assert!(json.get("first").is_none(), "replaced: {json}");
        assert!(json["CertificateSummaryList"].is_array(), "{json}");
        assert_eq!((proxy.forwarded(), proxy.throttled()), (1, 0));

        proxy.throttle(100, 1);
        let response = acm("CertificateManager.ListCertificates").await.unwrap();
        assert_eq!(response.status(), 400);
        assert!(response.headers().contains_key("x-amzn-requestid"));
        assert_eq!(
            response.headers()["content-type"],
            "application/x-amz-json-1.1"
        );
        let text = response.text().await.unwrap();
        assert!(text.contains(r#""__type":"ThrottlingException""#), "{text}");

        let response = http
            .get(format!("{}/2013-04-01/hostedzone", proxy.endpoint()))
            .header("Authorization", signed("route53"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let text = response.text().await.unwrap();
        assert!(text.contains("<Code>Throttling</Code>"), "{text}");

        let response = http
            .post(proxy.endpoint())
            .header("Authorization", signed("ec2"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("Action=DescribeInstances&Version=2016-11-15")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        let text = response.text().await.unwrap();
        assert!(text.contains("<Code>RequestLimitExceeded</Code>"), "{text}");

        let response = http
            .get(format!("{}/moto-api/", proxy.endpoint()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "moto's API is never throttled");
        assert_eq!((proxy.forwarded(), proxy.throttled()), (2, 3));

        proxy.throttle(0, 1);
        let response = acm("CertificateManager.ListCertificates").await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[test]
    fn the_sequence_is_reproducible_and_near_its_percentage() {
        let draw = |seed| {
            let mut rng = SplitMix64(seed);
            (0..1000).filter(|_| rng.next() % 100 < 30).count()
        };
        assert_eq!(draw(7), draw(7));
        assert!((250..350).contains(&draw(7)), "{}", draw(7));
    }
}
