//! The traffic policy stages against a FastAPI upstream: access control
//! by client address (the socket peer, or a trusted proxy's
//! `X-Forwarded-For`) and dot segments on proxied routes.

use std::fs;
use std::time::Duration;

use reqwest::Method;
use rustix::process::Signal;

use super::{http_url, plain_client, plain_site, proxy_route, s_test, up};
use crate::support::proxy::Proxy;
use crate::support::services::{Uvicorn, tempdir};

/// The status of a GET of `path` on `s.test`, with `headers`.
async fn status(proxy: &Proxy, path: &str, headers: &[(&str, &str)]) -> u16 {
    s_test(&plain_client(), Method::GET, http_url(proxy, path), headers)
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_are_admitted_by_address_and_a_trusted_proxys_forwarded_for() {
    let app = Uvicorn::start("one");
    let dir = tempdir();
    let log = dir.path().join("access.jsonl");
    let routes = format!(
        "{}{}{}",
        proxy_route("/", &[up(&app)], ""),
        // Replaces the site's list: only 203.0.113.0/24, and not .66.
        proxy_route(
            "/echo/staff/",
            &[up(&app)],
            "access = { allow = [\"203.0.113.0/24\"], deny = [\"203.0.113.66/32\"] }\n"
        ),
        proxy_route(
            "/echo/open/",
            &[up(&app)],
            "access = { deny = [\"198.51.100.0/24\"] }\n"
        ),
    );
    let site = format!(
        "[[site]]\nnames = [\"s.test\"]\naccess = {{ deny = [\"192.0.2.0/24\"] }}\n{routes}"
    );
    // This test's client is 127.0.0.1: a trusted proxy whose
    // X-Forwarded-For names the real client.
    let body = |trusted: &str| {
        format!(
            "trusted_proxies = [{trusted}]\n[access_log]\npath = \"{}\"\nformat = \"json\"\n{site}",
            log.display()
        )
    };
    let mut proxy = Proxy::start_in(dir, &body("\"127.0.0.0/8\""));
    let xff = |ip: &'static str| [("x-forwarded-for", ip)];
    // The site's list applies to routes without their own.
    assert_eq!(status(&proxy, "/echo/a", &[]).await, 200);
    assert_eq!(status(&proxy, "/echo/a", &xff("192.0.2.7")).await, 403);
    assert_eq!(status(&proxy, "/echo/a", &xff("198.51.100.1")).await, 200);
    // A route's own list replaces it.
    assert_eq!(
        status(&proxy, "/echo/staff/x", &xff("203.0.113.5")).await,
        200
    );
    assert_eq!(
        status(&proxy, "/echo/staff/x", &xff("203.0.113.66")).await,
        403
    );
    assert_eq!(
        status(&proxy, "/echo/staff/x", &xff("198.51.100.1")).await,
        403
    );
    assert_eq!(
        status(&proxy, "/echo/staff/x", &[]).await,
        403,
        "127.0.0.1 itself"
    );
    // Spelled otherwise, the path is still the guarded route's (the
    // upstream would read it the same), or refused.
    assert_eq!(status(&proxy, "/echo/%73taff/x", &[]).await, 403);
    assert_eq!(status(&proxy, "/echo//staff/x", &[]).await, 403);
    assert_eq!(status(&proxy, "/echo%2fstaff/x", &[]).await, 400);
    assert_eq!(status(&proxy, "/echo/open/x", &xff("192.0.2.7")).await, 200);
    assert_eq!(
        status(&proxy, "/echo/open/x", &xff("198.51.100.9")).await,
        403
    );
    // The right-most address that is not a trusted proxy counts: a client
    // cannot hide behind a forged first entry.
    assert_eq!(
        status(&proxy, "/echo/staff/x", &xff("203.0.113.5, 198.51.100.1")).await,
        403
    );
    assert_eq!(
        status(
            &proxy,
            "/echo/staff/x",
            &xff("198.51.100.1, 203.0.113.5, 127.0.0.9")
        )
        .await,
        200
    );
    // The denial is a plain page that names nothing of the upstream.
    let resp = s_test(
        &plain_client(),
        Method::GET,
        http_url(&proxy, "/echo/staff/x"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 403);
    let page = resp.text().await.unwrap();
    assert!(page.contains("403"), "{page}");
    assert!(!page.contains("127.0.0.1"), "{page}");

    // Untrusted: the header is the client's word, and means nothing.
    proxy.rewrite(&body(""));
    let reload = crate::support::proxy::webtier(&[
        "proxy",
        "reload",
        "--file",
        proxy.config_path.to_str().unwrap(),
    ]);
    assert!(reload.status.success(), "{reload:?}");
    proxy.wait_log("reloaded configuration");
    assert_eq!(
        status(&proxy, "/echo/staff/x", &xff("203.0.113.5")).await,
        403
    );
    assert_eq!(status(&proxy, "/echo/a", &xff("192.0.2.7")).await, 200);

    // Counted and logged.
    let metrics = proxy.metrics();
    assert!(
        metrics
            .contains("webtier_policy_decisions_total{decision=\"denied\",reason=\"address\"} 10"),
        "{metrics}"
    );
    proxy.signal(Signal::TERM);
    proxy.wait_exit(Duration::from_secs(10)).expect("exits");
    let lines: Vec<serde_json::Value> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let denied = lines
        .iter()
        .filter(|l| l["policy"] == "denied:address")
        .count();
    assert_eq!(denied, 10, "{lines:?}");
    assert!(
        lines
            .iter()
            .filter(|l| l["status"] == 403)
            .all(|l| l["policy"] == "denied:address")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dot_segments_are_refused_on_proxied_routes_unless_allowed() {
    let app = Uvicorn::start("one");
    let routes = format!(
        "{}{}",
        proxy_route("/", &[up(&app)], ""),
        proxy_route("/echo/dav/", &[up(&app)], "allow_dotfiles = true\n"),
    );
    let proxy = Proxy::start(&plain_site("s.test", &routes));
    for path in [
        "/echo/.git/config",
        "/echo/.env",
        "/echo/app/.svn/entries",
        "/echo/%2egit/HEAD",
        "/echo/%2Eenv",
        "/echo/a/../.htpasswd",
        // An upstream that decodes %2F reads /echo/x/.env.
        "/echo/x%2F.env",
        "/echo/x%5c.git%5cconfig",
    ] {
        assert_eq!(status(&proxy, path, &[]).await, 403, "{path}");
    }
    // Where dotfiles are allowed, `..` still is not: the upstream would
    // resolve it to a path outside the route.
    let text = crate::support::proxy::raw(
        proxy.http(),
        b"GET /echo/dav/../.env HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(crate::support::proxy::status_of(&text), 403, "{text}");
    // .well-known passes, and so does a dot inside a name.
    assert_eq!(
        status(&proxy, "/echo/.well-known/security.txt", &[]).await,
        200
    );
    assert_eq!(status(&proxy, "/echo/v1.2/file.tar.gz", &[]).await, 200);
    // A route that allows them forwards them as sent.
    let resp = s_test(
        &plain_client(),
        Method::GET,
        http_url(&proxy, "/echo/dav/.config/x"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["path"], "/echo/dav/.config/x");
    let metrics = proxy.metrics();
    assert!(
        metrics
            .contains("webtier_policy_decisions_total{decision=\"denied\",reason=\"dotfile\"} 9"),
        "{metrics}"
    );
}

/// A GET of `path` on `host` without following redirects: status and
/// Location.
async fn location(proxy: &Proxy, host: &str, method: Method, path: &str) -> (u16, String) {
    let resp = plain_client()
        .request(method, http_url(proxy, path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (resp.status().as_u16(), location)
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_canonical_hosts_trailing_slashes_and_rewrites() {
    let app = Uvicorn::start("one");
    let routes = format!(
        "{}{}{}",
        proxy_route("/", &[up(&app)], ""),
        proxy_route(
            "/api/",
            &[up(&app)],
            "rewrite = { from = \"^/api/v1/(?P<rest>.*)$\", to = \"/echo/${rest}?via=rewrite\" }\n"
        ),
        proxy_route("/docs", &[up(&app)], "trailing_slash = \"add\"\n"),
    );
    let site = format!(
        "[[site]]\nnames = [\"s.test\", \"www.s.test\"]\ncanonical_host = \"s.test\"\n\
         [[site.redirect]]\nfrom = \"^/old/(.*)$\"\nto = \"/echo/new/$1\"\n\
         [[site.redirect]]\nfrom = \"^/moved$\"\nto = \"https://elsewhere.test/here\"\nstatus = 302\n\
         [[site.redirect]]\nfrom = \"^/form/(\\\\d+)$\"\nto = \"/echo/forms/$1\"\nstatus = 307\n\
         [[site.redirect]]\nfrom = \"^/api/v0/(.*)$\"\nto = \"/api/v1/$1\"\nstatus = 308\n\
         [[site.redirect]]\nfrom = \"^/go/(.*)$\"\nto = \"/$1\"\n{routes}"
    );
    let proxy = Proxy::start(&site);
    let port = proxy.http_port;

    // Each kind of redirect, captures filled, the query kept.
    assert_eq!(
        location(&proxy, "s.test", Method::GET, "/old/a/b?x=1").await,
        (301, "/echo/new/a/b?x=1".into())
    );
    assert_eq!(
        location(&proxy, "s.test", Method::GET, "/moved").await,
        (302, "https://elsewhere.test/here".into())
    );
    assert_eq!(
        location(&proxy, "s.test", Method::POST, "/form/42").await,
        (307, "/echo/forms/42".into())
    );
    assert_eq!(
        location(&proxy, "s.test", Method::GET, "/api/v0/users").await,
        (308, "/api/v1/users".into())
    );
    // A capture cannot send the client to another host.
    assert_eq!(
        location(&proxy, "s.test", Method::GET, "/go//evil.test/x").await,
        (301, "/evil.test/x".into())
    );
    // The canonical host: every other name is sent there, path and query
    // kept; 308 for a POST.
    assert_eq!(
        location(&proxy, "www.s.test", Method::GET, "/echo/a?b=2").await,
        (301, format!("http://s.test:{port}/echo/a?b=2"))
    );
    assert_eq!(
        location(&proxy, "www.s.test", Method::POST, "/echo/a").await,
        (308, format!("http://s.test:{port}/echo/a"))
    );
    // The route's trailing slash.
    assert_eq!(
        location(&proxy, "s.test", Method::GET, "/docs?q=1").await,
        (301, "/docs/?q=1".into())
    );
    assert_eq!(
        location(&proxy, "s.test", Method::GET, "/docs/a.pdf")
            .await
            .0,
        404
    );

    // The rewrite reaches the upstream with the new path and both queries.
    let resp = s_test(
        &plain_client(),
        Method::GET,
        http_url(&proxy, "/api/v1/users/7?id=3"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["path"], "/echo/users/7");
    assert_eq!(v["query"], "via=rewrite&id=3");
    // A path the rewrite does not match goes as it came.
    assert_eq!(status(&proxy, "/api/other", &[]).await, 404);

    let metrics = proxy.metrics();
    for (reason, n) in [("rule", 5), ("canonical_host", 2), ("trailing_slash", 1)] {
        let line = format!(
            "webtier_policy_decisions_total{{decision=\"redirected\",reason=\"{reason}\"}} {n}"
        );
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
}

/// An htpasswd file with a bcrypt entry (`ann`, cost `cost`) and an
/// argon2id one (`bo`), made now.
fn htpasswd(dir: &std::path::Path, cost: u32) -> std::path::PathBuf {
    use argon2::PasswordHasher;
    let bcrypt = bcrypt::hash("ann-secret", cost).unwrap();
    let salt = argon2::password_hash::SaltString::encode_b64(b"webtier-test-salt").unwrap();
    let argon = argon2::Argon2::default()
        .hash_password(b"bo-secret", &salt)
        .unwrap()
        .to_string();
    let path = dir.join("htpasswd");
    fs::write(&path, format!("# staff\nann:{bcrypt}\nbo:{argon}\n")).unwrap();
    path
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_admits_bcrypt_and_argon2_users_and_nobody_else() {
    let app = Uvicorn::start("one");
    let dir = tempdir();
    let file = htpasswd(dir.path(), 4);
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("report.txt"), "quarterly").unwrap();
    let guard = |forward: bool| {
        format!(
            "basic_auth = {{ htpasswd_file = \"{}\", realm = \"Staff\", forward_authorization = {forward} }}\n",
            file.display()
        )
    };
    let routes = format!(
        "{}{}{}[[site.route]]\npath = \"/files/\"\nroot = \"{}\"\n{}",
        proxy_route("/", &[up(&app)], ""),
        proxy_route("/echo/staff/", &[up(&app)], &guard(false)),
        proxy_route("/echo/fwd/", &[up(&app)], &guard(true)),
        www.display(),
        guard(false),
    );
    let proxy = Proxy::start_in(dir, &plain_site("s.test", &routes));
    let get = |path: &'static str, auth: Option<String>| {
        let proxy = &proxy;
        async move {
            let mut headers = Vec::new();
            if let Some(a) = &auth {
                headers.push(("authorization", a.as_str()));
            }
            s_test(
                &plain_client(),
                Method::GET,
                http_url(proxy, path),
                &headers,
            )
            .await
        }
    };
    // No credentials: the challenge.
    let resp = get("/echo/staff/x", None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Basic realm=\"Staff\", charset=\"UTF-8\""
    );
    // Wrong password, unknown user, another scheme, garbage: 401.
    for auth in [
        basic("ann", "wrong"),
        basic("bo", "ann-secret"),
        basic("eve", "ann-secret"),
        "Bearer abc".to_string(),
        "Basic !!!".to_string(),
    ] {
        assert_eq!(
            get("/echo/staff/x", Some(auth.clone())).await.status(),
            401,
            "{auth}"
        );
    }
    // Each user with their own password; twice (the second from the cache).
    for _ in 0..2 {
        for auth in [basic("ann", "ann-secret"), basic("bo", "bo-secret")] {
            let resp = get("/echo/staff/x", Some(auth)).await;
            assert_eq!(resp.status(), 200);
            let v: serde_json::Value = resp.json().await.unwrap();
            assert!(
                v["headers"].get("authorization").is_none(),
                "not forwarded: {v}"
            );
        }
    }
    // A route that forwards it.
    let resp = get("/echo/fwd/x", Some(basic("ann", "ann-secret"))).await;
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["headers"]["authorization"], basic("ann", "ann-secret"));
    // Static files behind it too.
    assert_eq!(get("/files/report.txt", None).await.status(), 401);
    assert_eq!(
        get("/files/report.txt", Some(basic("bo", "wrong")))
            .await
            .status(),
        401
    );
    let resp = get("/files/report.txt", Some(basic("bo", "bo-secret"))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "quarterly");
    // Unguarded routes are not asked.
    assert_eq!(get("/echo/open", None).await.status(), 200);
    let metrics = proxy.metrics();
    assert!(
        metrics.contains(
            "webtier_policy_decisions_total{decision=\"denied\",reason=\"credentials\"} 8"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_bad_passwords_does_not_hold_up_other_requests() {
    let app = Uvicorn::start("one");
    let dir = tempdir();
    // Cost 12: about a quarter of a second per check on this machine.
    let file = htpasswd(dir.path(), 12);
    let routes = format!(
        "{}{}",
        proxy_route("/", &[up(&app)], ""),
        proxy_route(
            "/echo/staff/",
            &[up(&app)],
            &format!(
                "basic_auth = {{ htpasswd_file = \"{}\" }}\n",
                file.display()
            )
        ),
    );
    // One worker: hashing on its event loop would hold up the open request.
    let proxy = Proxy::start_in(
        dir,
        &format!("workers = 1\n{}", plain_site("s.test", &routes)),
    );
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut burst = Vec::new();
    for i in 0..32 {
        let url = http_url(&proxy, "/echo/staff/x");
        let done = done.clone();
        burst.push(tokio::spawn(async move {
            let resp = s_test(
                &plain_client(),
                Method::GET,
                url,
                &[("authorization", &basic("ann", &format!("guess-{i}")))],
            )
            .await;
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            resp.status().as_u16()
        }));
    }
    // Once the checks have begun, an unguarded request is answered while
    // most of the burst still waits its turn (4 checks at a time).
    proxy.wait_metric("the first refused guess", |line| {
        line.starts_with(
            "webtier_policy_decisions_total{decision=\"denied\",reason=\"credentials\"}",
        ) && !line.ends_with(" 0")
    });
    assert_eq!(status(&proxy, "/echo/open", &[]).await, 200);
    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
    assert!(finished < 32, "the burst had already ended: {finished}");
    for b in burst {
        assert_eq!(b.await.unwrap(), 401);
    }
}

/// A static site whose `/files/` route has `limit` (a TOML inline table);
/// the test client (127.0.0.1) is a trusted proxy, so each request's
/// `X-Forwarded-For` is its client.
fn limited_site(dir: &std::path::Path, limit: &str) -> String {
    let www = dir.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("a.txt"), "a").unwrap();
    format!(
        "trusted_proxies = [\"127.0.0.0/8\"]\n[[site]]\nnames = [\"s.test\"]\n[[site.route]]\npath = \"/files/\"\nroot = \"{}\"\nrate_limit = {limit}\n",
        www.display()
    )
}

/// Sends `n` pipelined GETs of /files/a.txt on one connection, each from
/// the client `client(i)`, and returns the status of each response.
fn pipelined(proxy: &Proxy, n: usize, client: impl Fn(usize) -> String) -> Vec<u16> {
    use std::io::{BufRead, BufReader, Read, Write};
    let stream = std::net::TcpStream::connect(proxy.http()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut requests = Vec::new();
    for i in 0..n {
        requests.extend_from_slice(
            format!(
                "GET /files/a.txt HTTP/1.1\r\nHost: s.test\r\nX-Forwarded-For: {}\r\n\r\n",
                client(i)
            )
            .as_bytes(),
        );
    }
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || writer.write_all(&requests).unwrap());
    let mut reader = BufReader::new(stream);
    let mut statuses = Vec::with_capacity(n);
    while statuses.len() < n {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header == "\r\n" {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        statuses.push(status);
    }
    sender.join().unwrap();
    statuses
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_admits_its_rate_and_bursts_as_configured() {
    // Bursts: three at once, then 429 with Retry-After.
    let dir = tempdir();
    let site = limited_site(dir.path(), "{ per_second = 1, burst = 3 }");
    let proxy = Proxy::start_in(dir, &site);
    let statuses = pipelined(&proxy, 5, |_| "198.51.100.1".into());
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let resp = plain_client()
        .get(http_url(&proxy, "/files/a.txt"))
        .header("host", "s.test")
        .header("x-forwarded-for", "198.51.100.1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1).contains(&retry), "{retry}");
    // Another client has its own budget.
    assert_eq!(pipelined(&proxy, 1, |_| "198.51.100.2".into()), [200]);
    let metrics = proxy.metrics();
    assert!(
        metrics.contains("webtier_policy_decisions_total{decision=\"limited\",reason=\"rate\"} 3"),
        "{metrics}"
    );

    // A site's limit is one budget per client across its routes.
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("a.txt"), "a").unwrap();
    let site = format!(
        "[[site]]\nnames = [\"s.test\"]\nrate_limit = {{ per_second = 1, burst = 2 }}\n\
         [[site.route]]\npath = \"/files/\"\nroot = \"{0}\"\n\
         [[site.route]]\npath = \"/other/\"\nroot = \"{0}\"\n",
        www.display()
    );
    let proxy = Proxy::start_in(dir, &site);
    let mut shared = Vec::new();
    for path in ["/files/a.txt", "/other/a.txt", "/files/a.txt"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n");
        let text = crate::support::proxy::raw(proxy.http(), request.as_bytes());
        shared.push(crate::support::proxy::status_of(&text));
    }
    assert_eq!(shared, [200, 200, 429]);

    // A delay: of five requests at once (five connections), one passes,
    // three are held for their turn, and one is refused.
    let dir = tempdir();
    let site = limited_site(dir.path(), "{ per_second = 2, burst = 1, delay = 3 }");
    let proxy = Proxy::start_in(dir, &site);
    let proxy_ref = &proxy;
    let mut statuses: Vec<u16> = std::thread::scope(|scope| {
        let ready = std::sync::Arc::new(std::sync::Barrier::new(5));
        let sent: Vec<_> = (0..5)
            .map(|_| {
                let ready = ready.clone();
                scope.spawn(move || {
                    ready.wait();
                    pipelined(proxy_ref, 1, |_| "198.51.100.3".into())[0]
                })
            })
            .collect();
        sent.into_iter().map(|t| t.join().unwrap()).collect()
    });
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 429]);

    // Accuracy: one client keeping the limit busy for three seconds (four
    // connections, each with a batch always in flight, so the limiter
    // never waits for a request) is admitted at the configured rate, plus
    // its burst, within 10%.
    let dir = tempdir();
    let site = limited_site(dir.path(), "{ per_second = 20, burst = 1 }");
    let proxy = Proxy::start_in(dir, &site);
    let proxy_ref = &proxy;
    let started = std::time::Instant::now();
    let window = Duration::from_secs(3);
    let counts: Vec<(usize, usize)> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(move || {
                    let (mut admitted, mut refused) = (0, 0);
                    while started.elapsed() < window {
                        for status in pipelined(proxy_ref, 50, |_| "198.51.100.4".into()) {
                            match status {
                                200 => admitted += 1,
                                429 => refused += 1,
                                other => panic!("status {other}"),
                            }
                        }
                    }
                    (admitted, refused)
                })
            })
            .collect();
        senders.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let admitted: usize = counts.iter().map(|c| c.0).sum();
    let refused: usize = counts.iter().map(|c| c.1).sum();
    let expected = 20.0 * seconds + 1.0;
    let ratio = admitted as f64 / expected;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "admitted {admitted} in {seconds:.2}s, expected {expected:.0} (ratio {ratio:.3}; {refused} refused)"
    );
    assert!(refused > admitted, "the client sent far over the rate");
}

/// The proxy's resident memory, in KiB.
fn rss_kib(proxy: &Proxy) -> u64 {
    let pid = fs::read_to_string(proxy.dir.path().join("proxy.pid")).unwrap();
    let pid = pid.split_whitespace().next().unwrap().to_string();
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn limit_clients(proxy: &Proxy) -> u64 {
    proxy
        .metrics()
        .lines()
        .find_map(|l| l.strip_prefix("webtier_rate_limit_clients "))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_clients_are_remembered_in_bounded_memory_then_forgotten() {
    let dir = tempdir();
    // A client's budget refills 90 s after its request: all are
    // remembered while the test sends (about 20 s here, alone), then
    // forgotten.
    let site = limited_site(dir.path(), "{ per_second = 0.0111, burst = 1 }");
    let proxy = Proxy::start_in(dir, &site);
    assert_eq!(pipelined(&proxy, 1, |_| "10.255.0.1".into()), [200]);
    let baseline = rss_kib(&proxy);
    let sending = std::time::Instant::now();
    // 100,000 clients, 4 connections side by side.
    let proxy_ref = &proxy;
    std::thread::scope(|scope| {
        for part in 0..4usize {
            scope.spawn(move || {
                for batch in 0..25usize {
                    let statuses = pipelined(proxy_ref, 1000, |i| {
                        let n = part * 25_000 + batch * 1000 + i;
                        format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255)
                    });
                    assert!(statuses.iter().all(|s| *s == 200));
                }
            });
        }
    });
    let remembered = limit_clients(&proxy);
    let peak = rss_kib(&proxy);
    assert!(
        remembered > 90_000,
        "{remembered} remembered after sending for {:?}",
        sending.elapsed()
    );
    // The README's bound: 32 MiB for 100,000 clients.
    assert!(
        peak.saturating_sub(baseline) < 32 * 1024,
        "RSS grew {} KiB (from {baseline} to {peak})",
        peak - baseline
    );
    // Idle, they are forgotten, and the memory goes back.
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    while limit_clients(&proxy) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "still {} clients remembered",
            limit_clients(&proxy)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The limiter holds nothing now and has given its tables back; how
    // much of that the allocator returns to the system is its own
    // business (figures in the README).
}
