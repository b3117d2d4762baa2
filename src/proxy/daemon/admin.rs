//! The loopback admin listener: `/metrics`, and `POST /cache/purge`
//! (everything, `?key=` one key, `?prefix=` every key that starts with
//! it; keys are `host/path?query` as clients send them).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{Response, StatusCode};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::proxy::body::Body;
use crate::proxy::observe::metrics::Metrics;
use crate::proxy::state::State;

/// `/metrics` on the loopback admin listener.
pub(super) async fn admin_loop(
    listener: TcpListener,
    state: Arc<ArcSwap<State>>,
    metrics: Arc<Metrics>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = Arc::clone(&state);
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let state = Arc::clone(&state);
                let metrics = Arc::clone(&metrics);
                async move {
                    let resp = if req.uri().path() == "/cache/purge" {
                        purge(&req, &state.load())
                    } else if req.uri().path() == "/metrics" {
                        let text = metrics.render(&state.load());
                        let mut r = Response::new(Body::full(text));
                        r.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("text/plain; version=0.0.4"),
                        );
                        r
                    } else {
                        crate::proxy::request::pages::error(StatusCode::NOT_FOUND)
                    };
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// `POST /cache/purge`: 200 with `{"purged": N}`; 405 for another method;
/// 404 when no route caches; 400 for a query that names neither a key
/// nor a prefix (or an empty one).
fn purge(req: &http::Request<hyper::body::Incoming>, state: &State) -> Response<Body> {
    use crate::proxy::request::cache::Purge;
    if req.method() != http::Method::POST {
        let mut resp = crate::proxy::request::pages::error(StatusCode::METHOD_NOT_ALLOWED);
        resp.headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
        return resp;
    }
    let Some(store) = &state.cache else {
        return crate::proxy::request::pages::error(StatusCode::NOT_FOUND);
    };
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let what = match params.as_slice() {
        [] => Purge::All,
        [(name, value)] if name == "key" && !value.is_empty() => Purge::Key(value),
        [(name, value)] if name == "prefix" && !value.is_empty() => Purge::Prefix(value),
        _ => return crate::proxy::request::pages::error(StatusCode::BAD_REQUEST),
    };
    let purged = store.purge(what);
    tracing::info!("cache purge ({what:?}): {purged} key(s) removed");
    let mut r = Response::new(Body::full(format!("{{\"purged\": {purged}}}\n")));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}
