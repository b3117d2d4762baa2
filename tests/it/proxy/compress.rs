//! On-the-fly compression (#19) of FastAPI responses and static files:
//! br, zstd and gzip negotiated from `Accept-Encoding` with q-values,
//! decoded here back to the original; `Range`, `no-transform`, images,
//! small and already encoded responses left alone; a streamed response
//! compressed as it arrives; cached responses served in every encoding.

use std::fs;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::{http_url, plain_client, plain_site, proxy_route, static_route, up};
use crate::support::proxy::Proxy;
use crate::support::services::{Uvicorn, tempdir};

/// `size` bytes of numbered lines: what the app's `text_of` makes.
fn text_of(size: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while out.len() < size {
        out.push_str(&format!(
            "line {i:05} the quick brown fox jumps over the lazy dog\n"
        ));
        i += 1;
    }
    out.truncate(size);
    out
}

/// `size` characters of hex lines that compress poorly, as the app's
/// `noise_of` makes them.
fn noise_of(size: usize) -> String {
    let mut out = String::new();
    let mut i: u128 = 0;
    while out.len() < size {
        out.push_str(&format!("{i:06} "));
        for j in 0..8u128 {
            let v = (i * 7919 + j * 104_729 + 1).pow(3) % 4_294_967_291;
            out.push_str(&format!("{v:08x}"));
        }
        out.push('\n');
        i += 1;
    }
    out.truncate(size);
    out
}

/// One response, its body as sent (not decoded).
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The body decoded by its `Content-Encoding`, after checking its
    /// framing and `Vary`.
    fn decoded(&self) -> Vec<u8> {
        if let Some(length) = self.header("content-length") {
            assert_eq!(
                length.parse::<usize>().unwrap(),
                self.body.len(),
                "Content-Length"
            );
        }
        match self.header("content-encoding") {
            None => self.body.clone(),
            Some(coding) => {
                assert!(varies_on_accept_encoding(self), "{:?}", self.headers);
                decode(coding, &self.body)
            }
        }
    }
}

fn varies_on_accept_encoding(raw: &Raw) -> bool {
    raw.headers.get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap()
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("accept-encoding"))
    })
}

fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .expect("gzip");
        }
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .expect("br");
        }
        "zstd" => out = zstd::stream::decode_all(body).expect("zstd"),
        other => panic!("unexpected Content-Encoding {other}"),
    }
    out
}

/// A GET of `path` on `s.test` with `headers`; reqwest here decodes
/// nothing and sends no `Accept-Encoding` of its own.
async fn fetch(proxy: &Proxy, path: &str, headers: &[(&str, &str)]) -> Raw {
    let mut req = plain_client()
        .get(http_url(proxy, path))
        .header("host", "s.test");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e:?}"));
    Raw {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.bytes().await.unwrap().to_vec(),
    }
}

