//! The plain pages the proxy answers with itself (errors, redirects). They
//! name the status and nothing else: no upstream address, no version.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use minijinja::{Environment, context};

use crate::proxy::body::Body;

const TEMPLATE: &str = include_str!("../../../templates/error.html");

/// Every status the proxy produces itself, rendered once.
const STATUSES: &[(u16, &str)] = &[
    (301, "The document has moved."),
    (308, "The document has moved."),
    (400, "The request could not be understood."),
    (401, "You need to log in to see this."),
    (403, "Access to this resource is forbidden."),
    (404, "Nothing is here."),
    (405, "This method is not allowed here."),
    (413, "The request body is too large."),
    (414, "The request URI is too long."),
    (416, "The requested range is not available."),
    (421, "This connection is not for that site."),
    (431, "The request headers are too large."),
    (500, "Something went wrong on the server."),
    (502, "The application is not reachable right now."),
    (503, "The service is temporarily unavailable."),
    (504, "The application did not answer in time."),
];

static PAGES: LazyLock<HashMap<u16, Bytes>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_template("error", TEMPLATE)
        .expect("templates/error.html parses");
    let template = env.get_template("error").expect("just added");
    STATUSES
        .iter()
        .map(|&(code, message)| {
            let reason = StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            let html = template
                .render(context! { code, reason, message })
                .expect("templates/error.html renders");
            (code, Bytes::from(html))
        })
        .collect()
});

/// Every status the proxy answers with a page of its own, and that page
/// (for `webtier proxy export nginx`, which serves the same pages).
pub fn pages() -> impl Iterator<Item = (u16, &'static [u8])> {
    STATUSES
        .iter()
        .filter_map(|&(code, _)| PAGES.get(&code).map(|page| (code, &page[..])))
}

/// A response with the status's page.
pub fn error(status: StatusCode) -> Response<Body> {
    let page = PAGES.get(&status.as_u16()).cloned().unwrap_or_default();
    let mut resp = Response::new(Body::full(page.clone()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(page.len()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// A response with the status's page saying `message` (HTML-escaped):
/// the auth stage's explanations.
pub fn message(status: StatusCode, message: &str) -> Response<Body> {
    let mut env = Environment::new();
    env.add_template("error.html", TEMPLATE)
        .expect("templates/error.html parses");
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("");
    let html = env
        .get_template("error.html")
        .and_then(|t| t.render(context! { code, reason, message }))
        .expect("templates/error.html renders");
    let mut resp = error(status);
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(html.len()));
    *resp.body_mut() = Body::full(Bytes::from(html));
    resp
}

/// A redirect to `location` (which must be a valid header value).
pub fn redirect(status: StatusCode, location: &str) -> Response<Body> {
    let mut resp = error(status);
    if let Ok(loc) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_with_its_status() {
        for &(code, _) in STATUSES {
            let resp = error(StatusCode::from_u16(code).unwrap());
            assert_eq!(resp.status().as_u16(), code);
            let page = PAGES.get(&code).unwrap();
            let text = std::str::from_utf8(page).unwrap();
            assert!(text.contains(&format!("<title>{code} ")), "{text}");
        }
    }

    #[test]
    fn a_message_is_escaped() {
        let resp = message(StatusCode::BAD_REQUEST, "bad <script>");
        let len: usize = resp.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = futures_body(resp);
        assert_eq!(body.len(), len);
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("bad &lt;script&gt;"), "{text}");
    }

    fn futures_body(resp: Response<Body>) -> Vec<u8> {
        use http_body_util::BodyExt;
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(resp.into_body().collect())
            .unwrap()
            .to_bytes()
            .to_vec()
    }
}
