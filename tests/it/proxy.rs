//! The bundled proxy (`webtier proxy run`) over real sockets: TLS with SNI
//! and h2, redirects and ACME challenges, static files and hostile paths,
//! reverse proxying to FastAPI/uvicorn upstreams (headers, streaming,
//! balancing, failover, health checks, WebSocket), limits and smuggling,
//! reloads (certificates, bad configurations, under load) and draining.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use rustix::process::Signal;

use crate::support;
use crate::support::proxy::{
    Answer, Holding, Proxy, Scripted, TestCa, raw, read_response, served_names, served_serial,
    status_of,
};
use crate::support::services::{Process, Uvicorn, free_port, tempdir};

mod cache;
mod compress;
mod idle;
mod policy;
mod validate;

fn plain_site(name: &str, routes: &str) -> String {
    format!("[[site]]\nnames = [\"{name}\"]\n{routes}")
}

fn tls_site(names: &[&str], cert: &Path, key: &Path, routes: &str) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "[[site]]\nnames = [{}]\ntls = {{ cert = \"{}\", key = \"{}\" }}\n{routes}",
        names.join(", "),
        cert.display(),
        key.display()
    )
}

fn static_route(path: &str, root: &Path) -> String {
    format!(
        "[[site.route]]\npath = \"{path}\"\nroot = \"{}\"\n",
        root.display()
    )
}

fn proxy_route(path: &str, upstreams: &[String], extra: &str) -> String {
    let ups: Vec<String> = upstreams.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "[[site.route]]\npath = \"{path}\"\nupstreams = [{}]\n{extra}",
        ups.join(", ")
    )
}

fn up(app: &Uvicorn) -> String {
    format!("http://127.0.0.1:{}", app.port)
}

/// A port nothing listens on.
fn dead() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