/// The app's own answer, fetched without the proxy.
async fn direct(app: &Uvicorn, path: &str) -> Vec<u8> {
    reqwest::get(app.url(path))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

/// `s.test` proxied to `app` with compression's defaults on its route.
fn compressed_site(app: &Uvicorn) -> String {
    plain_site(
        "s.test",
        &proxy_route("/", &[up(app)], "compress = { enabled = true }\n"),
    )
}

fn ae(value: &str) -> [(&str, &str); 1] {
    [("accept-encoding", value)]
}

#[tokio::test(flavor = "multi_thread")]
async fn compressed_responses_decode_to_the_original_for_every_encoding() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&compressed_site(&app));
    let path = "/compress/json/j?kb=20";
    let original = direct(&app, path).await;
    assert!(original.len() > 20_000, "{}", original.len());

    let plain = fetch(&proxy, path, &ae("identity")).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.decoded(), original);
    for coding in ["br", "zstd", "gzip"] {
        let got = fetch(&proxy, path, &ae(coding)).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.header("content-encoding"), Some(coding), "{got:?}");
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert_eq!(got.decoded(), original, "{coding}");
        assert!(
            got.body.len() < original.len() / 2,
            "{coding}: {} bytes",
            got.body.len()
        );
    }

    // Negotiation: the client's q-values first, then the configured
    // order (br, zstd, gzip); q=0 refuses a coding.
    for (accept, want) in [
        (Some("gzip;q=0.5, br;q=0.9"), Some("br")),
        (Some("br;q=0, gzip"), Some("gzip")),
        (Some("gzip, zstd"), Some("zstd")),
        (Some("gzip, deflate, br, zstd"), Some("br")),
        (Some("GZIP"), Some("gzip")),
        (Some("*"), Some("br")),
        (Some("*;q=0"), None),
        (Some("identity"), None),
        (Some("deflate"), None),
        (None, None),
    ] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("accept-encoding", a)).into_iter().collect();
        let got = fetch(&proxy, path, &headers).await;
        assert_eq!(got.status, 200, "{accept:?}");
        assert_eq!(got.header("content-encoding"), want, "{accept:?}");
        assert_eq!(got.decoded(), original, "{accept:?}");
    }

    // The upstream's strong ETag is weakened on a compressed response.
    let path = "/compress/json/e?kb=20&etag=abc";
    let got = fetch(&proxy, path, &ae("gzip")).await;
    assert_eq!(got.header("content-encoding"), Some("gzip"));
    assert_eq!(got.header("etag"), Some("W/\"abc\""));
    let got = fetch(&proxy, path, &ae("identity")).await;
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.header("etag"), Some("\"abc\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn range_no_transform_images_small_and_encoded_responses_are_left_alone() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&compressed_site(&app));
    let all = ae("br, zstd, gzip");
    let text = text_of(20_000);

    // A 206 is sent as the app made it, whatever its size.
    for (range, end) in [("bytes=0-99", 99), ("bytes=0-4095", 4095)] {
        let got = fetch(&proxy, "/compress/range/r", &[all[0], ("range", range)]).await;
        assert_eq!(got.status, 206, "{got:?}");
        assert_eq!(got.header("content-encoding"), None, "{range}");
        assert_eq!(
            got.header("content-range"),
            Some(format!("bytes 0-{end}/20000").as_str())
        );
        assert_eq!(got.decoded(), &text.as_bytes()[..=end]);
    }
    // The same resource without Range is compressed.
    let got = fetch(&proxy, "/compress/range/r", &all).await;
    assert_eq!(got.header("content-encoding"), Some("br"));
    assert_eq!(got.decoded(), text.as_bytes());

    // Cache-Control: no-transform.
    let got = fetch(&proxy, "/compress/text/n?cc=no-transform", &all).await;
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.header("cache-control"), Some("no-transform"));
    assert_eq!(got.decoded(), text.as_bytes());

    // A type that is not compressible.
    let got = fetch(&proxy, "/compress/text/p?ct=image/png", &all).await;
    assert_eq!(got.header("content-type"), Some("image/png"));
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.decoded(), text.as_bytes());

    // Below min_bytes (1024 by default), and just above it.
    let got = fetch(&proxy, "/compress/text/s?size=500", &all).await;
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.decoded(), text_of(500).as_bytes());
    let got = fetch(&proxy, "/compress/text/s?size=2000", &all).await;
    assert_eq!(got.header("content-encoding"), Some("br"));
    assert_eq!(got.decoded(), text_of(2000).as_bytes());

    // Encoded by the app: passed as it came, never encoded twice.
    let gzipped = direct(&app, "/compress/gzipped/g").await;
    assert_eq!(decode("gzip", &gzipped), text.as_bytes());
    for accept in ["br, zstd, gzip", "br"] {
        let got = fetch(&proxy, "/compress/gzipped/g", &ae(accept)).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.header("content-encoding"), Some("gzip"), "{accept}");
        assert_eq!(got.body, gzipped, "{accept}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_response_is_compressed_as_it_arrives() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&compressed_site(&app));
    // A small first part, and one that compresses poorly and is large
    // enough that compressed output is handed on while the upstream still
    // sends (what was written after that must be flushed too when it
    // pauses).
    let cases = [("s", 20_000, 2048, false), ("l", 400_000, 200_000, true)];
    for (name, size, first, noise) in cases {
        streamed_then_released(&app, &proxy, name, size, first, noise).await;
    }
}

