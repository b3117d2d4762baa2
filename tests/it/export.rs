//! `webtier proxy export nginx`: nginx accepts the export of the example
//! configuration and of every kind of proxy file the tests use (`nginx
//! -t`), and a real nginx running an export answers the same requests as
//! webtier's proxy with the same statuses, bodies and key headers (the
//! differential test).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::support::proxy::{Proxy, TestCa};
use crate::support::services::{Process, Uvicorn, free_port, tempdir};
use crate::support::{assert_exit, repo, require_bin, stderr, stdout, webtier};

fn nginx_bin() -> PathBuf {
    require_bin("nginx", "apt-get install -y nginx")
}

/// A directory nginx's workers (an unprivileged user when the test runs
/// as root) can read.
fn readable_tempdir() -> tempfile::TempDir {
    let dir = tempdir();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// nginx with `conf`, its prefix, error log and pid file in `dir` (the
/// export leaves the pid file and the error log to the operator).
fn nginx(conf: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(nginx_bin());
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-g")
        .arg(format!(
            "daemon off; pid {};",
            dir.join("nginx.pid").display()
        ));
    cmd
}

/// `nginx -t` on `conf`: exit 0, or a panic with nginx's words and the
/// configuration.
fn assert_nginx_accepts(conf: &Path, dir: &Path, what: &str) {
    let out: Output = nginx(conf, dir).arg("-t").output().expect("nginx runs");
    assert!(
        out.status.success(),
        "nginx -t refused the export of {what}:\n{}\n--- {}\n{}",
        stderr(&out),
        conf.display(),
        fs::read_to_string(conf).unwrap_or_default()
    );
    // nginx -t says so on success (so this was a test run), and has no
    // warning either.
    let said = stderr(&out);
    assert!(said.contains("test is successful"), "{said}");
    assert!(
        !said.contains("[warn]"),
        "nginx warned about the export of {what}:\n{said}"
    );
}

/// `webtier proxy export nginx --file proxy_file --out out`.
fn export(proxy_file: &Path, out: &Path) {
    let result = webtier()
        .args(["proxy", "export", "nginx", "--file"])
        .arg(proxy_file)
        .arg("--out")
        .arg(out)
        .output()
        .expect("webtier runs");
    assert_exit(&result, 0);
    assert!(out.is_file(), "{} was not written", out.display());
}

/// `webtier proxy validate --file`: the tests export only files the proxy
/// itself accepts.
fn assert_valid(proxy_file: &Path) {
    let out = webtier()
        .args(["proxy", "validate", "--file"])
        .arg(proxy_file)
        .output()
        .expect("webtier runs");
    assert_exit(&out, 0);
}

fn site(names: &[&str], tls: Option<&(PathBuf, PathBuf)>, routes: &str) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let tls = tls.map_or(String::new(), |(cert, key)| {
        format!(
            "tls = {{ cert = \"{}\", key = \"{}\" }}\n",
            cert.display(),
            key.display()
        )
    });
    format!("[[site]]\nnames = [{}]\n{tls}{routes}", names.join(", "))
}

fn root_route(path: &str, root: &Path) -> String {
    format!(
        "[[site.route]]\npath = \"{path}\"\nroot = \"{}\"\n",
        root.display()
    )
}

fn upstream_route(path: &str, upstreams: &[&str], extra: &str) -> String {
    let ups: Vec<String> = upstreams.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "[[site.route]]\npath = \"{path}\"\nupstreams = [{}]\n{extra}",
        ups.join(", ")
    )
}

