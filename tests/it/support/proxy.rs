//! `webtier proxy run` as a child process, with a CA minted at test time
//! for its certificates, plus raw-socket helpers for what HTTP clients
//! would normalize away.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tempfile::TempDir;

use super::services::{Process, free_port, tempdir};

/// A throw-away certificate authority.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "webtier proxy test CA");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// Writes `<stem>.crt` and `<stem>.key` for `names` into `dir`.
    pub fn leaf(&self, names: &[&str], dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        self.leaf_with(names, dir, stem, |_| {})
    }

    /// Like `leaf`, valid from a day ago for `days` days from now, as
    /// a CA's certificate would be.
    pub fn leaf_valid_for(
        &self,
        names: &[&str],
        dir: &Path,
        stem: &str,
        days: i64,
    ) -> (PathBuf, PathBuf) {
        let now = time::OffsetDateTime::now_utc();
        self.leaf_with(names, dir, stem, |params| {
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + time::Duration::days(days);
        })
    }

    fn leaf_with(
        &self,
        names: &[&str],
        dir: &Path,
        stem: &str,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        adjust(&mut params);
        params
            .distinguished_name
            .push(DnType::CommonName, stem.to_string());
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        let (cert_path, key_path) = (
            dir.join(format!("{stem}.crt")),
            dir.join(format!("{stem}.key")),
        );
        fs::write(&cert_path, cert.pem()).unwrap();
        fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    pub fn reqwest_root(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.pem.as_bytes()).expect("CA PEM")
    }
}

/// The proxy daemon on free loopback ports.
pub struct Proxy {
    pub http_port: u16,
    pub https_port: u16,
    pub admin_port: u16,
    pub dir: TempDir,
    pub config_path: PathBuf,
    process: Process,
}

impl Proxy {
    /// The header every test config shares: listeners, challenge dir, pid
    /// file, admin listener.
    pub fn header(dir: &Path, http: u16, https: u16, admin: u16) -> String {
        let d = dir.display();
        format!(
            "version = 1\nhttp_listen = [\"127.0.0.1:{http}\"]\nhttps_listen = [\"127.0.0.1:{https}\"]\n\
             challenge_dir = \"{d}/challenge\"\npid_file = \"{d}/proxy.pid\"\nadmin_listen = \"127.0.0.1:{admin}\"\n"
        )
    }

    /// Starts the proxy with `body`: top-level settings and `[[site]]`
    /// tables appended to the shared header. `dir` holds the test's files.
    pub fn start_in(dir: TempDir, body: &str) -> Proxy {
        Proxy::start_on(dir, Proxy::free_ports(), body, &[])
    }

    /// Free ports for the HTTP, HTTPS and admin listeners, for a body
    /// that names them (`start_on`).
    pub fn free_ports() -> (u16, u16, u16) {
        (free_port(), free_port(), free_port())
    }

    /// Like `start_in`, on `ports` (HTTP, HTTPS, admin) and with `env`
    /// added to the daemon's environment (moto's, for its AWS calls).
    pub fn start_on(
        dir: TempDir,
        ports: (u16, u16, u16),
        body: &str,
        env: &[(&'static str, String)],
    ) -> Proxy {
        let (http_port, https_port, admin_port) = ports;
        let config_path = dir.path().join("proxy.toml");
        let text = format!(
            "{}{body}",
            Proxy::header(dir.path(), http_port, https_port, admin_port)
        );
        fs::write(&config_path, text).unwrap();
        let mut process = Process::spawn(
            "webtier-proxy",
            super::webtier()
                .args(["proxy", "run", "--file"])
                .arg(&config_path)
                .envs(env.iter().map(|(k, v)| (*k, v.as_str()))),
            dir.path(),
        );
        process.wait_for_port(http_port);
        process.wait_for_port(admin_port);
        // The pid file is written once every socket is bound, so a moment
        // after the ports accept connections.
        let pid_file = dir.path().join("proxy.pid");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !pid_file.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the proxy wrote no pid file:\n{}",
                process.log_text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        Proxy {
            http_port,
            https_port,
            admin_port,
            dir,
            config_path,
            process,
        }
    }

    pub fn start(body: &str) -> Proxy {
        Proxy::start_in(tempdir(), body)
    }

    /// Rewrites the configuration (same ports) with another body.
    pub fn rewrite(&self, body: &str) {
        let text = format!(
            "{}{body}",
            Proxy::header(
                self.dir.path(),
                self.http_port,
                self.https_port,
                self.admin_port
            )
        );
        let tmp = self.dir.path().join("proxy.toml.new");
        fs::write(&tmp, text).unwrap();
        fs::rename(tmp, &self.config_path).unwrap();
    }

    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.process.pid() as i32).unwrap();
        rustix::process::kill_process(pid, signal).expect("signal the proxy");
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.process.wait_exit(timeout)
    }