fn get(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A request to the plain-HTTP site `s.test`, with extra headers.
async fn s_test(
    c: &reqwest::Client,
    method: Method,
    url: String,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = c.request(method, url).header("host", "s.test");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

fn http_url(proxy: &Proxy, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", proxy.http_port)
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_sites_are_chosen_by_sni_speak_h2_and_plain_http_redirects() {
    let ca = TestCa::new();
    let dir = tempdir();
    let d = dir.path();
    let (a_cert, a_key) = ca.leaf(&["a.test"], d, "a");
    let (b_cert, b_key) = ca.leaf(&["b.test", "*.b.test"], d, "b");
    for (sub, text) in [("wa", "site a"), ("wb", "site b")] {
        fs::create_dir(d.join(sub)).unwrap();
        fs::write(d.join(sub).join("index.html"), text).unwrap();
    }
    let body = format!(
        "{}{}{}",
        plain_site("plain.test", &static_route("/", &d.join("wa"))),
        tls_site(
            &["a.test"],
            &a_cert,
            &a_key,
            &static_route("/", &d.join("wa"))
        ),
        tls_site(
            &["b.test", "*.b.test"],
            &b_cert,
            &b_key,
            &static_route("/", &d.join("wb"))
        ),
    );
    let proxy = Proxy::start_in(dir, &body);
    let client = proxy.client(&ca, &["a.test", "b.test", "x.b.test"]);
    let port = proxy.https_port;

    let resp = client
        .get(format!("https://a.test:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2, "ALPN chose h2");
    assert_eq!(served_names(&resp), ["a.test"]);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    assert_eq!(resp.text().await.unwrap(), "site a");

    let resp = client
        .get(format!("https://x.b.test:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(served_names(&resp), ["b.test", "*.b.test"]);
    assert_eq!(resp.text().await.unwrap(), "site b");

    // HTTP/1.1 over TLS works too.
    let h1 = reqwest::Client::builder()
        .add_root_certificate(ca.reqwest_root())
        .resolve("a.test", proxy.https())
        .http1_only()
        .build()
        .unwrap();
    let resp = h1
        .get(format!("https://a.test:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), 200);
    // A connection made for a.test cannot be used for b.test.
    let resp = h1
        .get(format!("https://a.test:{port}/"))
        .header("host", "b.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 421);

    // Plain HTTP: GET and HEAD are moved permanently, other methods keep
    // their method and body with 308.
    let text = raw(proxy.http(), &get("a.test", "/some/path?q=1"));
    assert_eq!(status_of(&text), 301, "{text}");
    assert!(
        text.contains(&format!("location: https://a.test:{port}/some/path?q=1")),
        "{text}"
    );
    let text = raw(
        proxy.http(),
        b"POST /form HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&text), 308, "{text}");
    assert!(
        !text.contains("strict-transport-security"),
        "no HSTS over HTTP"
    );

    // ACME challenges are answered over plain HTTP, never redirected.
    let token = "Xy_z-0123456789abcdefABCDEF";
    fs::write(
        proxy.dir.path().join("challenge").join(token),
        "the-key-authorization",
    )
    .unwrap();
    let text = raw(
        proxy.http(),
        &get("a.test", &format!("/.well-known/acme-challenge/{token}")),
    );
    assert_eq!(status_of(&text), 200, "{text}");
    assert!(text.ends_with("the-key-authorization"), "{text}");
    let text = raw(
        proxy.http(),
        &get("a.test", "/.well-known/acme-challenge/..%2fproxy.toml"),
    );
    assert_eq!(status_of(&text), 404, "{text}");

    // A host no site has.
    let text = raw(proxy.http(), &get("nobody.test", "/"));
    assert_eq!(status_of(&text), 404, "{text}");

    // Without SNI (an IP address) the connection gets the first TLS site's
    // certificate and is bound to that site: not to another, nor to a
    // plain-HTTP site. (This client skips verification on purpose: it
    // plays someone probing the listener.)
    let prober = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .http1_only()
        .build()
        .unwrap();
    for (host, status) in [("plain.test", 421), ("b.test", 421), ("a.test", 200)] {
        let resp = prober
            .get(format!("https://127.0.0.1:{port}/"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "Host: {host}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn static_files_answer_conditional_range_and_precompressed_requests() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir_all(www.join("docs")).unwrap();
    let text: String = (0..1000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    fs::write(www.join("a.txt"), &text).unwrap();
    fs::write(www.join("style.css"), "body { color: red }").unwrap();
    fs::write(www.join("style.css.br"), b"BROTLI-BYTES").unwrap();
    fs::write(www.join("style.css.gz"), b"GZIP-BYTES").unwrap();
    fs::write(www.join("docs").join("index.html"), "<h1>docs</h1>").unwrap();
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(www.join("big.bin"), &big).unwrap();
    let proxy = Proxy::start_in(dir, &plain_site("s.test", &static_route("/", &www)));
    let c = plain_client();
    let url = |p: &str| http_url(&proxy, p);

    let resp = s_test(&c, Method::GET, url("/a.txt"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let modified = resp.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(resp.text().await.unwrap(), text);

    let resp = s_test(&c, Method::GET, url("/a.txt"), &[("if-none-match", &etag)]).await;
    assert_eq!(resp.status(), 304);
    assert_eq!(resp.headers()["etag"], etag.as_str());
    let resp = s_test(
        &c,
        Method::GET,
        url("/a.txt"),
        &[("if-modified-since", &modified)],
    )
    .await;
    assert_eq!(resp.status(), 304);
    let resp = s_test(
        &c,
        Method::GET,
        url("/a.txt"),
        &[("if-none-match", "\"other\"")],
    )
    .await;
    assert_eq!(resp.status(), 200);

    let resp = s_test(&c, Method::GET, url("/a.txt"), &[("range", "bytes=10-19")]).await;
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], "bytes 10-19/1000");
    assert_eq!(resp.text().await.unwrap(), &text[10..20]);
    let resp = s_test(&c, Method::GET, url("/a.txt"), &[("range", "bytes=-5")]).await;
    assert_eq!(resp.text().await.unwrap(), &text[995..]);
    let resp = s_test(&c, Method::GET, url("/a.txt"), &[("range", "bytes=5000-")]).await;
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["content-range"], "bytes */1000");
    // A stale If-Range gets the whole file.
    let resp = s_test(
        &c,
        Method::GET,
        url("/a.txt"),
        &[("range", "bytes=0-1"), ("if-range", "\"stale\"")],
    )
    .await;
    assert_eq!(resp.status(), 200);

    for (accept, expect, encoding) in [
        ("br, gzip", "BROTLI-BYTES", Some("br")),
        ("gzip", "GZIP-BYTES", Some("gzip")),
        ("identity", "body { color: red }", None),
    ] {
        let resp = s_test(
            &c,
            Method::GET,
            url("/style.css"),
            &[("accept-encoding", accept)],
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["vary"], "Accept-Encoding");
        assert_eq!(resp.headers()["content-type"], "text/css; charset=utf-8");
        assert_eq!(
            resp.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert_eq!(resp.text().await.unwrap(), expect, "{accept}");
    }

    let resp = s_test(&c, Method::GET, url("/docs"), &[]).await;
    assert_eq!(resp.status(), 301);
    assert_eq!(resp.headers()["location"], "/docs/");
    let resp = s_test(&c, Method::GET, url("/docs/"), &[]).await;
    assert_eq!(resp.text().await.unwrap(), "<h1>docs</h1>");

    let resp = s_test(&c, Method::GET, url("/big.bin"), &[]).await;
    assert_eq!(resp.headers()["content-length"], "5000000");
    assert!(
        resp.bytes().await.unwrap() == big,
        "the big file arrives whole"
    );
    let resp = s_test(&c, Method::HEAD, url("/big.bin"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], "5000000");

    let resp = s_test(&c, Method::POST, url("/a.txt"), &[]).await;
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, HEAD");
    let resp = s_test(&c, Method::GET, url("/missing.txt"), &[]).await;
    assert_eq!(resp.status(), 404);
}

#[test]
fn hostile_static_paths_never_read_outside_the_root() {
    let dir = tempdir();
    let d = dir.path();
    fs::write(d.join("secret.txt"), "TOPSECRET").unwrap();
    fs::create_dir_all(d.join("private")).unwrap();
    fs::write(d.join("private").join("key.pem"), "TOPSECRET key").unwrap();
    let www = d.join("www");
    fs::create_dir_all(www.join("sub")).unwrap();
    fs::write(www.join("index.html"), "home").unwrap();
    fs::write(www.join("sub").join("page.html"), "page").unwrap();
    fs::write(www.join(".env"), "TOPSECRET=1").unwrap();
    symlink(d.join("secret.txt"), www.join("link.txt")).unwrap();
    symlink("../secret.txt", www.join("rel-link.txt")).unwrap();
    symlink(d.join("private"), www.join("outside")).unwrap();
    symlink("/etc", www.join("etc")).unwrap();
    symlink("page.html", www.join("sub").join("inside.html")).unwrap();
    let mut proxy = Proxy::start_in(dir, &plain_site("s.test", &static_route("/", &www)));

    let hostile = [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/..%5C..%5Csecret.txt",
        "/sub\\..\\..\\secret.txt",
        "/%00/../secret.txt",
        "/index.html%00.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/%252e%252e/secret.txt",
        "/link.txt",
        "/rel-link.txt",
        "/outside/key.pem",
        "/outside/",
        "/etc/passwd",
        "/etc/hostname",
        "/.env",
        "/sub/../.env",
        "/%2eenv",
        "//../secret.txt",
        "/./../secret.txt",
        "/sub/./../../secret.txt",
        "/%",
        "/%zz/secret.txt",
        "/..;/secret.txt",
        "/....//secret.txt",
    ];
    assert!(hostile.len() >= 30);
    for path in hostile {
        let text = raw(proxy.http(), &get("s.test", path));
        assert!(
            !text.contains("TOPSECRET") && !text.contains("root:"),
            "{path} leaked:\n{text}"
        );
        let status = status_of(&text);
        assert!(
            status == 400 || status == 404,
            "{path} answered {status}:\n{text}"
        );
    }
    // What is inside the root (a symlink included) is still served.
    assert!(raw(proxy.http(), &get("s.test", "/sub/inside.html")).ends_with("page"));
    assert!(raw(proxy.http(), &get("s.test", "/")).ends_with("home"));
    assert!(proxy.wait_exit(Duration::ZERO).is_none(), "the proxy is up");
}

#[test]
fn small_files_kept_in_memory_follow_every_change_on_disk() {
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    let d = d.as_path();
    fs::write(d.join("secret.txt"), "TOPSECRET").unwrap();
    fs::create_dir_all(d.join("elsewhere")).unwrap();
    fs::write(d.join("elsewhere").join("f.txt"), "TOPSECRET f").unwrap();
    let www = d.join("www");
    fs::create_dir_all(www.join("sub")).unwrap();
    for name in ["a.txt", "b.txt", "c.txt", "d.txt"] {
        fs::write(www.join(name), format!("first {name}")).unwrap();
    }
    fs::write(www.join("sub").join("f.txt"), "first f").unwrap();
    // One worker, so every request meets the same kept copies.
    let proxy = Proxy::start_in(
        dir,
        &format!(
            "workers = 1\n{}",
            plain_site("s.test", &static_route("/", &www))
        ),
    );
    let body = |path: &str| {
        let text = raw(proxy.http(), &get("s.test", path));
        assert!(!text.contains("TOPSECRET"), "{path} leaked:\n{text}");
        (
            status_of(&text),
            text.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
        )
    };
    // Files changed in the last two seconds are not kept; these are older.
    std::thread::sleep(Duration::from_millis(2100));
    for _ in 0..2 {
        assert_eq!(body("/a.txt"), (200, "first a.txt".into()));
        assert_eq!(body("/sub/f.txt"), (200, "first f".into()));
        for name in ["b.txt", "c.txt", "d.txt"] {
            assert_eq!(body(&format!("/{name}")), (200, format!("first {name}")));
        }
    }
    let range = raw(
        proxy.http(),
        b"GET /a.txt HTTP/1.1\r\nHost: s.test\r\nRange: bytes=6-10\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&range), 206, "{range}");
    assert!(range.ends_with("\r\n\r\na.txt"), "{range}");

    // Written in place, same length, straight away.
    fs::write(www.join("a.txt"), "again a.txt").unwrap();
    assert_eq!(body("/a.txt"), (200, "again a.txt".into()));
    // Replaced by a rename, as deploy tools do.
    fs::write(www.join("b.new"), "second b.txt").unwrap();
    fs::rename(www.join("b.new"), www.join("b.txt")).unwrap();
    assert_eq!(body("/b.txt"), (200, "second b.txt".into()));
    // Replaced by a symlink out of the root, or by a directory symlink
    // whose target has a file of the same name: refused as before.
    fs::remove_file(www.join("c.txt")).unwrap();
    symlink(d.join("secret.txt"), www.join("c.txt")).unwrap();
    assert_eq!(body("/c.txt").0, 404);
    fs::remove_dir_all(www.join("sub")).unwrap();
    symlink(d.join("elsewhere"), www.join("sub")).unwrap();
    assert_eq!(body("/sub/f.txt").0, 404);
    // Deleted.
    fs::remove_file(www.join("d.txt")).unwrap();
    assert_eq!(body("/d.txt").0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn proxied_requests_get_forwarding_headers_and_lose_identity_headers() {
    let app = Uvicorn::start("one");
    let routes = format!(
        "{}{}{}",
        proxy_route("/", &[up(&app)], "max_body_bytes = 67108864\n"),
        proxy_route("/small/", &[up(&app)], "max_body_bytes = 1000\n"),
        proxy_route("/dead/", &[dead()], ""),
    );
    let proxy = Proxy::start(&plain_site("s.test", &routes));
    let c = plain_client();

    let resp = s_test(
        &c,
        Method::GET,
        http_url(&proxy, "/echo/x?a=1"),
        &[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-auth-request-email", "admin@s.test"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "secret"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("server").is_none(), "{resp:?}");
    let v: serde_json::Value = resp.json().await.unwrap();
    let h = &v["headers"];
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-real-ip"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "s.test");
    assert_eq!(h["host"], "s.test");
    assert_eq!(h["forwarded"], "for=127.0.0.1;proto=http;host=\"s.test\"");
    assert!(h.get("x-auth-request-email").is_none(), "{h}");
    assert!(h.get("x-hop").is_none(), "{h}");
    assert_eq!(v["query"], "a=1");

    let resp = s_test(&c, Method::GET, http_url(&proxy, "/powered"), &[]).await;
    assert!(resp.headers().get("x-powered-by").is_none());
    assert!(resp.headers().get("server").is_none());
    assert_eq!(resp.headers()["x-kept"], "yes");

    // A 32 MiB upload streams through (the route allows 64 MiB).
    let upload = vec![7u8; 32 << 20];
    let resp = c
        .post(http_url(&proxy, "/echo/upload"))
        .header("host", "s.test")
        .body(upload)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["body_length"], 32 << 20);

    // Over the route's limit: declared, and streamed without a length.
    let resp = c
        .post(http_url(&proxy, "/small/echo/x"))
        .header("host", "s.test")
        .body(vec![1u8; 2000])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let chunk = format!("320\r\n{}\r\n", "z".repeat(800));
    let chunked = format!(
        "POST /small/echo/x HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}{chunk}0\r\n\r\n"
    );
    let text = raw(proxy.http(), chunked.as_bytes());
    assert_eq!(status_of(&text), 413, "{text}");

    // An unreachable upstream: a plain 502 page that names no address.
    let resp = s_test(&c, Method::GET, http_url(&proxy, "/dead/x"), &[]).await;
    assert_eq!(resp.status(), 502);
    let page = resp.text().await.unwrap();
    assert!(page.contains("502 Bad Gateway"), "{page}");
    assert!(
        !page.contains("127.0.0.1") && !page.contains("http://"),
        "{page}"
    );
}

/// A load balancer's health check names the instance (`Host: 10.0.1.5`),
/// not a site: with `health_check`, a plain-HTTP GET or HEAD of exactly
/// its path is served as the request to the configured site, so it
/// reaches the app; any other request for a host no site has still gets
/// 404, and a request for a real site is untouched.
#[tokio::test(flavor = "multi_thread")]
async fn a_load_balancers_health_check_reaches_the_configured_sites_app() {
    let app = Uvicorn::start("one");
    let body = format!(
        "health_check = {{ path = \"/echo/health\", site = \"s.test\" }}\n{}{}",
        plain_site("s.test", &proxy_route("/", &[up(&app)], "")),
        plain_site("other.test", &proxy_route("/", &[dead()], "")),
    );
    let proxy = Proxy::start(&body);
    let c = plain_client();
    let as_instance = |method: Method, path: &str| {
        c.request(method, http_url(&proxy, path))
            .header("host", "10.0.1.5:80")
            .send()
    };
    let resp = as_instance(Method::GET, "/echo/health").await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        v["headers"]["host"], "s.test",
        "served as the site's request"
    );
    assert_eq!(v["path"], "/echo/health");
    // HEAD reaches the app too, which answers it with 405 (its echo
    // takes GET only): not the proxy's 404.
    let resp = as_instance(Method::HEAD, "/echo/health").await.unwrap();
    assert_eq!(resp.status(), 405);
    for (method, path) in [
        (Method::GET, "/echo/other"),
        (Method::GET, "/echo/health/more"),
        (Method::POST, "/echo/health"),
    ] {
        let resp = as_instance(method.clone(), path).await.unwrap();
        assert_eq!(resp.status(), 404, "{method} {path}");
    }
    // A site's own name is routed as always (other.test's upstream is
    // down), and so is a query on the health path.
    let resp = c
        .get(http_url(&proxy, "/echo/health"))
        .header("host", "other.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let resp = as_instance(Method::GET, "/echo/health?x=1").await.unwrap();
    assert_eq!(resp.status(), 200, "the path is matched without its query");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_upstream_gets_a_504_and_all_upstreams_down_a_503() {
    let app = Uvicorn::start("one");
    let routes = format!(
        "{}{}",
        proxy_route("/", &[up(&app)], ""),
        proxy_route(
            "/checked/",
            &[dead()],
            "health = { check_path = \"/health\", check_interval_ms = 100 }\n"
        ),
    );
    // One worker: every request below shares one upstream pool.
    let proxy = Proxy::start(&one_worker(&format!(
        "[timeouts]\nupstream_read_ms = 700\n{}",
        plain_site("s.test", &routes)
    )));
    let c = plain_client();
    let resp = s_test(&c, Method::GET, http_url(&proxy, "/slow?ms=3000"), &[]).await;
    assert_eq!(resp.status(), 504);
    assert!(!resp.text().await.unwrap().contains("127.0.0.1"));
    let resp = s_test(&c, Method::GET, http_url(&proxy, "/slow?ms=10"), &[]).await;
    assert_eq!(resp.status(), 200);
    // The pooled connection's deadline is each request's own: long after
    // the last one's has passed, a 400 ms answer is still in time, twice.
    tokio::time::sleep(Duration::from_millis(900)).await;
    for _ in 0..2 {
        let resp = s_test(&c, Method::GET, http_url(&proxy, "/slow?ms=400"), &[]).await;
        assert_eq!(resp.status(), 200);
    }
    let resp = s_test(&c, Method::GET, http_url(&proxy, "/slow?ms=1500"), &[]).await;
    assert_eq!(resp.status(), 504);

    // The only upstream fails its checks: nobody to ask.
    proxy.wait_metric("the checked upstream down", |l| {
        l.starts_with("webtier_upstream_healthy{") && l.ends_with(" 0")
    });
    let resp = s_test(&c, Method::GET, http_url(&proxy, "/checked/x"), &[]).await;
    assert_eq!(resp.status(), 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_hangs_up_cancels_its_upstream_request() {
    // One upstream never answers; the other sends a head and a first
    // chunk, then nothing. Neither would end before the 30 s timeout.
    let silent = Holding::start(b"");
    let streaming =
        Holding::start(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
    let routes = format!(
        "{}{}",
        proxy_route("/wait/", std::slice::from_ref(&silent.url), ""),
        proxy_route("/stream/", std::slice::from_ref(&streaming.url), ""),
    );
    let proxy = Proxy::start(&format!(
        "[timeouts]\nupstream_read_ms = 30000\n{}",
        plain_site("s.test", &routes)
    ));
    let limit = Duration::from_secs(3);

    // Waiting for the response head.
    let mut c = TcpStream::connect(proxy.http()).unwrap();
    c.write_all(b"GET /wait/x HTTP/1.1\r\nHost: s.test\r\n\r\n")
        .unwrap();
    assert_eq!(silent.next(limit), Some("request"));
    assert_eq!(silent.next(Duration::from_millis(300)), None, "held");
    drop(c);
    assert_eq!(
        silent.next(limit),
        Some("closed"),
        "the upstream request outlived its client"
    );

    // In the middle of the body.
    let mut c = TcpStream::connect(proxy.http()).unwrap();
    c.set_read_timeout(Some(limit)).unwrap();
    c.write_all(b"GET /stream/x HTTP/1.1\r\nHost: s.test\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("first") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(streaming.next(limit), Some("request"));
    drop(c);
    assert_eq!(
        streaming.next(limit),
        Some("closed"),
        "the upstream body outlived its client"
    );

    // After uploading a body: while it was still arriving, the socket
    // held unread bytes and could not be judged; once it is read, it is.
    let mut c = TcpStream::connect(proxy.http()).unwrap();
    let body = vec![b'x'; 200_000];
    c.write_all(b"POST /wait/x HTTP/1.1\r\nHost: s.test\r\nContent-Length: 200000\r\n\r\n")
        .unwrap();
    c.write_all(&body).unwrap();
    assert_eq!(silent.next(limit), Some("request"));
    assert_eq!(silent.next(Duration::from_millis(500)), None, "held");
    drop(c);
    assert_eq!(
        silent.next(limit),
        Some("closed"),
        "the upstream request outlived the client that uploaded to it"
    );
}

async fn app_name(c: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = c.get(url).header("host", "s.test").send().await.unwrap();
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    (status, body["app"].as_str().unwrap_or("").to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn round_robin_fails_over_without_errors_when_an_upstream_dies() {
    let one = Uvicorn::start("one");
    let mut two = Uvicorn::start("two");
    let proxy = Proxy::start(&plain_site(
        "s.test",
        &proxy_route("/", &[up(&one), up(&two)], ""),
    ));
    let c = plain_client();
    let url = http_url(&proxy, "/health");
    let mut names = Vec::new();
    for _ in 0..6 {
        let (status, name) = app_name(&c, &url).await;
        assert_eq!(status, 200);
        names.push(name);
    }
    assert_eq!(names.iter().filter(|n| *n == "one").count(), 3, "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "two").count(), 3, "{names:?}");

    two.kill();
    // Every request still succeeds: a refused connection is retried on the
    // other upstream, and after 3 refusals `two` is ejected.
    for i in 0..20 {
        let (status, name) = app_name(&c, &url).await;
        assert_eq!((status, name.as_str()), (200, "one"), "request {i}");
    }
    // A POST is never sent twice, but one that could not connect anywhere
    // is not sent at all: it goes to the live upstream too.
    for _ in 0..4 {
        let resp = c
            .post(http_url(&proxy, "/echo/p"))
            .header("host", "s.test")
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let metrics = proxy.metrics();
    assert!(
        metrics.contains(&format!(
            "webtier_upstream_healthy{{upstream=\"{}\"}} 0",
            up(&two)
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("webtier_requests_total{class=\"5xx\"} 0"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_hangs_up_on_every_connection_is_ejected() {
    let one = Uvicorn::start("one");
    let hangup = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hangup_url = format!("http://{}", hangup.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in hangup.incoming() {
            drop(stream);
        }
    });
    let proxy = Proxy::start(&plain_site(
        "s.test",
        &proxy_route("/", &[up(&one), hangup_url.clone()], ""),
    ));
    let c = plain_client();
    let url = http_url(&proxy, "/health");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app_name(&c, &url).await.0);
    }
    // At most the first few meet it before it is ejected; none hangs.
    for i in 0..10 {
        let (status, name) = app_name(&c, &url).await;
        assert_eq!(
            (status, name.as_str()),
            (200, "one"),
            "request {i} after {statuses:?}"
        );
    }
    let metrics = proxy.metrics();
    assert!(
        metrics.contains(&format!(
            "webtier_upstream_healthy{{upstream=\"{hangup_url}\"}} 0"
        )),
        "{metrics}"
    );
}

/// Idle upstream connections are pooled per worker, and the test client
/// may open a second connection to the proxy whenever its first is not yet
/// back in its own pool; with one worker that connection shares the pool.
fn one_worker(config: &str) -> String {
    format!("workers = 1\n{config}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_connection_the_upstream_drops_is_replaced_and_a_post_is_not_sent_twice() {
    // Every connection answers its first request and hangs up on the
    // second: an upstream closing an idle connection just as the proxy
    // takes it from the pool.
    let upstream = Scripted::start(|nth, _| {
        if nth == 0 {
            Answer::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec())
        } else {
            Answer::HangUp
        }
    });
    let proxy = Proxy::start(&one_worker(&plain_site(
        "s.test",
        &proxy_route("/", std::slice::from_ref(&upstream.url), ""),
    )));
    let c = plain_client();
    for path in ["/a", "/b"] {
        let resp = s_test(&c, Method::GET, http_url(&proxy, path), &[]).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.text().await.unwrap(), "ok");
    }
    let seen = upstream.seen();
    let b: Vec<usize> = seen
        .iter()
        .filter(|(_, line)| line.starts_with("GET /b "))
        .map(|(conn, _)| *conn)
        .collect();
    assert_eq!(b.len(), 2, "sent again on a new connection: {seen:?}");
    assert_ne!(b[0], b[1], "{seen:?}");
    // A POST may have been acted on: it is not sent again.
    let resp = c
        .post(http_url(&proxy, "/c"))
        .header("host", "s.test")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let posts = upstream
        .seen()
        .iter()
        .filter(|(_, line)| line.starts_with("POST /c "))
        .count();
    assert_eq!(posts, 1);
    let resp = s_test(&c, Method::GET, http_url(&proxy, "/d"), &[]).await;
    assert_eq!(resp.status(), 200, "one failure does not eject");
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_responses_framed_every_way_pass_through_intact() {
    let upstream = Scripted::start(|_, line| {
        let ok = |rest: &str| format!("HTTP/1.1 200 OK\r\n{rest}").into_bytes();
        match line.split(' ').take(2).collect::<Vec<_>>()[..] {
            ["GET", "/chunked"] => {
                Answer::Send(ok("Transfer-Encoding: chunked\r\nServer: scripted\r\n\r\n\
                 5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"))
            }
            ["HEAD", "/length"] => Answer::Send(ok("Content-Length: 9\r\n\r\n")),
            ["GET", "/length"] => Answer::Send(ok("Content-Length: 9\r\n\r\nnine byte")),
            ["GET", "/until-close"] => Answer::SendAndClose(ok("\r\nuntil close")),
            ["GET", "/both"] => Answer::Send(ok(
                "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n",
            )),
            ["GET", "/conflict"] => {
                Answer::Send(ok("Content-Length: 3\r\nContent-Length: 4\r\n\r\nabc"))
            }
            ["GET", "/not-http"] => Answer::SendAndClose(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec()),
            ["GET", "/continue"] => Answer::Send(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
                    .to_vec(),
            ),
            _ => Answer::SendAndClose(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            ),
        }
    });
    let proxy = Proxy::start(&one_worker(&plain_site(
        "s.test",
        &proxy_route("/", std::slice::from_ref(&upstream.url), ""),
    )));
    let c = plain_client();
    let fetch = |method: Method, path: &'static str| {
        let (c, url) = (c.clone(), http_url(&proxy, path));
        async move {
            let resp = s_test(&c, method, url, &[]).await;
            let status = resp.status().as_u16();
            let length = resp.headers().get("content-length").cloned();
            let server = resp.headers().get("server").cloned();
            let body = resp.text().await.unwrap();
            (status, body, length, server)
        }
    };
    let (status, body, _, server) = fetch(Method::GET, "/chunked").await;
    assert_eq!((status, body.as_str(), server), (200, "hello world", None));
    let (status, body, length, _) = fetch(Method::HEAD, "/length").await;
    assert_eq!((status, body.as_str()), (200, ""));
    assert_eq!(length.unwrap(), "9", "HEAD keeps the upstream's length");
    assert_eq!(fetch(Method::GET, "/length").await.1, "nine byte");
    assert_eq!(fetch(Method::GET, "/until-close").await.1, "until close");
    assert_eq!(fetch(Method::GET, "/length").await.1, "nine byte");
    assert_eq!(fetch(Method::GET, "/both").await.1, "abcde");
    assert_eq!(fetch(Method::GET, "/length").await.1, "nine byte");
    assert_eq!(fetch(Method::GET, "/conflict").await.0, 502);
    assert_eq!(fetch(Method::GET, "/not-http").await.0, 502);
    let (status, body, _, _) = fetch(Method::GET, "/continue").await;
    assert_eq!(
        (status, body.as_str()),
        (201, "ok"),
        "the 100 is not passed on"
    );

    // Connections are kept exactly when the framing allows it.
    let conns: Vec<usize> = upstream.seen().iter().map(|(conn, _)| *conn).collect();
    assert_eq!(conns.len(), 10, "{:?}", upstream.seen());
    assert!(
        conns[0] == conns[1] && conns[1] == conns[2] && conns[2] == conns[3],
        "chunked, HEAD and length-delimited responses keep the connection: {conns:?}"
    );
    assert_ne!(
        conns[4], conns[3],
        "a body read until close ends it: {conns:?}"
    );
    assert_eq!(conns[5], conns[4], "{conns:?}");
    assert_ne!(
        conns[6], conns[5],
        "Content-Length with chunked ends it: {conns:?}"
    );
    assert!(
        proxy.log().contains("conflicting Content-Length"),
        "{}",
        proxy.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_stalls_mid_body_is_cut_off_but_a_slow_steady_one_is_not() {
    // Half the promised body, then silence with the connection open.
    let stalling = Scripted::start(|_, _| {
        Answer::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello".to_vec())
    });
    let app = Uvicorn::start("one");
    let routes = format!(
        "{}{}",
        proxy_route("/stall/", std::slice::from_ref(&stalling.url), ""),
        proxy_route("/", &[up(&app)], ""),
    );
    let proxy = Proxy::start(&format!(
        "[timeouts]\nupstream_read_ms = 500\n{}",
        plain_site("s.test", &routes)
    ));
    let started = Instant::now();
    let text = raw(
        proxy.http(),
        b"GET /stall/x HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n",
    );
    let waited = started.elapsed();
    assert_eq!(status_of(&text), 200);
    assert!(text.ends_with("hello"), "{text:?}");
    // raw() gives up after 5 s of silence; the proxy closed long before.
    assert!(waited < Duration::from_secs(4), "closed after {waited:?}");
    assert!(
        proxy.log().contains("sent nothing of the body for 500ms"),
        "{}",
        proxy.log()
    );

    // Five chunks 300 ms apart: every gap is under the timeout, the whole
    // body is not, and it arrives complete.
    let c = plain_client();
    let resp = s_test(
        &c,
        Method::GET,
        http_url(&proxy, "/stream?chunks=5&size=1000&delay_ms=300"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().len(), 5000);
}

#[tokio::test(flavor = "multi_thread")]
async fn least_connections_sends_new_requests_to_the_idle_upstream() {
    let one = Uvicorn::start("one");
    let two = Uvicorn::start("two");
    let proxy = Proxy::start(&plain_site(
        "s.test",
        &proxy_route(
            "/",
            &[up(&one), up(&two)],
            "balance = \"least-connections\"\n",
        ),
    ));
    let c = plain_client();
    let slow_url = http_url(&proxy, "/slow?ms=2500");
    let slow = {
        let c = c.clone();
        tokio::spawn(async move { app_name(&c, &slow_url).await })
    };
    // Once the slow request is with its upstream…
    proxy.wait_metric("a request in flight", |l| {
        l.starts_with("webtier_upstream_in_flight{") && l.ends_with(" 1")
    });
    let url = http_url(&proxy, "/health");
    let mut names = Vec::new();
    for _ in 0..4 {
        names.push(app_name(&c, &url).await.1);
    }
    let (status, busy) = slow.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        names.iter().all(|n| *n != busy),
        "while {busy} was busy the quick requests went to {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn active_health_checks_keep_requests_away_from_a_failing_upstream() {
    let one = Uvicorn::start("one");
    // Takes connections and answers, but fails its health check.
    let sick = support::services::Nginx::start(
        "location /health { return 500; }\n    location / { return 200 'sick'; }",
    );
    let sick_url = format!("http://127.0.0.1:{}", sick.port);
    let proxy = Proxy::start(&plain_site(
        "s.test",
        &proxy_route(
            "/",
            &[up(&one), sick_url.clone()],
            // A check waits at most its interval (here 1 s) for an answer:
            // on a loaded machine 100 ms could fail the healthy one too.
            "health = { check_path = \"/health\", check_interval_ms = 1000 }\n",
        ),
    ));
    proxy.wait_log("fails its health check");
    let c = plain_client();
    // Round-robin alone would send every other request to the sick one.
    for i in 0..10 {
        let (status, name) = app_name(&c, &http_url(&proxy, "/health")).await;
        assert_eq!(
            (status, name.as_str()),
            (200, "one"),
            "request {i}\n{}",
            proxy.log()
        );
    }
    let metrics = proxy.metrics();
    assert!(
        metrics.contains(&format!(
            "webtier_upstream_healthy{{upstream=\"{sick_url}\"}} 0"
        )),
        "{metrics}"
    );
}

#[test]
fn websocket_upgrades_are_tunnelled_both_ways() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&plain_site("s.test", &proxy_route("/", &[up(&app)], "")));
    let (mut s, head) = websocket(&proxy);
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    for message in ["hello", "second message"] {
        assert_eq!(echo(&mut s, message), Some(format!("one:{message}")));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_serves_a_new_certificate_while_a_long_download_completes() {
    let ca = TestCa::new();
    let app = Uvicorn::start("one");
    let dir = tempdir();
    let (cert, key) = ca.leaf(&["a.test"], dir.path(), "live");
    let body = tls_site(&["a.test"], &cert, &key, &proxy_route("/", &[up(&app)], ""));
    let proxy = Proxy::start_in(dir, &body);
    let port = proxy.https_port;
    let client = proxy.client(&ca, &["a.test"]);

    // 24 chunks of 64 KiB, 100 ms apart: about 2.4 s in flight.
    let mut download = client
        .get(format!(
            "https://a.test:{port}/stream?chunks=24&size=65536&delay_ms=100"
        ))
        .send()
        .await
        .unwrap();
    let first_serial = served_serial(&download);
    let mut received = download.chunk().await.unwrap().map_or(0, |c| c.len());

    // Renewal: new files put in place atomically, then SIGHUP.
    let staging = tempdir();
    let (new_cert, new_key) = ca.leaf(&["a.test"], staging.path(), "next");
    fs::copy(&new_key, proxy.dir.path().join("k.tmp")).unwrap();
    fs::rename(proxy.dir.path().join("k.tmp"), &key).unwrap();
    fs::copy(&new_cert, proxy.dir.path().join("c.tmp")).unwrap();
    fs::rename(proxy.dir.path().join("c.tmp"), &cert).unwrap();
    proxy.signal(Signal::HUP);
    proxy.wait_log("reloaded configuration and certificates");

    let fresh = proxy.client(&ca, &["a.test"]);
    let resp = fresh
        .get(format!("https://a.test:{port}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let second_serial = served_serial(&resp);
    assert_ne!(
        second_serial, first_serial,
        "new connections get the new certificate"
    );

    while let Some(chunk) = download.chunk().await.unwrap() {
        received += chunk.len();
    }
    assert_eq!(received, 24 * 65536, "the in-flight download completed");

    // Without a signal: changed files are noticed within a couple of seconds.
    let (third_cert, third_key) = ca.leaf(&["a.test"], staging.path(), "third");
    fs::copy(&third_key, proxy.dir.path().join("k.tmp")).unwrap();
    fs::rename(proxy.dir.path().join("k.tmp"), &key).unwrap();
    fs::copy(&third_cert, proxy.dir.path().join("c.tmp")).unwrap();
    fs::rename(proxy.dir.path().join("c.tmp"), &cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = proxy
            .client(&ca, &["a.test"])
            .get(format!("https://a.test:{port}/health"))
            .send()
            .await
            .unwrap();
        let serial = served_serial(&resp);
        if serial != second_serial && serial != first_serial {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the changed files were not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_configuration_is_refused_on_reload_and_the_old_one_keeps_serving() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("index.html"), "v1").unwrap();
    let good = plain_site("s.test", &static_route("/", &www));
    let proxy = Proxy::start_in(dir, &good);
    let serve = || raw(proxy.http(), &get("s.test", "/"));
    assert!(serve().ends_with("v1"));

    let broken = [
        format!("{good}wrokers = 3\n"),
        plain_site("s.test", &static_route("/", Path::new("/nonexistent/root"))),
        format!("{good}[[site.route]]\npath = \"/api/\"\nupstreams = [\"ftp://x:1\"]\n"),
    ];
    for (i, text) in broken.iter().enumerate() {
        proxy.rewrite(text);
        // `proxy validate` says the same thing as the refused reload.
        let out = support::proxy::webtier(&[
            "proxy",
            "validate",
            "--file",
            proxy.config_path.to_str().unwrap(),
        ]);
        let code = out.status.code();
        assert!(code == Some(3) || code == Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        proxy.signal(Signal::HUP);
        let deadline = Instant::now() + Duration::from_secs(10);
        while proxy.log().matches("reload refused").count() < i + 1 {
            assert!(
                Instant::now() < deadline,
                "no refusal logged:\n{}",
                proxy.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        assert!(
            serve().ends_with("v1"),
            "still serving after broken config {i}"
        );
    }
    assert!(proxy.metrics().contains("webtier_failed_reloads_total 3"));
    let out = support::proxy::webtier(&[
        "proxy",
        "validate",
        "--file",
        proxy.config_path.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a bad key is an invalid configuration"
    );

    // Listener changes need a restart; they are refused, not half-applied.
    let moved = good.clone();
    fs::write(
        &proxy.config_path,
        format!(
            "{}{moved}",
            Proxy::header(
                proxy.dir.path(),
                free_port(),
                proxy.https_port,
                proxy.admin_port
            )
        ),
    )
    .unwrap();
    proxy.signal(Signal::HUP);
    proxy.wait_log("take effect only when the proxy is restarted");

    fs::write(www.join("v2.html"), "v2").unwrap();
    proxy.rewrite(&format!(
        "{good}[[site.route]]\npath = \"/new/\"\nroot = \"{}\"\n",
        www.display()
    ));
    proxy.signal(Signal::HUP);
    proxy.wait_log("reloaded configuration");
    assert!(raw(proxy.http(), &get("s.test", "/new/v2.html")).ends_with("v2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_reloads_under_load_lose_no_request() {
    let ca = TestCa::new();
    let app = Uvicorn::start("one");
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("a.txt"), "static").unwrap();
    let (cert, key) = ca.leaf(&["a.test"], dir.path(), "a");
    let routes = format!(
        "{}{}",
        static_route("/static/", &www),
        proxy_route("/", &[up(&app)], "")
    );
    let proxy = Proxy::start_in(dir, &tls_site(&["a.test"], &cert, &key, &routes));
    let port = proxy.https_port;
    let ok = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop_at = Instant::now() + Duration::from_secs(6);
    let mut load = Vec::new();
    for i in 0..8 {
        // Half the clients reconnect for every request, so handshakes
        // happen during reloads too.
        let client = if i % 2 == 0 {
            proxy.client(&ca, &["a.test"])
        } else {
            reqwest::Client::builder()
                .add_root_certificate(ca.reqwest_root())
                .resolve("a.test", proxy.https())
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        };
        let (ok, bad) = (Arc::clone(&ok), Arc::clone(&bad));
        load.push(tokio::spawn(async move {
            let path = if i % 3 == 0 {
                "/static/a.txt"
            } else {
                "/health"
            };
            while Instant::now() < stop_at {
                match client
                    .get(format!("https://a.test:{port}{path}"))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(_) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => bad.lock().unwrap().push(format!("body: {e}")),
                    },
                    Ok(r) => bad.lock().unwrap().push(format!("status {}", r.status())),
                    Err(e) => bad.lock().unwrap().push(format!("{e:?}")),
                }
            }
        }));
    }
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(450)).await;
        proxy.signal(Signal::HUP);
    }
    for l in load {
        l.await.unwrap();
    }
    let failures = std::mem::take(&mut *bad.lock().unwrap());
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert!(ok.load(Ordering::Relaxed) > 100, "the load ran");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !proxy.metrics().contains("webtier_reloads_total 10") {
        assert!(Instant::now() < deadline, "{}", proxy.metrics());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn smuggling_attempts_and_oversized_requests_are_refused() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&format!(
        "[limits]\nmax_header_bytes = 8192\nmax_headers = 50\n[timeouts]\nheader_read_ms = 500\n{}",
        plain_site("s.test", &proxy_route("/", &[up(&app)], ""))
    ));
    let seen = || -> u64 {
        let text = raw(proxy.http(), &get("s.test", "/seen"));
        let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
        serde_json::from_str::<serde_json::Value>(body).unwrap()["requests"]
            .as_u64()
            .unwrap()
    };
    let before = seen();

    // CL.TE and TE.CL: the chunked framing wins, Content-Length is dropped
    // and the connection is closed after one response, so the smuggled
    // request is never read as a request.
    for attack in [
        "POST /echo/a HTTP/1.1\r\nHost: s.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /seen HTTP/1.1\r\nHost: s.test\r\n\r\n",
        "POST /echo/a HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\nGET /seen HTTP/1.1\r\nHost: s.test\r\n\r\n",
    ] {
        let text = raw(proxy.http(), attack.as_bytes());
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    }
    // Conflicting lengths and obfuscated encodings: 400, nothing forwarded.
    for attack in [
        "POST /echo/a HTTP/1.1\r\nHost: s.test\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
        "POST /echo/a HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        "POST /echo/a HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "POST /echo/a HTTP/1.0\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        let text = raw(proxy.http(), attack.as_bytes());
        assert_eq!(status_of(&text), 400, "{attack:?}:\n{text}");
    }
    // The two smuggling attempts reached the app as one POST each; the
    // refused ones not at all; plus this /seen.
    assert_eq!(seen(), before + 2 + 1);

    // Headers beyond the limits.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: s.test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    assert_eq!(status_of(&raw(proxy.http(), big.as_bytes())), 431);
    let many: String = (0..60).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: s.test\r\n{many}\r\n");
    assert_eq!(status_of(&raw(proxy.http(), many.as_bytes())), 431);

    // Slowloris: half a request head, then silence; closed after 500 ms.
    let mut s = TcpStream::connect(proxy.http()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: s.te").unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(3),
        "the slow client was cut off after {waited:?}"
    );
    let _ = n;

    // The same for the next request on a kept-alive connection, counted
    // from the end of the response before it; a response that takes
    // longer than the header timeout (a slow app, a slow download) is not
    // cut off by it.
    let mut s = TcpStream::connect(proxy.http()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = std::io::BufReader::new(s.try_clone().unwrap());
    for (path, len) in [
        ("/slow?ms=1200", None),
        ("/stream?chunks=4&size=1000&delay_ms=300", Some(4000)),
    ] {
        write!(s, "GET {path} HTTP/1.1\r\nHost: s.test\r\n\r\n").unwrap();
        let (status, body) = read_response(&mut reader);
        assert_eq!(status, 200, "{path}");
        assert!(!body.is_empty(), "{path}");
        if let Some(len) = len {
            assert_eq!(body.len(), len, "{path}");
        }
    }
    s.write_all(b"GET / HTTP/1.1\r\nHost: s.te").unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        rest.is_empty() && waited >= Duration::from_millis(100) && waited < Duration::from_secs(3),
        "the slow second head was cut off after {waited:?}: {rest:?}"
    );
}

#[test]
fn connections_beyond_the_limit_are_refused_politely() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("index.html"), "hi").unwrap();
    let proxy = Proxy::start_in(
        dir,
        &format!(
            "workers = 1\n[limits]\nmax_connections = 2\n{}",
            plain_site("s.test", &static_route("/", &www))
        ),
    );
    // Once the worker answers, the start-up probes are gone.
    assert!(raw(proxy.http(), &get("s.test", "/")).ends_with("hi"));
    let _a = TcpStream::connect(proxy.http()).unwrap();
    let _b = TcpStream::connect(proxy.http()).unwrap();
    proxy.wait_metric("two open connections", |l| l == "webtier_connections 2");
    let text = raw(proxy.http(), &get("s.test", "/"));
    assert_eq!(status_of(&text), 503, "{text}");
    drop((_a, _b));
    proxy.wait_metric("no open connection", |l| l == "webtier_connections 0");
    assert!(raw(proxy.http(), &get("s.test", "/")).ends_with("hi"));
    assert!(
        proxy
            .metrics()
            .contains("webtier_refused_connections_total 1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_requests_then_exits() {
    let app = Uvicorn::start("one");
    let mut proxy = Proxy::start(&plain_site("s.test", &proxy_route("/", &[up(&app)], "")));
    let c = plain_client();
    let url = http_url(&proxy, "/slow?ms=1500");
    let slow = tokio::spawn(async move {
        let resp = c.get(url).header("host", "s.test").send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    });
    proxy.wait_metric("the slow request in flight", |l| {
        l.starts_with("webtier_upstream_in_flight{") && l.ends_with(" 1")
    });
    proxy.signal(Signal::TERM);
    let (status, body) = slow.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let exit = proxy
        .wait_exit(Duration::from_secs(10))
        .expect("the proxy exits");
    assert!(exit.success(), "{exit:?}\n{}", proxy.log());
    assert!(
        TcpStream::connect(proxy.http()).is_err(),
        "no longer listening"
    );
    assert!(
        !proxy.dir.path().join("proxy.pid").exists(),
        "pid file removed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_log_and_metrics_account_for_every_request() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("index.html"), "hi").unwrap();
    let log = dir.path().join("access.jsonl");
    let mut proxy = Proxy::start_in(
        dir,
        &format!(
            "[access_log]\npath = \"{}\"\nformat = \"json\"\n{}",
            log.display(),
            plain_site("s.test", &static_route("/", &www))
        ),
    );
    let c = plain_client();
    for path in ["/", "/missing", "/"] {
        c.get(http_url(&proxy, path))
            .header("host", "s.test")
            .header("user-agent", "webtier-test")
            .send()
            .await
            .unwrap();
    }
    let metrics = proxy.metrics();
    assert!(
        metrics.contains("webtier_requests_total{class=\"2xx\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("webtier_requests_total{class=\"4xx\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("webtier_request_duration_seconds_count 3"),
        "{metrics}"
    );
    let admin_only = raw(
        std::net::SocketAddr::from(([127, 0, 0, 1], proxy.admin_port)),
        b"GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&admin_only), 404);
    proxy.signal(Signal::TERM);
    proxy.wait_exit(Duration::from_secs(10)).expect("exits");
    let lines: Vec<serde_json::Value> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let statuses: Vec<u64> = lines
        .iter()
        .map(|l| l["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 404, 200]);
    assert_eq!(lines[1]["target"], "/missing");
    assert_eq!(lines[0]["user_agent"], "webtier-test");
    assert_eq!(lines[0]["host"], "s.test");
    assert_eq!(lines[0]["bytes"], 2, "the body's length: {:?}", lines[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_log_masks_secret_query_values_or_leaves_queries_out() {
    for (query, format) in [("masked", "combined"), ("none", "json")] {
        let dir = tempdir();
        let www = dir.path().join("www");
        fs::create_dir(&www).unwrap();
        let log = dir.path().join("access.log");
        let mut proxy = Proxy::start_in(
            dir,
            &format!(
                "[access_log]\npath = \"{}\"\nformat = \"{format}\"\nquery = \"{query}\"\n{}",
                log.display(),
                plain_site("s.test", &static_route("/", &www))
            ),
        );
        let resp = plain_client()
            .get(http_url(&proxy, "/x?code=abc123&state=xyz789&page=2"))
            .header("host", "s.test")
            .header("referer", "https://s.test/login?token=tok456&from=home")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        proxy.signal(Signal::TERM);
        proxy.wait_exit(Duration::from_secs(10)).expect("exits");
        let text = fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        for secret in ["abc123", "xyz789", "tok456"] {
            assert!(
                !text.contains(secret),
                "{query}: {secret} is logged: {text}"
            );
        }
        if query == "masked" {
            assert!(
                text.contains("\"GET /x?code=***&state=***&page=2 HTTP/1.1\" 404 "),
                "{text}"
            );
            assert!(
                text.contains("\"https://s.test/login?token=***&from=home\""),
                "{text}"
            );
        } else {
            let line: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(line["target"], "/x", "{text}");
            assert_eq!(line["referer"], "https://s.test/login", "{text}");
        }
        let mode = fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "{mode:o}");
    }
}

/// `webtier proxy reload` for the proxy configuration `config`.
fn reload(config: &Path) -> std::process::Output {
    support::proxy::webtier(&["proxy", "reload", "--file", config.to_str().unwrap()])
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_reload_signals_the_running_proxy_whatever_its_pid_file_format() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    let proxy = Proxy::start_in(dir, &plain_site("s.test", &static_route("/", &www)));
    let pid_file = proxy.dir.path().join("proxy.pid");
    let text = fs::read_to_string(&pid_file).unwrap();
    let pid: u32 = text.lines().next().unwrap().parse().unwrap();
    for key in ["start_time", "boot_id", "exe"] {
        assert!(text.contains(&format!("\n{key}=")), "{key}: {text}");
    }
    // Its own file, then one as an older webtier wrote it (the pid alone),
    // which the same binary running `proxy run` still answers to.
    for (i, text) in [text.clone(), format!("{pid}\n")].iter().enumerate() {
        fs::write(&pid_file, text).unwrap();
        let out = reload(&proxy.config_path);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("asked the proxy (pid {pid}) to reload\n")
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !proxy
            .metrics()
            .contains(&format!("webtier_reloads_total {}", i + 1))
        {
            assert!(Instant::now() < deadline, "{}", proxy.metrics());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

#[test]
fn proxy_reload_never_signals_another_process_named_in_the_pid_file() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    let config = dir.path().join("proxy.toml");
    let pid_file = dir.path().join("proxy.pid");
    fs::write(
        &config,
        format!(
            "{}{}",
            Proxy::header(dir.path(), free_port(), free_port(), free_port()),
            plain_site("s.test", &static_route("/", &www))
        ),
    )
    .unwrap();
    // What a crash or a reboot leaves: the pid now belongs to another
    // process, which SIGHUP would kill.
    let mut other = Process::spawn(
        "sleep",
        std::process::Command::new("sleep").arg("600"),
        dir.path(),
    );
    let pid = other.pid();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let started = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let (boot, exe) = (boot.trim(), env!("CARGO_BIN_EXE_webtier"));
    let cases = [
        (format!("{pid}\n"), "it runs /"),
        (
            format!("{pid}\nstart_time=1\nboot_id={boot}\nexe={exe}\n"),
            "started at another time",
        ),
        (
            format!("{pid}\nstart_time={started}\nboot_id=0-another-boot\nexe={exe}\n"),
            "the pid file is from before the last reboot",
        ),
    ];
    for (text, why) in cases {
        fs::write(&pid_file, &text).unwrap();
        let out = reload(&config);
        assert!(
            other.wait_exit(Duration::from_secs(1)).is_none(),
            "the process in the pid file was killed ({text:?}): {out:?}"
        );
        assert_eq!(out.status.code(), Some(1), "{text:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&format!(
                "pid {pid} in {} is not webtier's proxy ({why}",
                pid_file.display()
            )) && err.contains("not signalling — remove the stale pid file or start the proxy"),
            "{err}"
        );
        assert_eq!(out.stdout, b"");
    }
}

#[test]
fn a_configuration_that_cannot_start_fails_with_one_line() {
    let dir = tempdir();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let path = dir.path().join("proxy.toml");
    fs::write(
        &path,
        format!(
            "version = 1\nhttp_listen = [\"127.0.0.1:{port}\"]\nhttps_listen = []\nchallenge_dir = \"{}\"\n",
            dir.path().join("c").display()
        ),
    )
    .unwrap();
    let out = support::proxy::webtier(&["proxy", "run", "--file", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && err.contains("another program holds the port"),
        "{err}"
    );
    fs::write(&path, "version = 2\n").unwrap();
    let out = support::proxy::webtier(&["proxy", "run", "--file", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    // A login the proxy could not keep (no TLS for its Secure cookies, no
    // key file for its sessions) is refused whole (fail closed), by `run`
    // and `validate` alike, one line a problem.
    let port = free_port();
    fs::write(
        &path,
        format!(
            "version = 1\nhttp_listen = [\"127.0.0.1:{port}\"]\nhttps_listen = []\nchallenge_dir = \"{}\"\n\
             [[site]]\nnames = [\"a.test\"]\n[[site.route]]\npath = \"/\"\nupstreams = [\"http://127.0.0.1:9\"]\n\
             [site.route.auth]\nallowed_emails = [\"*@example.com\"]\n\
             [site.auth]\nissuer = \"https://id.example\"\nclient_id = \"c\"\n",
            dir.path().join("c").display()
        ),
    )
    .unwrap();
    for command in ["run", "validate"] {
        let out = support::proxy::webtier(&["proxy", command, "--file", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "{command}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.lines().filter(|l| l.contains("site a.test: ")).count(),
            2,
            "{err}"
        );
        assert!(err.contains("auth needs session_key_file"), "{err}");
        assert!(err.contains("auth needs TLS"), "{err}");
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing was served"
    );
}

#[test]
fn ipv4_and_ipv6_listeners_share_a_port() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("index.html"), "both").unwrap();
    let port = free_port();
    let path = dir.path().join("proxy.toml");
    fs::write(
        &path,
        format!(
            "version = 1\nhttp_listen = [\"127.0.0.1:{port}\", \"[::1]:{port}\"]\nhttps_listen = []\n\
             challenge_dir = \"{}\"\n{}",
            dir.path().join("challenge").display(),
            plain_site("s.test", &static_route("/", &www))
        ),
    )
    .unwrap();
    let mut process = support::services::Process::spawn(
        "webtier-proxy",
        support::webtier()
            .args(["proxy", "run", "--file"])
            .arg(&path),
        dir.path(),
    );
    process.wait_for_port(port);
    for addr in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let text = raw(addr.parse().unwrap(), &get("s.test", "/"));
        assert!(text.ends_with("both"), "{addr}: {text}");
    }
}

/// The `host` header of the request an `/echo/` upstream saw.
fn echoed_host(text: &str) -> String {
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let doc: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    doc["headers"]["host"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_has_one_host_and_the_upstream_sees_the_one_routing_used() {
    let one = Uvicorn::start("one");
    let two = Uvicorn::start("two");
    let ca = TestCa::new();
    let dir = tempdir();
    let (cert, key) = ca.leaf(&["a.test"], dir.path(), "a");
    let proxy = Proxy::start_in(
        dir,
        &format!(
            "{}{}",
            tls_site(&["a.test"], &cert, &key, &proxy_route("/", &[up(&one)], "")),
            plain_site("b.test", &proxy_route("/", &[up(&two)], "")),
        ),
    );
    let ask = |request: String| raw(proxy.http(), request.as_bytes());
    // Absolute form: the target names the host; a Host header that names
    // another (unknown, or another configured site) is refused.
    for other in ["evil.example", "a.test"] {
        let text = ask(format!(
            "GET http://b.test/echo/x HTTP/1.1\r\nHost: {other}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(status_of(&text), 400, "Host {other}:\n{text}");
    }
    // Agreeing (case and port aside): the upstream reads the routed name.
    let text = ask(format!(
        "GET http://B.test:{}/echo/x HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n",
        proxy.http_port
    ));
    assert_eq!(status_of(&text), 200, "{text}");
    assert_eq!(echoed_host(&text), "b.test", "{text}");
    // Two Host headers (RFC 9112 §3.2).
    let text = ask(
        "GET /echo/x HTTP/1.1\r\nHost: b.test\r\nHost: b.test\r\nConnection: close\r\n\r\n".into(),
    );
    assert_eq!(status_of(&text), 400, "{text}");
    let text = ask(
        "GET /echo/x HTTP/1.1\r\nHost: b.test\r\nHost: a.test\r\nConnection: close\r\n\r\n".into(),
    );
    assert_eq!(status_of(&text), 400, "{text}");

    // HTTP/2: `:authority` a.test (the SNI's site) with `host: b.test`.
    let (mut h2, _conn) = support::proxy::h2_connection(&proxy, &ca, "a.test", None).await;
    let request = |host: Option<&str>, extra: usize| {
        let mut b = http::Request::get("https://a.test/echo/x");
        if let Some(host) = host {
            b = b.header("host", host);
        }
        for i in 0..extra {
            b = b.header(format!("x-extra-{i}"), "1");
        }
        b.body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    let resp = h2.send_request(request(Some("b.test"), 0)).await.unwrap();
    assert_eq!(resp.status(), 400, "a host header that disagrees");
    let resp = h2.send_request(request(Some("A.test"), 0)).await.unwrap();
    assert_eq!(resp.status(), 200, "one that agrees");
    let resp = h2.send_request(request(None, 0)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["headers"]["host"], "a.test", "{doc}");
    // HTTP/2 heads are held to max_headers (100) as HTTP/1.1 ones are.
    let resp = h2.send_request(request(None, 120)).await.unwrap();
    assert_eq!(resp.status(), 431);
    // An HTTP/1.1 request over TLS stays bound to its SNI's site (421).
    let c = reqwest::Client::builder()
        .add_root_certificate(ca.reqwest_root())
        .http1_only()
        .resolve("a.test", proxy.https())
        .build()
        .unwrap();
    let resp = c
        .get(format!("https://a.test:{}/echo/x", proxy.https_port))
        .header("host", "b.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 421);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_http2_connection_is_closed_even_while_the_client_pings() {
    let app = Uvicorn::start("one");
    let ca = TestCa::new();
    let dir = tempdir();
    let (cert, key) = ca.leaf(&["a.test"], dir.path(), "a");
    let proxy = Proxy::start_in(
        dir,
        &format!(
            "[timeouts]\nhttp2_idle_ms = 500\n{}",
            tls_site(&["a.test"], &cert, &key, &proxy_route("/", &[up(&app)], "")),
        ),
    );
    let (mut h2, conn) =
        support::proxy::h2_connection(&proxy, &ca, "a.test", Some(Duration::from_millis(100)))
            .await;
    // A stream open for three idle limits is not cut…
    let slow = http::Request::get("https://a.test/slow?ms=1500")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = h2.send_request(slow).await.unwrap();
    assert_eq!(resp.status(), 200);
    http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap();
    // …and once none is open the connection is told to go away and
    // closed, although the client pings every 100 ms.
    let ended = tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("the idle connection was closed")
        .unwrap();
    assert!(ended.is_ok(), "closed by a GOAWAY, not cut: {ended:?}");
    proxy.wait_metric("no open connection", |l| l == "webtier_connections 0");
}

#[test]
fn a_client_that_stops_reading_is_cut_off_and_frees_its_slot() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("big.bin"), vec![7u8; 50 << 20]).unwrap();
    fs::write(www.join("index.html"), "hi").unwrap();
    let proxy = Proxy::start_in(
        dir,
        &format!(
            "workers = 1\n[limits]\nmax_connections = 3\n[timeouts]\nsend_ms = 500\n{}",
            plain_site("s.test", &static_route("/", &www))
        ),
    );
    // Once the worker answers, the start-up probes are gone.
    assert!(raw(proxy.http(), &get("s.test", "/")).ends_with("hi"));
    // Three clients take every slot, ask for 50 MB and read none of it.
    let stalled: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(proxy.http()).unwrap();
            s.write_all(&get("s.test", "/big.bin")).unwrap();
            s
        })
        .collect();
    proxy.wait_metric("three open connections", |l| l == "webtier_connections 3");
    // Each is cut once its response has made no progress for send_ms,
    // and the slots are free again.
    proxy.wait_metric("the stalled clients cut", |l| l == "webtier_connections 0");
    assert!(raw(proxy.http(), &get("s.test", "/")).ends_with("hi"));
    drop(stalled);
}

/// Opens a WebSocket to the echo app through the proxy; the stream and the
/// 101 response's head, lowercased.
fn websocket(proxy: &Proxy) -> (TcpStream, String) {
    let mut s = TcpStream::connect(proxy.http()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: s.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    (s, head)
}

/// Sends a masked text frame, as clients must, and reads the text frame
/// that comes back; None when the tunnel is gone.
fn echo(s: &mut TcpStream, message: &str) -> Option<String> {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | message.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(message.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).ok()?;
    let mut hdr = [0u8; 2];
    s.read_exact(&mut hdr).ok()?;
    assert_eq!(hdr[0], 0x81, "a text frame comes back");
    let mut payload = vec![0u8; (hdr[1] & 0x7f) as usize];
    s.read_exact(&mut payload).ok()?;
    String::from_utf8(payload).ok()
}

/// Whether the proxy closed `s` (end of stream) within its read timeout.
fn closed_by_proxy(s: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).is_ok()
}

#[test]
fn websocket_tunnels_count_as_connections_close_when_idle_and_live_through_a_drain() {
    let app = Uvicorn::start("one");
    let mut proxy = Proxy::start(&format!(
        "[timeouts]\ntunnel_idle_ms = 800\ndrain_ms = 5000\n{}",
        plain_site("s.test", &proxy_route("/", &[up(&app)], ""))
    ));
    let (mut ws, _) = websocket(&proxy);
    assert!(echo(&mut ws, "hello").is_some());
    // The tunnel is an open connection (max_connections, the gauge)…
    assert!(
        proxy.metrics().contains("\nwebtier_connections 1\n"),
        "{}",
        proxy.metrics()
    );
    // …traffic keeps it open past its idle limit…
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(300));
        assert!(echo(&mut ws, "still here").is_some());
    }
    // …and silence closes it.
    assert!(closed_by_proxy(&mut ws), "the idle tunnel was closed");
    proxy.wait_metric("no open connection", |l| l == "webtier_connections 0");

    // A drain waits for an open tunnel (up to drain_ms), then ends it.
    let (mut ws, _) = websocket(&proxy);
    assert!(echo(&mut ws, "before").is_some());
    proxy.signal(Signal::TERM);
    proxy.wait_log("draining");
    assert!(
        echo(&mut ws, "during the drain").is_some(),
        "{}",
        proxy.log()
    );
    let exit = proxy.wait_exit(Duration::from_secs(15)).expect("exits");
    assert!(exit.success(), "{exit:?}");
    assert!(closed_by_proxy(&mut ws));
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_pooled_upstream_connections_are_closed_when_they_expire() {
    let upstream = Holding::start(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let proxy = Proxy::start(&format!(
        "[timeouts]\nupstream_idle_ms = 300\n{}",
        plain_site(
            "s.test",
            &proxy_route("/", std::slice::from_ref(&upstream.url), "")
        )
    ));
    let resp = s_test(&plain_client(), Method::GET, http_url(&proxy, "/"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
    assert_eq!(upstream.next(Duration::from_secs(5)), Some("request"));
    // Pooled, unused: closed once it has been idle for 300 ms, without
    // another request coming to take it.
    assert_eq!(
        upstream.next(Duration::from_secs(10)),
        Some("closed"),
        "the idle upstream connection was left open"
    );
}

/// With no TLS site, nothing listens for HTTPS (a port that can only
/// refuse handshakes is noise), and neither the daemon's log nor
/// `proxy status` lists an HTTPS listener. A TLS site added later needs
/// the listener: a reload says a restart must open it.
#[test]
fn without_a_tls_site_no_https_listener_is_opened_or_listed() {
    let dir = tempdir();
    let status_file = dir.path().join("proxy.status.json");
    let proxy = Proxy::start_in(
        dir,
        &format!(
            "status_file = \"{}\"\n{}",
            status_file.display(),
            plain_site("s.test", &proxy_route("/", &[dead()], ""))
        ),
    );
    // Every listener is bound before the pid file that start waited for.
    let https = TcpStream::connect(proxy.https());
    assert_eq!(
        https.as_ref().map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "the HTTPS port accepts connections: {https:?}"
    );
    let http = format!("http://127.0.0.1:{}", proxy.http_port);
    proxy.wait_log(&format!("on {http} with"));
    assert!(!proxy.log().contains("https://"), "{}", proxy.log());
    let config = proxy.config_path.to_str().unwrap();
    let out = support::run(proxy.dir.path(), &["proxy", "status", "--file", config]);
    support::assert_exit(&out, 0);
    let text = support::stdout(&out);
    assert!(text.contains(&format!("listening: {http}\n")), "{text}");

    let ca = TestCa::new();
    let (cert, key) = ca.leaf(&["a.test"], proxy.dir.path(), "a");
    proxy.rewrite(&format!(
        "status_file = \"{}\"\n{}",
        status_file.display(),
        tls_site(&["a.test"], &cert, &key, &proxy_route("/", &[dead()], ""))
    ));
    proxy.signal(Signal::HUP);
    proxy.wait_log("reload refused");
    assert!(
        proxy
            .log()
            .contains("take effect only when the proxy is restarted"),
        "{}",
        proxy.log()
    );
}