#[test]
fn nginx_accepts_the_export_of_every_test_configuration() {
    nginx_bin();
    let dir = readable_tempdir();
    let d = dir.path();
    let www = d.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "<p>index</p>\n").unwrap();
    let ca = TestCa::new();
    let a = ca.leaf(&["a.test", "www.a.test"], d, "a");
    let b = ca.leaf(&["*.b.test", "b.test"], d, "b");
    let app = "http://127.0.0.1:8000";

    // The kinds of proxy file tests/it/proxy.rs runs the proxy with, and
    // together every key of the file with a value other than its default.
    let configs: Vec<(&str, String)> = vec![
        (
            "a plain-HTTP static site",
            site(&["s.test"], None, &root_route("/", &www)),
        ),
        (
            "TLS sites with aliases and a wildcard, static and proxied routes",
            format!(
                "{}{}",
                site(
                    &["a.test", "www.a.test"],
                    Some(&a),
                    &format!(
                        "{}{}",
                        root_route("/static/", &www),
                        upstream_route("/", &[app], "")
                    ),
                ),
                site(&["*.b.test", "b.test"], Some(&b), &root_route("/", &www)),
            ),
        ),
        (
            "balancing, health checks and a body limit",
            site(
                &["s.test"],
                None,
                &upstream_route(
                    "/api",
                    &[app, "http://127.0.0.1:8001", "http://[::1]:8002"],
                    "balance = \"least-connections\"\nmax_body_bytes = 1024\n\
                     [site.route.health]\nfail_after = 5\neject_ms = 2000\n\
                     check_path = \"/health\"\ncheck_interval_ms = 1000\n",
                ),
            ),
        ),
        (
            "prefixes without a slash, and a route under the ACME challenge path",
            site(
                &["s.test"],
                None,
                &format!(
                    "{}{}{}",
                    root_route("/app", &www),
                    upstream_route("/api", &["https://localhost:8443"], ""),
                    root_route("/.well-known/acme-challenge/x/", &www),
                ),
            ),
        ),
        (
            "every top-level setting",
            format!(
                "workers = 2\nhsts_max_age = 0\ntls_session_resumption = false\n\
                 trusted_proxies = [\"10.0.0.0/8\", \"fd00::/8\"]\n\
                 [access_log]\npath = \"{}\"\nformat = \"json\"\nquery = \"none\"\n\
                 [limits]\nmax_connections = 500\nmax_header_bytes = 32768\nmax_headers = 50\n\
                 max_body_bytes = 1048576\nhttp2_max_streams = 64\n\
                 [timeouts]\nheader_read_ms = 5000\nsend_ms = 6000\nhttp2_idle_ms = 7000\n\
                 tunnel_idle_ms = 8000\nupstream_connect_ms = 900\nupstream_read_ms = 10000\n\
                 upstream_idle_ms = 0\ndrain_ms = 12000\n{}",
                d.join("access.log").display(),
                site(&["a.test"], Some(&a), &upstream_route("/", &[app], "")),
            ),
        ),
        (
            "a combined access log with masked queries",
            format!(
                "[access_log]\npath = \"{}\"\n{}",
                d.join("combined.log").display(),
                site(&["s.test"], None, &root_route("/", &www)),
            ),
        ),
        ("listeners and no site", String::new()),
    ];
    for (i, (what, body)) in configs.iter().enumerate() {
        let ports = (free_port(), free_port(), free_port());
        let mut text = Proxy::header(d, ports.0, ports.1, ports.2);
        if i == 4 {
            // Two listeners of each kind, IPv4 and IPv6.
            text = text.replace(
                &format!("http_listen = [\"127.0.0.1:{}\"]", ports.0),
                &format!("http_listen = [\"127.0.0.1:{0}\", \"[::1]:{0}\"]", ports.0),
            );
        }
        text.push_str(body);
        let proxy_file = d.join(format!("proxy-{i}.toml"));
        fs::write(&proxy_file, text).unwrap();
        assert_valid(&proxy_file);
        let conf = d.join(format!("nginx-{i}.conf"));
        export(&proxy_file, &conf);
        assert_nginx_accepts(&conf, d, what);
    }
}

