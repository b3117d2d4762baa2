//! The loopback admin listener: `/metrics`.

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
                    let resp = if req.uri().path() == "/metrics" {
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