/// The app sends `first` bytes of `size`, then waits for a release: all
/// `first` bytes decode before it, and the whole body after.
async fn streamed_then_released(
    app: &Uvicorn,
    proxy: &Proxy,
    name: &str,
    size: usize,
    first: usize,
    noise: bool,
) {
    let whole = if noise { noise_of(size) } else { text_of(size) };
    let limit = Duration::from_secs(10);
    let request = plain_client()
        .get(http_url(
            proxy,
            &format!(
                "/compress/stream/{name}?size={size}&first={first}&noise={}",
                u8::from(noise)
            ),
        ))
        .header("host", "s.test")
        .header("accept-encoding", "gzip")
        .send();
    let mut resp = tokio::time::timeout(limit, request)
        .await
        .expect("no response head while the app holds the rest of the body")
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");

    let mut decoder = flate2::write::GzDecoder::new(Vec::new());
    let deadline = Instant::now() + limit;
    while decoder.get_ref().len() < first {
        let chunk = tokio::time::timeout(
            deadline.saturating_duration_since(Instant::now()),
            resp.chunk(),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the first {first} bytes were held back until the body's end: {} decoded",
                decoder.get_ref().len()
            )
        })
        .unwrap()
        .expect("the body ended while the app held its rest");
        decoder.write_all(&chunk).unwrap();
        decoder.flush().unwrap();
    }
    assert!(
        decoder.get_ref().as_slice() == &whole.as_bytes()[..first],
        "{name}: the first part"
    );

    let released = reqwest::get(app.url(&format!("/compress/release/{name}")))
        .await
        .unwrap();
    assert_eq!(released.status(), 200);
    while let Some(chunk) = tokio::time::timeout(limit, resp.chunk())
        .await
        .expect("the rest of the body")
        .unwrap()
    {
        decoder.write_all(&chunk).unwrap();
    }
    assert!(
        decoder.finish().unwrap() == whole.as_bytes(),
        "{name}: the whole body"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_response_is_served_compressed_in_each_encoding() {
    let app = Uvicorn::start("one");
    let proxy = Proxy::start(&plain_site(
        "s.test",
        &proxy_route(
            "/",
            &[up(&app)],
            "cache = { enabled = true }\ncompress = { enabled = true }\n",
        ),
    ));
    // Another path gives the same document without counting for this one.
    let original = direct(&app, "/compress/json/ref?kb=20").await;
    let path = "/compress/json/c?kb=20&cc=max-age=60";
    for (coding, x_cache) in [
        ("gzip", "MISS"),
        ("gzip", "HIT"),
        ("br", "HIT"),
        ("br", "HIT"),
        ("zstd", "HIT"),
        ("identity", "HIT"),
    ] {
        let got = fetch(&proxy, path, &ae(coding)).await;
        assert_eq!(got.status, 200);
        assert_eq!(
            got.header("x-cache"),
            Some(x_cache),
            "{coding}: {:?}",
            got.headers
        );
        let want = (coding != "identity").then_some(coding);
        assert_eq!(got.header("content-encoding"), want, "{coding}");
        assert_eq!(got.decoded(), original, "{coding} ({x_cache})");
    }
    let counts: serde_json::Value = reqwest::get(app.url("/counts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["/compress/json/c"]["requests"], 1, "{counts}");
}

#[tokio::test(flavor = "multi_thread")]
async fn static_text_files_are_compressed_too() {
    let dir = tempdir();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    let text = text_of(20_000);
    fs::write(www.join("page.txt"), &text).unwrap();
    fs::write(www.join("style.css"), &text).unwrap();
    fs::write(www.join("pic.png"), &text).unwrap();
    fs::write(www.join("small.txt"), text_of(300)).unwrap();
    // Set for the site, inherited by its static route.
    let site = plain_site(
        "s.test",
        &format!(
            "compress = {{ enabled = true }}\n{}",
            static_route("/", &www)
        ),
    );
    let proxy = Proxy::start_in(dir, &site);

    for file in ["/page.txt", "/style.css"] {
        let plain = fetch(&proxy, file, &ae("identity")).await;
        assert_eq!(plain.status, 200);
        assert_eq!(plain.header("content-encoding"), None);
        assert_eq!(plain.decoded(), text.as_bytes());
        for coding in ["br", "zstd", "gzip"] {
            let got = fetch(&proxy, file, &ae(coding)).await;
            assert_eq!(got.status, 200);
            assert_eq!(got.header("content-encoding"), Some(coding), "{file}");
            assert_eq!(got.decoded(), text.as_bytes(), "{file} {coding}");
            assert!(got.body.len() < text.len() / 2);
            // A strong validator is weakened; a weak one stays.
            if let Some(etag) = plain.header("etag") {
                let weak = match etag.starts_with("W/") {
                    true => etag.to_string(),
                    false => format!("W/{etag}"),
                };
                assert_eq!(got.header("etag"), Some(weak.as_str()), "{file} {coding}");
            }
        }
    }
    let all = ae("br, zstd, gzip");
    let got = fetch(&proxy, "/pic.png", &all).await;
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.decoded(), text.as_bytes());
    let got = fetch(&proxy, "/small.txt", &all).await;
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.decoded(), text_of(300).as_bytes());
    let got = fetch(&proxy, "/page.txt", &[all[0], ("range", "bytes=0-4095")]).await;
    assert_eq!(got.status, 206);
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.decoded(), &text.as_bytes()[..4096]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sites_settings_apply_and_a_routes_replace_them() {
    let app = Uvicorn::start("one");
    let site = "cache = {}\ncompress = { encodings = [\"zstd\", \"gzip\"], min_bytes = 100, types = [\"text/plain\"], gzip_level = 9, zstd_level = 19 }\n";
    let off = "cache = { enabled = false }\ncompress = { enabled = false }\n";
    let body = format!(
        "[cache]\nmax_size_mb = 1\nmax_entry_kb = 4\n[[site]]\nnames = [\"s.test\"]\n{site}{}{}",
        proxy_route("/", &[up(&app)], ""),
        proxy_route("/compress/text/off", &[up(&app)], off),
    );
    let proxy = Proxy::start(&body);
    let x_cache = |raw: &Raw| raw.header("x-cache").unwrap_or("").to_string();

    // The site's compression: only its codings, types and threshold, at
    // its levels.
    let text = "/compress/text/t?size=3000&cc=max-age=60";
    let zstd = fetch(&proxy, text, &ae("br, zstd;q=0.5, gzip;q=0.5")).await;
    assert_eq!(
        zstd.header("content-encoding"),
        Some("zstd"),
        "br is not offered"
    );
    assert_eq!(decode("zstd", &zstd.body), text_of(3000).as_bytes());
    let gzip = fetch(&proxy, "/compress/text/g?size=3000", &ae("gzip")).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert_eq!(gzip.body[8], 2, "the gzip header says level 9 (XFL = 2)");
    assert_eq!(decode("gzip", &gzip.body), text_of(3000).as_bytes());
    let small = fetch(&proxy, "/compress/text/s?size=150", &ae("gzip")).await;
    assert_eq!(
        small.header("content-encoding"),
        Some("gzip"),
        "150 >= min_bytes 100"
    );
    let tiny = fetch(&proxy, "/compress/text/s?size=50", &ae("gzip")).await;
    assert_eq!(tiny.header("content-encoding"), None, "below min_bytes");
    let css = fetch(
        &proxy,
        "/compress/text/c?size=3000&ct=text/css",
        &ae("gzip"),
    )
    .await;
    assert_eq!(
        css.header("content-encoding"),
        None,
        "text/css is not in types"
    );

    // The site's cache, and its store's max_entry_kb: 3,000 bytes are
    // stored, 20 KiB are not.
    assert_eq!(x_cache(&fetch(&proxy, text, &[]).await), "HIT");
    let big = "/compress/text/big?size=20000&cc=max-age=60";
    assert_eq!(x_cache(&fetch(&proxy, big, &[]).await), "MISS");
    assert_eq!(
        x_cache(&fetch(&proxy, big, &[]).await),
        "MISS",
        "over max_entry_kb"
    );

    // The store's size (max_size_mb = 1).
    proxy.wait_metric("a 1 MiB store", |l| {
        l == "webtier_cache_capacity_bytes 1048576"
    });

    // The route turns both off.
    let off_path = "/compress/text/off?size=3000&cc=max-age=60";
    for _ in 0..2 {
        let raw = fetch(&proxy, off_path, &ae("gzip, zstd")).await;
        assert_eq!(raw.header("content-encoding"), None);
        assert_eq!(raw.header("x-cache"), None, "no cache on the route");
        assert_eq!(raw.body, text_of(3000).as_bytes());
    }
}
