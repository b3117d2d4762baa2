//! The response cache (#19) in front of a FastAPI upstream: what is
//! stored and for whom (`private`, `Set-Cookie`, `Authorization`, `Vary`),
//! coalesced misses, revalidation with a 304, stale answers when the
//! upstream fails or while it is asked again, purges through the admin
//! listener and on reload, and the cache's metrics. The app counts its
//! requests per path (`GET /counts`), which is how a test tells what
//! reached it.
//!
//! The app's `Date` header is refreshed about once a second (uvicorn) and
//! has whole seconds: a cache that computes an age from it (RFC 9111
//! 4.2.3) may see a response up to two seconds old as it arrives. The
//! tests that need a fresh entry after a first miss give it `max-age=3`;
//! those that only need it stale use `max-age=1`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use rustix::process::Signal;

use super::{http_url, plain_client, plain_site, proxy_route, up};
use crate::support::proxy::Proxy;
use crate::support::services::Uvicorn;

/// One response through the proxy, read whole.
#[derive(Debug)]
struct Got {
    status: u16,
    x_cache: String,
    headers: reqwest::header::HeaderMap,
    body: String,
    elapsed: Duration,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// A request to the site `host` on a new client (a new connection).
async fn request(
    proxy: &Proxy,
    method: Method,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Got {
    let start = Instant::now();
    let mut req = plain_client()
        .request(method, http_url(proxy, path))
        .header("host", host);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e:?}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap();
    let x_cache = headers
        .get("x-cache")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    Got {
        status,
        x_cache,
        headers,
        body,
        elapsed: start.elapsed(),
    }
}

/// A GET of `path` on `s.test`.
async fn get(proxy: &Proxy, path: &str, headers: &[(&str, &str)]) -> Got {
    request(proxy, Method::GET, "s.test", path, headers).await
}

/// GETs `path` until the answer is no longer a hit (the entry went
/// stale), within 15 s; returns that answer, the hits before it given to
/// `seen`.
async fn get_until_not_hit(proxy: &Proxy, path: &str, seen: &mut impl FnMut(&Got)) -> Got {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = get(proxy, path, &[]).await;
        if got.x_cache != "HIT" {
            return got;
        }
        seen(&got);
        assert!(
            Instant::now() < deadline,
            "{path} still a hit after 15 s: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the app counted for `path`: requests, conditional requests, and
/// those answered 304.
async fn counts(app: &Uvicorn, path: &str) -> (u64, u64, u64) {
    let all: serde_json::Value = reqwest::get(app.url("/counts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = |what: &str| all[path][what].as_u64().unwrap_or(0);
    (n("requests"), n("conditional"), n("not_modified"))
}

/// How many requests for `path` reached the app.
async fn requests(app: &Uvicorn, path: &str) -> u64 {
    counts(app, path).await.0
}

/// `s.test` proxied to `app` with `cache = { <cache> }` on its one route.
fn cached_site(app: &Uvicorn, cache: &str) -> String {
    plain_site(
        "s.test",
        &proxy_route("/", &[up(app)], &format!("cache = {{ {cache} }}\n")),
    )
}

/// The value of the metric line `name` (with its labels) or 0 when absent.
fn metric(proxy: &Proxy, name: &str) -> f64 {
    proxy
        .metrics()
        .lines()
        .find_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            (key == name).then(|| value.parse().unwrap())
        })
        .unwrap_or(0.0)
}

fn admin_url(proxy: &Proxy, path_and_query: &str) -> String {
    format!("http://127.0.0.1:{}{path_and_query}", proxy.admin_port)
}

/// `POST /cache/purge<query>` on the admin listener: the number purged.
async fn purge(proxy: &Proxy, query: &str) -> u64 {
    let resp = plain_client()
        .post(admin_url(proxy, &format!("/cache/purge{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "purge{query}");
    let answer: serde_json::Value = resp.json().await.unwrap();
    answer["purged"]
        .as_u64()
        .unwrap_or_else(|| panic!("purge{query} answered {answer}"))
}

fn query_value(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn private_and_set_cookie_responses_are_never_served_to_another_client() {
    let app = Uvicorn::start("one");
    // s.test never stores a response with Set-Cookie; t.test stores it
    // without the cookie (set for the site, inherited by its route).
    let body = format!(
        "{}{}",
        cached_site(&app, "enabled = true"),
        plain_site(
            "t.test",
            &format!(
                "cache = {{ enabled = true, strip_set_cookie = true }}\n{}",
                proxy_route("/", &[up(&app)], "")
            )
        ),
    );
    let proxy = Proxy::start(&body);

    for host in ["s.test", "t.test"] {
        let path = format!("/cache/private/{host}");
        let first = request(&proxy, Method::GET, host, &path, &[]).await;
        let second = request(&proxy, Method::GET, host, &path, &[]).await;
        assert_eq!((first.status, second.status), (200, 200));
        assert_eq!(first.body, format!("private {host} n=1"));
        assert_eq!(
            second.body,
            format!("private {host} n=2"),
            "a private response served to another client: {second:?}"
        );
        assert!(
            matches!(second.x_cache.as_str(), "MISS" | "BYPASS"),
            "{second:?}"
        );
        assert_eq!(requests(&app, &path).await, 2);
    }

    // Without strip_set_cookie: each client gets its own answer and cookie.
    let path = "/cache/cookie/c";
    let first = get(&proxy, path, &[]).await;
    let second = get(&proxy, path, &[]).await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(
        first.header("set-cookie"),
        Some("sid=c-1; Path=/; HttpOnly")
    );
    assert_eq!(
        second.header("set-cookie"),
        Some("sid=c-2; Path=/; HttpOnly"),
        "another client's cookie, or none: {second:?}"
    );
    assert_eq!(second.body, "cookie c n=2");
    assert!(
        matches!(second.x_cache.as_str(), "MISS" | "BYPASS"),
        "{second:?}"
    );
    assert_eq!(requests(&app, path).await, 2);

    // With it: stored without the cookie, which only the first client got.
    let path = "/cache/cookie/t";
    let first = request(&proxy, Method::GET, "t.test", path, &[]).await;
    assert_eq!((first.status, first.x_cache.as_str()), (200, "MISS"));
    assert_eq!(
        first.header("set-cookie"),
        Some("sid=t-1; Path=/; HttpOnly")
    );
    for _ in 0..2 {
        let again = request(&proxy, Method::GET, "t.test", path, &[]).await;
        assert_eq!((again.status, again.x_cache.as_str()), (200, "HIT"));
        assert_eq!(again.body, "cookie t n=1");
        assert_eq!(
            again.header("set-cookie"),
            None,
            "the first client's cookie went to another: {again:?}"
        );
    }
    assert_eq!(requests(&app, path).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn vary_keeps_one_variant_per_accept_language() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&cached_site(&app, "enabled = true"));
    let path = "/cache/lang/v";
    let mut seen = Vec::new();
    for lang in ["en", "fr", "en", "fr"] {
        let got = get(&proxy, path, &[("accept-language", lang)]).await;
        assert_eq!(got.status, 200, "{got:?}");
        seen.push((got.body, got.x_cache));
    }
    let want: Vec<(String, String)> = [
        ("v lang=en n=1", "MISS"),
        ("v lang=fr n=2", "MISS"),
        ("v lang=en n=1", "HIT"),
        ("v lang=fr n=2", "HIT"),
    ]
    .iter()
    .map(|(b, x)| (b.to_string(), x.to_string()))
    .collect();
    assert_eq!(seen, want);
    assert_eq!(requests(&app, path).await, 2);
    // A request without the header matches neither stored variant.
    let got = get(&proxy, path, &[]).await;
    assert_eq!(
        (got.body.as_str(), got.x_cache.as_str()),
        ("v lang=none n=3", "MISS")
    );
    let got = get(&proxy, path, &[("accept-language", "fr")]).await;
    assert_eq!(
        (got.body.as_str(), got.x_cache.as_str()),
        ("v lang=fr n=2", "HIT")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_misses_make_one_upstream_request() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&cached_site(&app, "enabled = true"));
    // The app takes 500 ms to answer.
    let url = http_url(&proxy, "/cache/coalesced?ms=500");
    let client = plain_client();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let resp = client
                    .get(url)
                    .header("host", "s.test")
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let x_cache = resp
                    .headers()
                    .get("x-cache")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                (status, x_cache, resp.text().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    for (status, _, body) in &answers {
        assert_eq!(*status, 200, "{answers:?}");
        assert_eq!(body, "/cache/coalesced n=1", "{answers:?}");
    }
    let misses = answers.iter().filter(|a| a.1 == "MISS").count();
    let hits = answers.iter().filter(|a| a.1 == "HIT").count();
    assert_eq!((misses, hits), (1, 49), "{answers:?}");
    assert_eq!(requests(&app, "/cache/coalesced").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_entry_is_revalidated_with_a_conditional_request() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&cached_site(&app, "enabled = true"));
    // max-age=3, ETag "r-v1"; 304 to a matching If-None-Match.
    let path = "/cache/etag/r?cc=max-age=3";
    let first = get(&proxy, path, &[]).await;
    assert_eq!(
        (first.status, first.x_cache.as_str(), first.body.as_str()),
        (200, "MISS", "etag r original")
    );
    let second = get(&proxy, path, &[]).await;
    assert_eq!(
        (second.status, second.x_cache.as_str(), second.body.as_str()),
        (200, "HIT", "etag r original")
    );
    assert_eq!(counts(&app, "/cache/etag/r").await, (1, 0, 0));

    let after = get_until_not_hit(&proxy, path, &mut |_| {}).await;
    assert_eq!(after.x_cache, "REVALIDATED", "{after:?}");
    assert_eq!(after.status, 200, "{after:?}");
    assert_eq!(after.body, "etag r original");
    assert_eq!(after.header("etag"), Some("\"r-v1\""));
    assert_eq!(
        counts(&app, "/cache/etag/r").await,
        (2, 1, 1),
        "one full request, then one conditional answered 304"
    );
    // The 304 made the entry fresh again.
    let again = get(&proxy, path, &[]).await;
    assert_eq!(
        (again.status, again.x_cache.as_str(), again.body.as_str()),
        (200, "HIT", "etag r original")
    );
    assert_eq!(counts(&app, "/cache/etag/r").await, (2, 1, 1));

    // A client's own conditional request is answered from the entry.
    let got = get(&proxy, path, &[("if-none-match", "\"r-v1\"")]).await;
    assert_eq!(got.status, 304, "{got:?}");
    assert_eq!(got.body, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_if_error_serves_the_stored_response_while_the_upstream_is_down() {
    let mut app = Uvicorn::start("one");
    let proxy = Proxy::start(&cached_site(&app, "enabled = true"));
    let with = "/cache/sie?cc=max-age=1,stale-if-error=60";
    let without = "/cache/nosie?cc=max-age=1";
    for path in [with, without] {
        let got = get(&proxy, path, &[]).await;
        assert_eq!((got.status, got.x_cache.as_str()), (200, "MISS"), "{got:?}");
    }
    app.kill();

    let got = get_until_not_hit(&proxy, with, &mut |_| {}).await;
    assert_eq!(
        (got.status, got.x_cache.as_str(), got.body.as_str()),
        (200, "STALE", "/cache/sie n=1"),
        "{got:?}"
    );
    // Again, while the upstream stays down.
    let got = get(&proxy, with, &[]).await;
    assert_eq!(
        (got.status, got.x_cache.as_str(), got.body.as_str()),
        (200, "STALE", "/cache/sie n=1"),
        "{got:?}"
    );
    // Without stale-if-error the error is the answer: 502 from the refused
    // connection, or 503 once the upstream is ejected for it.
    let got = get_until_not_hit(&proxy, without, &mut |_| {}).await;
    assert!(matches!(got.status, 502 | 503), "{got:?}");
    assert!(!got.body.contains("/cache/nosie"), "{got:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_while_revalidate_answers_at_once_and_refreshes_in_the_background() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&cached_site(&app, "enabled = true"));
    // Every answer of the app takes 1.5 s.
    let path = "/cache/swr?cc=max-age=3,stale-while-revalidate=30&ms=1500";
    let first = get(&proxy, path, &[]).await;
    assert_eq!(
        (first.status, first.x_cache.as_str(), first.body.as_str()),
        (200, "MISS", "/cache/swr n=1")
    );

    let stale = get_until_not_hit(&proxy, path, &mut |_| {}).await;
    assert_eq!(
        (stale.status, stale.x_cache.as_str(), stale.body.as_str()),
        (200, "STALE", "/cache/swr n=1"),
        "{stale:?}"
    );
    assert!(
        stale.elapsed < Duration::from_millis(1000),
        "the stale answer waited for the refresh: {stale:?}"
    );

    // The old body until the refresh is stored, then a hit with the new.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = get(&proxy, path, &[]).await;
        if got.x_cache == "HIT" && got.body == "/cache/swr n=2" {
            break;
        }
        assert_eq!(
            (got.status, got.x_cache.as_str(), got.body.as_str()),
            (200, "STALE", "/cache/swr n=1"),
            "while refreshing: {got:?}"
        );
        assert!(
            got.elapsed < Duration::from_millis(1000),
            "a stale answer waited: {got:?}"
        );
        assert!(Instant::now() < deadline, "never refreshed: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        requests(&app, "/cache/swr").await,
        2,
        "one background refresh, however many stale answers"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn purges_through_the_admin_listener_and_reloads_drop_entries() {
    let app = Uvicorn::start("one");
    let routes = |ttl: u64| {
        plain_site(
            "s.test",
            &format!(
                "{}{}",
                proxy_route(
                    "/",
                    &[up(&app)],
                    &format!("cache = {{ enabled = true, default_ttl_s = {ttl} }}\n")
                ),
                proxy_route("/cache/keep/", &[up(&app)], "cache = { enabled = true }\n"),
            ),
        )
    };
    let proxy = Proxy::start(&routes(0));
    let paths = ["/cache/a?x=1", "/cache/a?x=2", "/cache/ab", "/cache/b"];
    let x_caches = || async {
        let mut out = Vec::new();
        for path in paths {
            out.push(get(&proxy, path, &[]).await.x_cache);
        }
        out
    };
    assert_eq!(x_caches().await, ["MISS"; 4]);
    assert_eq!(x_caches().await, ["HIT"; 4]);
    // The key has the host in lower case…
    let got = request(&proxy, Method::GET, "S.TEST", "/cache/b", &[]).await;
    assert_eq!((got.status, got.x_cache.as_str()), (200, "HIT"), "{got:?}");
    // …and its port when the client sent one, as the upstream gets it (an
    // app that builds links from Host must not have them served to
    // clients that did not send that port).
    let port_host = format!("S.Test:{}", proxy.http_port);
    let got = request(&proxy, Method::GET, &port_host, "/cache/b", &[]).await;
    assert_eq!((got.status, got.x_cache.as_str()), (200, "MISS"), "{got:?}");
    let port_key = format!(
        "?key={}",
        query_value(&format!("s.test:{}/cache/b", proxy.http_port))
    );
    assert_eq!(purge(&proxy, &port_key).await, 1);

    let resp = plain_client()
        .get(admin_url(&proxy, "/cache/purge"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405, "GET does not purge");
    assert_eq!(x_caches().await, ["HIT"; 4]);

    let key = format!("?key={}", query_value("s.test/cache/a?x=1"));
    assert_eq!(purge(&proxy, &key).await, 1);
    assert_eq!(x_caches().await, ["MISS", "HIT", "HIT", "HIT"]);

    let prefix = format!("?prefix={}", query_value("s.test/cache/a"));
    assert_eq!(purge(&proxy, &prefix).await, 3);
    assert_eq!(x_caches().await, ["MISS", "MISS", "MISS", "HIT"]);

    assert_eq!(purge(&proxy, "").await, 4);
    assert_eq!(x_caches().await, ["MISS"; 4]);
    assert_eq!(requests(&app, "/cache/b").await, 3);

    // A reload drops the entries of a route whose cache settings changed,
    // and keeps those of a route left as it was.
    let kept = "/cache/keep/k";
    assert_eq!(get(&proxy, kept, &[]).await.x_cache, "MISS");
    assert_eq!(get(&proxy, kept, &[]).await.x_cache, "HIT");
    assert_eq!(x_caches().await, ["HIT"; 4]);
    proxy.rewrite(&routes(30));
    proxy.signal(Signal::HUP);
    proxy.wait_metric("the reload", |l| l == "webtier_reloads_total 1");
    assert_eq!(x_caches().await, ["MISS"; 4], "the changed route");
    let got = get(&proxy, kept, &[]).await;
    assert_eq!(
        (got.x_cache.as_str(), got.body.as_str()),
        ("HIT", "/cache/keep/k n=1"),
        "the unchanged route"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_metrics_count_every_result_and_the_store() {
    let mut app = Uvicorn::start("one");
    let proxy = Proxy::start(&cached_site(&app, "enabled = true"));
    let mut tally: BTreeMap<String, u64> = BTreeMap::new();
    let mut bodies = 0;
    let mut note = |got: &Got| {
        if !got.x_cache.is_empty() {
            *tally.entry(got.x_cache.to_lowercase()).or_default() += 1;
        }
    };
    // miss, hits
    for _ in 0..3 {
        let got = get(&proxy, "/cache/m", &[]).await;
        note(&got);
    }
    bodies += "/cache/m n=1".len();
    proxy.wait_metric("one entry", |l| l == "webtier_cache_entries 1");
    // Never stored: a private response, a POST, an Authorization request.
    for _ in 0..2 {
        note(&get(&proxy, "/cache/private/m", &[]).await);
    }
    note(&request(&proxy, Method::POST, "s.test", "/echo/m", &[]).await);
    note(&get(&proxy, "/cache/auth", &[("authorization", "Bearer x")]).await);
    // revalidated, and stale with the upstream gone: each asked until it
    // is no longer a hit (every answer counted).
    let revalidated = "/cache/etag/m?cc=max-age=1";
    let stale = "/cache/sie?cc=max-age=1,stale-if-error=60";
    for path in [revalidated, stale] {
        note(&get(&proxy, path, &[]).await);
    }
    bodies += "etag m original".len() + "/cache/sie n=1".len();
    let got = get_until_not_hit(&proxy, revalidated, &mut note).await;
    assert_eq!(got.x_cache, "REVALIDATED", "{got:?}");
    note(&got);
    app.kill();
    let got = get_until_not_hit(&proxy, stale, &mut note).await;
    assert_eq!(
        (got.status, got.x_cache.as_str()),
        (200, "STALE"),
        "{got:?}"
    );
    note(&got);

    for result in ["hit", "miss", "stale", "revalidated", "bypass"] {
        assert!(
            tally.get(result).copied().unwrap_or(0) > 0,
            "no {result} answer: {tally:?}"
        );
    }
    // Each answer counted once, by its result.
    for (result, n) in &tally {
        let line = format!("webtier_cache_requests_total{{result=\"{result}\"}} {n}");
        proxy.wait_metric(&format!("{line} (answers seen: {tally:?})"), |l| l == line);
    }
    proxy.wait_metric("three entries", |l| l == "webtier_cache_entries 3");
    let bytes = metric(&proxy, "webtier_cache_bytes");
    assert!(bytes >= bodies as f64, "{bytes} bytes stored for 3 entries");
    assert!(bytes < 1_000_000.0, "{bytes} bytes stored for 3 entries");

    assert_eq!(purge(&proxy, "").await, 3);
    proxy.wait_metric("no entry", |l| l == "webtier_cache_entries 0");
    proxy.wait_metric("no byte", |l| l == "webtier_cache_bytes 0");
}

#[tokio::test(flavor = "multi_thread")]
async fn authorization_requests_get_only_responses_marked_public_or_s_maxage() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&cached_site(&app, "enabled = true"));
    let alice = [("authorization", "Bearer alice")];
    let bob = [("authorization", "Bearer bob")];

    // max-age=60 alone: an answer to an Authorization request is not
    // stored, and a stored answer is not given to one.
    let path = "/cache/auth-plain";
    for n in 1..=2 {
        let got = get(&proxy, path, &alice).await;
        assert_eq!(got.body, format!("{path} n={n}"), "{got:?}");
        assert_ne!(got.x_cache, "HIT");
    }
    let got = get(&proxy, path, &[]).await;
    assert_eq!(
        (got.body.as_str(), got.x_cache.as_str()),
        ("/cache/auth-plain n=3", "MISS"),
        "stored from an Authorization request"
    );
    let got = get(&proxy, path, &[]).await;
    assert_eq!(
        (got.body.as_str(), got.x_cache.as_str()),
        ("/cache/auth-plain n=3", "HIT")
    );
    let got = get(&proxy, path, &bob).await;
    assert_eq!(
        got.body, "/cache/auth-plain n=4",
        "a stored response served to an Authorization request: {got:?}"
    );
    assert_ne!(got.x_cache, "HIT");
    assert_eq!(requests(&app, path).await, 4);

    // public or s-maxage: stored, and served to anyone.
    for (path, cc) in [
        ("/cache/auth-public", "public,max-age=60"),
        ("/cache/auth-smax", "s-maxage=60"),
    ] {
        let url = format!("{path}?cc={cc}");
        let want = format!("{path} n=1");
        let got = get(&proxy, &url, &alice).await;
        assert_eq!((got.body.as_str(), got.x_cache.as_str()), (&*want, "MISS"));
        for headers in [&bob[..], &[][..]] {
            let got = get(&proxy, &url, headers).await;
            assert_eq!(
                (got.body.as_str(), got.x_cache.as_str()),
                (&*want, "HIT"),
                "{cc}"
            );
        }
        assert_eq!(requests(&app, path).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_and_odd_requests_do_not_poison_what_others_get() {
    let app = Uvicorn::start("one");
    let body = plain_site(
        "s.test",
        &format!(
            "{}{}",
            proxy_route("/", &[up(&app)], "cache = { default_ttl_s = 60 }\n"),
            proxy_route("/cache/", &[up(&app)], "cache = {}\n"),
        ),
    );
    let proxy = Proxy::start(&body);

    // A GET with a body is passed, not stored or answered from the cache.
    let fat = plain_client()
        .get(http_url(&proxy, "/echo/fat"))
        .header("host", "s.test")
        .body("evil=1")
        .send()
        .await
        .unwrap();
    assert_eq!(fat.headers()["x-cache"], "BYPASS");
    let plain = get(&proxy, "/echo/fat", &[]).await;
    assert_eq!(plain.x_cache, "MISS", "{plain:?}");
    assert!(plain.body.contains("\"body_length\":0"), "{plain:?}");

    // A successful unsafe request drops what is stored for its target.
    assert_eq!(get(&proxy, "/echo/fat", &[]).await.x_cache, "HIT");
    let deleted = request(&proxy, Method::DELETE, "s.test", "/echo/fat", &[]).await;
    assert_eq!((deleted.status, deleted.x_cache.as_str()), (200, "BYPASS"));
    assert_eq!(get(&proxy, "/echo/fat", &[]).await.x_cache, "MISS");

    // Varying by a header the proxy sets itself: never stored (the key
    // would hold the client's value, the upstream saw the proxy's).
    let spoofed = "/cache/ip?cc=public,max-age=60&vary=X-Real-IP";
    let first = get(&proxy, spoofed, &[("x-real-ip", "10.9.9.9")]).await;
    assert!(first.body.ends_with("X-Real-IP=127.0.0.1"), "{first:?}");
    let second = get(&proxy, spoofed, &[("x-real-ip", "10.9.9.9")]).await;
    assert_eq!(second.x_cache, "MISS", "{second:?}");

    // A max-age past any clock: stored, held to 2^31 s, no overflow.
    let forever = "/cache/forever?cc=max-age=18446744073709551615";
    assert_eq!(get(&proxy, forever, &[]).await.x_cache, "MISS");
    let again = get(&proxy, forever, &[]).await;
    assert_eq!(
        (again.status, again.x_cache.as_str()),
        (200, "HIT"),
        "{again:?}"
    );

    // no-cache with stale-while-revalidate: validated before every use,
    // never answered stale.
    let no_cache = "/cache/etag/nc?cc=no-cache,stale-while-revalidate=60";
    assert_eq!(get(&proxy, no_cache, &[]).await.x_cache, "MISS");
    let validated = get(&proxy, no_cache, &[]).await;
    assert_eq!(validated.x_cache, "REVALIDATED", "{validated:?}");

    // A cookie in a 304 goes to the client that revalidated, never into
    // the shared entry.
    let session = "/cache/etag/sess?cc=no-cache&cookie=session%3DALICE";
    assert_eq!(get(&proxy, session, &[]).await.x_cache, "MISS");
    let alice = get(&proxy, session, &[]).await;
    assert_eq!(alice.x_cache, "REVALIDATED", "{alice:?}");
    assert_eq!(alice.header("set-cookie"), Some("session=ALICE"));
    let bob = get(&proxy, session, &[]).await;
    assert_eq!(bob.x_cache, "REVALIDATED", "{bob:?}");
    assert_eq!(bob.body, "etag sess original");
    assert_eq!(counts(&app, "/cache/etag/sess").await.2, 2, "two 304s");
    let stored_cookie = (bob.headers.get_all("set-cookie").iter()).any(|v| v != "session=ALICE");
    assert!(!stored_cookie, "{bob:?}");
}