    pub fn log(&self) -> String {
        self.process.log_text()
    }

    pub fn http(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http_port))
    }

    pub fn https(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.https_port))
    }

    /// A client that trusts `ca` and sends `names` to the HTTPS listener.
    pub fn client(&self, ca: &TestCa, names: &[&str]) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .add_root_certificate(ca.reqwest_root())
            .redirect(reqwest::redirect::Policy::none())
            .tls_info(true)
            .timeout(Duration::from_secs(30));
        for name in names {
            b = b.resolve(name, self.https());
        }
        b.build().expect("client")
    }

    /// The metrics page.
    pub fn metrics(&self) -> String {
        raw(
            SocketAddr::from(([127, 0, 0, 1], self.admin_port)),
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
    }

    /// Waits until the metrics page has a line for which `pred` holds.
    pub fn wait_metric(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !self.metrics().lines().any(&pred) {
            assert!(
                std::time::Instant::now() < deadline,
                "the metrics never showed {what}:\n{}",
                self.metrics()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !self.log().contains(needle) {
            assert!(
                std::time::Instant::now() < deadline,
                "the proxy never logged {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// Sends `request` as is and returns everything the server sends back
/// until it closes (or 5 s of silence).
pub fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of the first response in `text`.
pub fn status_of(text: &str) -> u16 {
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP response in {text:?}"))
}

/// The leaf certificate a TLS response came with, parsed.
fn served_leaf<T>(
    resp: &reqwest::Response,
    read: impl FnOnce(&x509_parser::certificate::X509Certificate<'_>) -> T,
) -> T {
    let info = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .expect("TLS info");
    let der = info.peer_certificate().expect("a peer certificate");
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("X.509");
    read(&cert)
}

/// The serial number of the leaf certificate a TLS response came with.
pub fn served_serial(resp: &reqwest::Response) -> Vec<u8> {
    served_leaf(resp, |cert| cert.raw_serial().to_vec())
}

/// The DNS names of the leaf a TLS response came with.
pub fn served_names(resp: &reqwest::Response) -> Vec<String> {
    served_leaf(resp, |cert| {
        cert.subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|g| match g {
                        x509_parser::extensions::GeneralName::DNSName(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Runs the `webtier` binary with `args`.
pub fn webtier(args: &[&str]) -> std::process::Output {
    let mut cmd: Command = super::webtier();
    cmd.args(args).output().expect("webtier runs")
}

/// What a [`Scripted`] upstream does with one request.
pub enum Answer {
    /// Sends these bytes and keeps the connection open.
    Send(Vec<u8>),
    /// Sends these bytes, then closes.
    SendAndClose(Vec<u8>),
    /// Closes without answering.
    HangUp,
}

/// An HTTP/1.1 upstream on a raw socket that answers from a script, for
/// responses and connection behaviour a real app server would not
/// produce. It records every request line with the number of the
/// connection that carried it.
pub struct Scripted {
    pub url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(usize, String)>>>,
}

impl Scripted {
    /// `answer(nth request on its connection, request line)`.
    pub fn start(answer: impl Fn(usize, &str) -> Answer + Send + Sync + 'static) -> Scripted {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let answer = std::sync::Arc::new(answer);
        let log = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            for (conn_no, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let (answer, log) = (std::sync::Arc::clone(&answer), std::sync::Arc::clone(&log));
                std::thread::spawn(move || serve_script(stream, conn_no, &*answer, &log));
            }
        });
        Scripted { url, seen }
    }

    /// (connection number, request line) of every request so far.
    pub fn seen(&self) -> Vec<(usize, String)> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve_script(
    mut stream: TcpStream,
    conn_no: usize,
    answer: &(dyn Fn(usize, &str) -> Answer + Send + Sync),
    log: &std::sync::Mutex<Vec<(usize, String)>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    for nth in 0.. {
        // One request head, and a Content-Length body if there is one.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        let line = head.lines().next().unwrap_or_default().to_string();
        log.lock().unwrap().push((conn_no, line.clone()));
        match answer(nth, &line) {
            Answer::Send(bytes) => {
                if stream.write_all(&bytes).is_err() {
                    return;
                }
            }
            Answer::SendAndClose(bytes) => {
                let _ = stream.write_all(&bytes);
                return;
            }
            Answer::HangUp => return,
        }
    }
}

/// An upstream that answers every request head it reads with `prefix`
/// (possibly nothing, or a head and part of a body) and then holds the
/// connection, noting when the proxy closes it.
pub struct Holding {
    pub url: String,
    events: std::sync::mpsc::Receiver<&'static str>,
}

impl Holding {
    pub fn start(prefix: &'static [u8]) -> Holding {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let _ = tx.send("request");
                    let _ = stream.write_all(prefix);
                    let mut rest = [0u8; 1024];
                    while matches!(stream.read(&mut rest), Ok(n) if n > 0) {}
                    let _ = tx.send("closed");
                });
            }
        });
        Holding { url, events }
    }

    /// Waits up to `limit` for the next event: "request" or "closed".
    pub fn next(&self, limit: Duration) -> Option<&'static str> {
        self.events.recv_timeout(limit).ok()
    }
}

/// Reads one HTTP/1.1 response (Content-Length or chunked) from a
/// kept-alive connection: its status and body.
pub fn read_response(r: &mut impl std::io::BufRead) -> (u16, Vec<u8>) {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
            let mut chunk = vec![0u8; size + 2];
            r.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        r.read_exact(&mut body).unwrap();
    }
    (status, body)
}

impl TestCa {
    /// A rustls client configuration trusting this CA, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> rustls::ClientConfig {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls_pki_types::CertificateDer::from_pem_slice(self.pem.as_bytes()).unwrap())
            .unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
    }
}

/// A raw HTTP/2 connection to the proxy's HTTPS listener with `sni`, for
/// what reqwest would not send (a `host` header beside `:authority`) and
/// to watch the connection itself. With `ping`, the client pings that
/// often even while idle. Returns the request sender and the connection's
/// task, which ends when the connection does.
pub async fn h2_connection(
    proxy: &Proxy,
    ca: &TestCa,
    sni: &str,
    ping: Option<Duration>,
) -> (
    hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>>,
    tokio::task::JoinHandle<Result<(), hyper::Error>>,
) {
    let config = ca.client_config(&[b"h2"]);
    let tcp = tokio::net::TcpStream::connect(proxy.https()).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from(sni.to_string()).unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let mut builder =
        hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    if let Some(every) = ping {
        builder
            .timer(hyper_util::rt::TokioTimer::new())
            .keep_alive_interval(every)
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
    }
    let (sender, conn) = builder
        .handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .expect("HTTP/2 handshake");
    (sender, tokio::spawn(conn))
}