/// examples/webtier.toml, its proxy file generated by `webtier apply
/// proxy-config` and exported from webtier.toml's `config_file` (no
/// `--file`), with its paths moved into a temporary directory and test
/// certificates where the certificate store keeps them.
#[test]
fn nginx_accepts_the_export_of_the_example_configuration() {
    nginx_bin();
    let dir = readable_tempdir();
    let d = dir.path();
    let example = fs::read_to_string(repo().join("examples/webtier.toml")).unwrap();
    let state = d.join("state");
    let proxy_file = d.join("proxy.toml");
    let moved = example
        .replace(
            "state_dir = \"/var/lib/webtier\"",
            &format!("state_dir = \"{}\"", state.display()),
        )
        .replace(
            "config_file = \"/etc/webtier/proxy.toml\"",
            &format!("config_file = \"{}\"", proxy_file.display()),
        );
    assert_ne!(moved, example);
    assert!(
        moved.contains(&state.display().to_string()),
        "state_dir moved"
    );
    assert!(
        moved.contains(&proxy_file.display().to_string()),
        "config_file moved"
    );
    fs::write(d.join("webtier.toml"), moved).unwrap();

    let apply = webtier()
        .current_dir(d)
        .args(["apply", "proxy-config", "--yes"])
        .output()
        .expect("webtier runs");
    assert_exit(&apply, 0);
    let generated: toml::Table = toml::from_str(&fs::read_to_string(&proxy_file).unwrap()).unwrap();
    let ca = TestCa::new();
    for site in generated["site"].as_array().expect("sites") {
        let names: Vec<&str> = site["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        let tls = site["tls"].as_table().expect("the example's sites use TLS");
        let (cert, key) = ca.leaf(&names, d, names[0]);
        for (file, made) in [("cert", cert), ("key", key)] {
            let path = Path::new(tls[file].as_str().unwrap());
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::rename(made, path).unwrap();
        }
    }
    let exported = webtier()
        .current_dir(d)
        .args(["proxy", "export", "nginx"])
        .output()
        .expect("webtier runs");
    assert_exit(&exported, 0);
    let conf = d.join("nginx.conf");
    fs::write(&conf, stdout(&exported)).unwrap();
    let text = stdout(&exported);
    assert!(
        text.contains("server_name example.com www.example.com;"),
        "{text}"
    );
    assert!(text.contains("listen 0.0.0.0:443 ssl http2;"), "{text}");
    assert!(text.contains("listen [::]:80;"), "{text}");
    assert_nginx_accepts(&conf, d, "examples/webtier.toml");
}

/// One server under test: where its listeners are.
struct Server {
    name: &'static str,
    http: u16,
    https: u16,
    tls: reqwest::Client,
    tls_http1: reqwest::Client,
    plain: reqwest::Client,
}

/// What the differential test compares of one response.
#[derive(Debug)]
struct Seen {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("a text header").to_string())
    }
}

impl Server {
    fn new(name: &'static str, http: u16, https: u16, ca: &TestCa) -> Server {
        let https_addr = std::net::SocketAddr::from(([127, 0, 0, 1], https));
        let http_addr = std::net::SocketAddr::from(([127, 0, 0, 1], http));
        let client = |http1: bool| {
            let mut b = reqwest::Client::builder()
                .add_root_certificate(ca.reqwest_root())
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30));
            if http1 {
                b = b.http1_only();
            }
            for name in ["a.test", "b.test"] {
                b = b.resolve(name, https_addr);
            }
            b.build().unwrap()
        };
        let mut plain = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30));
        for name in ["a.test", "p.test", "unknown.test"] {
            plain = plain.resolve(name, http_addr);
        }
        Server {
            name,
            http,
            https,
            tls: client(false),
            tls_http1: client(true),
            plain: plain.build().unwrap(),
        }
    }

    /// `url` with `{http}` and `{https}` made this server's ports.
    fn url(&self, url: &str) -> String {
        url.replace("{http}", &self.http.to_string())
            .replace("{https}", &self.https.to_string())
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Seen {
        let mut req = client.request(method, self.url(url));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {url}: {e}", self.name));
        Seen {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.bytes().await.unwrap().to_vec(),
        }
    }

    /// `Location` with this server's own ports written as `{http}` and
    /// `{https}`: each server redirects to its own HTTPS port.
    fn location(&self, seen: &Seen) -> Option<String> {
        seen.header("location").map(|l| {
            l.replace(&format!(":{}", self.https), ":{https}")
                .replace(&format!(":{}", self.http), ":{http}")
        })
    }
}

/// The client for HTTPS (HTTP/2 by ALPN), HTTPS over HTTP/1.1, and plain
/// HTTP.
fn tls(s: &Server) -> &reqwest::Client {
    &s.tls
}

fn tls1(s: &Server) -> &reqwest::Client {
    &s.tls_http1
}

fn plain(s: &Server) -> &reqwest::Client {
    &s.plain
}

/// The headers whose values must agree between nginx and webtier. `Date`,
/// `Server` (nginx names itself; webtier sends none), `Connection`,
/// `Keep-Alive`, `Vary` and `Accept-Ranges` are left out: they describe
/// the server or the connection, not what was served. So is
/// `X-Content-Type-Options`, which nginx's `add_header` also puts on a
/// 304 (harmless: it has no content); it is checked on the file itself.
const KEY_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-range",
    "etag",
    "last-modified",
    "strict-transport-security",
    "cache-control",
    "allow",
];

/// Sends one request to both servers and checks that they agree on the
/// status, the key headers and (unless `same_body` is false) the body.
/// Bodies differ legitimately on redirects, which keep nginx's own page
/// (`return 301 TEXT` takes TEXT for the Location, and no client reads
/// it), and on proxied answers, where the app echoes the request.
async fn both(
    servers: &[Server; 2],
    what: &str,
    pick: impl Fn(&Server) -> &reqwest::Client,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    same_body: bool,
) -> [Seen; 2] {
    let [w, n] = servers;
    let seen_w = w.send(pick(w), method.clone(), url, headers).await;
    let seen_n = n.send(pick(n), method, url, headers).await;
    let context = || {
        format!(
            "{what}: {url}\n--- webtier: {} {:?}\n{}\n--- nginx: {} {:?}\n{}",
            seen_w.status,
            seen_w.headers,
            String::from_utf8_lossy(&seen_w.body),
            seen_n.status,
            seen_n.headers,
            String::from_utf8_lossy(&seen_n.body)
        )
    };
    assert_eq!(
        seen_w.status,
        seen_n.status,
        "status differs: {}",
        context()
    );
    for name in KEY_HEADERS {
        if !same_body && ["content-type", "content-length", "cache-control"].contains(name) {
            // The headers of a body that is not compared.
            continue;
        }
        if seen_w.status == 416 && ["etag", "last-modified"].contains(name) {
            // nginx keeps the file's ETag on a 416 (RFC 9110 allows it);
            // webtier answers with its error page alone. What the client
            // acts on, the status and Content-Range, is compared.
            continue;
        }
        assert_eq!(
            seen_w.header(name),
            seen_n.header(name),
            "{name} differs: {}",
            context()
        );
    }
    assert_eq!(
        w.location(&seen_w),
        n.location(&seen_n),
        "Location differs: {}",
        context()
    );
    if same_body {
        assert!(seen_w.body == seen_n.body, "body differs: {}", context());
    }
    [seen_w, seen_n]
}

/// The forwarding headers the upstream saw, from the app's /echo answer,
/// with each server's own port in Host written as `{https}`.
fn forwarded(server: &Server, seen: &Seen) -> serde_json::Value {
    let echo: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_else(|e| {
        panic!(
            "{}: not the app's JSON ({e}): {}",
            server.name,
            String::from_utf8_lossy(&seen.body)
        )
    });
    let headers = &echo["headers"];
    let mut out = serde_json::Map::new();
    for name in [
        "host",
        "x-real-ip",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "forwarded",
        "x-forwarded-port",
        "x-auth-request-user",
        "x-powered-by",
    ] {
        let value = headers[name]
            .as_str()
            .map(|v| v.replace(&format!(":{}", server.https), ":{https}"));
        out.insert(name.into(), value.into());
    }
    for field in ["method", "path", "query", "body_length"] {
        out.insert(field.into(), echo[field].clone());
    }
    serde_json::Value::Object(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_running_the_export_answers_like_the_proxy() {
    nginx_bin();
    let app = Uvicorn::start("diff");
    let app_url = format!("http://127.0.0.1:{}", app.port);
    let files = readable_tempdir();
    let f = files.path();
    let www = f.join("www");
    fs::create_dir_all(www.join("sub")).unwrap();
    fs::write(www.join("index.html"), "<p>the index</p>\n").unwrap();
    fs::write(www.join("sub/index.html"), "<p>sub</p>\n").unwrap();
    let hello = "hello from the static root, byte for byte\n".repeat(20);
    fs::write(www.join("hello.txt"), &hello).unwrap();
    fs::write(www.join("style.css"), "body { color: black }\n").unwrap();
    fs::write(www.join(".env"), "SECRET=1\n").unwrap();
    let ca = TestCa::new();
    let a = ca.leaf(&["a.test"], f, "a");
    let b = ca.leaf(&["b.test"], f, "b");
    let body = format!(
        "{}{}{}",
        site(
            &["a.test"],
            Some(&a),
            &format!(
                "{}{}",
                root_route("/static/", &www),
                upstream_route("/", &[&app_url], "")
            ),
        ),
        site(&["b.test"], Some(&b), &root_route("/", &www)),
        site(
            &["p.test"],
            None,
            &format!(
                "{}{}",
                root_route("/", &www),
                upstream_route("/echo/", &[&app_url], "")
            ),
        ),
    );

    // webtier, its challenge directory readable by nginx's workers too.
    let proxy_dir = readable_tempdir();
    let challenge = proxy_dir.path().join("challenge");
    fs::create_dir_all(&challenge).unwrap();
    fs::set_permissions(&challenge, fs::Permissions::from_mode(0o755)).unwrap();
    let token = "Tok3n-_abc";
    fs::write(challenge.join(token), "Tok3n-_abc.key-authorization").unwrap();
    let proxy = Proxy::start_in(proxy_dir, &body);

    // nginx, running the export of the same file on its own ports.
    let nginx_dir = readable_tempdir();
    let n = nginx_dir.path();
    let (n_http, n_https) = (free_port(), free_port());
    let nginx_file = n.join("proxy.toml");
    fs::write(
        &nginx_file,
        format!(
            "version = 1\nhttp_listen = [\"127.0.0.1:{n_http}\"]\n\
             https_listen = [\"127.0.0.1:{n_https}\"]\nchallenge_dir = \"{}\"\n{body}",
            challenge.display()
        ),
    )
    .unwrap();
    let conf = n.join("nginx.conf");
    export(&nginx_file, &conf);
    let mut process = Process::spawn("nginx", &mut nginx(&conf, n), n);
    process.wait_for_port(n_http);
    process.wait_for_port(n_https);

    let servers = [
        Server::new("webtier", proxy.http_port, proxy.https_port, &ca),
        Server::new("nginx", n_http, n_https, &ca),
    ];
    let static_url = "https://a.test:{https}/static/hello.txt";

    // A static file over HTTPS (HTTP/2): type, length, the same ETag (both
    // write "mtime-length" in hex), Last-Modified, HSTS, nosniff.
    let [file, file_n] = both(
        &servers,
        "static file",
        tls,
        Method::GET,
        static_url,
        &[],
        true,
    )
    .await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, hello.as_bytes());
    assert_eq!(
        file.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert!(file.header("etag").is_some());
    assert_eq!(
        file.header("strict-transport-security").as_deref(),
        Some("max-age=31536000")
    );
    for seen in [&file, &file_n] {
        assert_eq!(
            seen.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
    }
    let etag = file.header("etag").unwrap();
    let modified = file.header("last-modified").unwrap();
    both(
        &servers,
        "css",
        tls,
        Method::GET,
        "https://a.test:{https}/static/style.css",
        &[],
        true,
    )
    .await;

    // Errors: the same page.
    let [missing, _] = both(
        &servers,
        "missing file",
        tls,
        Method::GET,
        "https://a.test:{https}/static/missing.txt",
        &[],
        true,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(String::from_utf8_lossy(&missing.body).contains("<title>404 Not Found</title>"));
    let [dotfile, _] = both(
        &servers,
        "dotfile",
        tls,
        Method::GET,
        "https://a.test:{https}/static/.env",
        &[],
        true,
    )
    .await;
    assert_eq!(dotfile.status, 404);
    let [post, _] = both(
        &servers,
        "POST to a file",
        tls1,
        Method::POST,
        static_url,
        &[],
        true,
    )
    .await;
    assert_eq!(post.status, 405);

    // Range: one range, and one past the end.
    let [range, _] = both(
        &servers,
        "range",
        tls,
        Method::GET,
        static_url,
        &[("range", "bytes=3-9")],
        true,
    )
    .await;
    assert_eq!(range.status, 206);
    assert_eq!(range.body, &hello.as_bytes()[3..10]);
    let [past, _] = both(
        &servers,
        "unsatisfiable range",
        tls,
        Method::GET,
        static_url,
        &[("range", "bytes=100000-")],
        true,
    )
    .await;
    assert_eq!(past.status, 416);

    // Conditional GETs.
    for (what, header, value, status) in [
        ("If-None-Match", "if-none-match", etag.as_str(), 304),
        (
            "If-None-Match, another tag",
            "if-none-match",
            "\"0-0\"",
            200,
        ),
        (
            "If-Modified-Since",
            "if-modified-since",
            modified.as_str(),
            304,
        ),
        (
            "If-Modified-Since, long ago",
            "if-modified-since",
            "Mon, 01 Jan 1990 00:00:00 GMT",
            200,
        ),
    ] {
        let [seen, _] = both(
            &servers,
            what,
            tls,
            Method::GET,
            static_url,
            &[(header, value)],
            true,
        )
        .await;
        assert_eq!(seen.status, status, "{what}");
    }

    // Directories: the redirect to the slash, and index.html.
    let [dir, _] = both(
        &servers,
        "directory",
        tls,
        Method::GET,
        "https://a.test:{https}/static",
        &[],
        false,
    )
    .await;
    assert_eq!(
        (dir.status, dir.header("location").as_deref()),
        (301, Some("/static/"))
    );
    let [index, _] = both(
        &servers,
        "index",
        tls,
        Method::GET,
        "https://a.test:{https}/static/",
        &[],
        true,
    )
    .await;
    assert_eq!(index.body, b"<p>the index</p>\n");
    let [sub, _] = both(
        &servers,
        "subdirectory",
        tls,
        Method::GET,
        "https://a.test:{https}/static/sub",
        &[],
        false,
    )
    .await;
    assert_eq!(
        (sub.status, sub.header("location").as_deref()),
        (301, Some("/static/sub/"))
    );

    // Proxied to the app over HTTP/1.1, with forged forwarding and
    // identity headers: the upstream sees the same headers from both.
    let forged = [
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-host", "evil.test"),
        ("x-forwarded-port", "1"),
        ("x-auth-request-user", "eve"),
    ];
    let [echo_w, echo_n] = both(
        &servers,
        "proxied",
        tls1,
        Method::GET,
        "https://a.test:{https}/echo/x?q=1",
        &forged,
        false,
    )
    .await;
    assert_eq!(echo_w.status, 200);
    let (seen_w, seen_n) = (
        forwarded(&servers[0], &echo_w),
        forwarded(&servers[1], &echo_n),
    );
    assert_eq!(seen_w, seen_n, "the upstream saw different requests");
    assert_eq!(seen_w["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen_w["x-forwarded-host"], "a.test");
    assert_eq!(
        seen_w["forwarded"],
        "for=127.0.0.1;proto=https;host=\"a.test\""
    );
    assert!(seen_w["x-auth-request-user"].is_null());
    // Over HTTP/2 the host comes from :authority; both pass it on as the
    // client sent it, port included, as over HTTP/1.1.
    let [h2_w, h2_n] = both(
        &servers,
        "proxied over HTTP/2",
        tls,
        Method::GET,
        "https://a.test:{https}/echo/h2",
        &[],
        false,
    )
    .await;
    let (h2_seen_w, h2_seen_n) = (forwarded(&servers[0], &h2_w), forwarded(&servers[1], &h2_n));
    assert_eq!(
        h2_seen_w, h2_seen_n,
        "the upstream saw different HTTP/2 requests"
    );
    assert_eq!(
        h2_seen_w["host"], "a.test:{https}",
        "webtier's HTTP/2 host keeps the port"
    );
    let [powered, _] = both(
        &servers,
        "identity headers",
        tls,
        Method::GET,
        "https://a.test:{https}/powered",
        &[],
        true,
    )
    .await;
    assert_eq!(powered.header("x-powered-by"), None);
    assert_eq!(powered.header("x-kept").as_deref(), Some("yes"));
    // A POST with a body, on a plain-HTTP site.
    let [posted_w, posted_n] = both(
        &servers,
        "proxied POST",
        plain,
        Method::POST,
        "http://p.test:{http}/echo/form",
        &[("content-type", "text/plain")],
        false,
    )
    .await;
    assert_eq!(
        forwarded(&servers[0], &posted_w)["x-forwarded-proto"],
        "http"
    );
    assert_eq!(
        forwarded(&servers[0], &posted_w)["method"],
        forwarded(&servers[1], &posted_n)["method"]
    );

    // HTTP to HTTPS: 301 for GET, 308 for POST, path and query kept. The
    // bodies differ on purpose: nginx's `return` cannot give a redirect a
    // body of its own, and no client reads it.
    let [moved, _] = both(
        &servers,
        "redirect",
        plain,
        Method::GET,
        "http://a.test:{http}/x/y?z=1",
        &[],
        false,
    )
    .await;
    assert_eq!(
        (moved.status, servers[0].location(&moved).as_deref()),
        (301, Some("https://a.test:{https}/x/y?z=1"))
    );
    let [moved, _] = both(
        &servers,
        "redirect of a POST",
        plain,
        Method::POST,
        "http://a.test:{http}/form",
        &[],
        false,
    )
    .await;
    assert_eq!(moved.status, 308);

    // ACME HTTP-01: the token for a site's name and for any other.
    for host in ["a.test", "unknown.test"] {
        let url = format!("http://{host}:{{http}}/.well-known/acme-challenge/{token}");
        let [answer, _] = both(&servers, "challenge", plain, Method::GET, &url, &[], true).await;
        assert_eq!(answer.status, 200, "{host}");
        assert_eq!(answer.body, b"Tok3n-_abc.key-authorization");
        assert_eq!(answer.header("content-type").as_deref(), Some("text/plain"));
    }
    let [no_token, _] = both(
        &servers,
        "unknown token",
        plain,
        Method::GET,
        "http://a.test:{http}/.well-known/acme-challenge/none",
        &[],
        true,
    )
    .await;
    assert_eq!(no_token.status, 404);

    // Names no site has, a plain site, and a connection used for another
    // site than its certificate's.
    let [unknown, _] = both(
        &servers,
        "unknown host",
        plain,
        Method::GET,
        "http://unknown.test:{http}/",
        &[],
        true,
    )
    .await;
    assert_eq!(unknown.status, 404);
    let [plain_file, _] = both(
        &servers,
        "plain site",
        plain,
        Method::GET,
        "http://p.test:{http}/hello.txt",
        &[],
        true,
    )
    .await;
    assert_eq!(
        (
            plain_file.status,
            plain_file.header("strict-transport-security")
        ),
        (200, None)
    );
    let [misdirected, _] = both(
        &servers,
        "another site's connection",
        tls1,
        Method::GET,
        "https://a.test:{https}/static/hello.txt",
        &[("host", "b.test")],
        true,
    )
    .await;
    assert_eq!(misdirected.status, 421);
    drop(process);
}
