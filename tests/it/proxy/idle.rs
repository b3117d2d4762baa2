//! Idle keep-alive connections cost little: an HTTP/1.1 connection,
//! plain or TLS, that waits between requests is parked (hyper's
//! connection and its buffers dropped, the socket and TLS session kept),
//! and serves its next request as before, a request head split across
//! the park included.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use super::{plain_site, proxy_route, static_route, tls_site};
use crate::support::proxy::{Proxy, TestCa};
use crate::support::services::{Nginx, tempdir};

/// The value of the metric line that starts with `name ` (or `name{`).
fn metric(proxy: &Proxy, name: &str) -> i64 {
    proxy
        .metrics()
        .lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{}", proxy.metrics()))
}

/// A client connection and the bytes read past the last response.
struct Client<S> {
    s: S,
    carry: Vec<u8>,
}

impl<S: Read + Write> Client<S> {
    /// Sends one GET on a new connection and reads its answer.
    fn first(s: S, get: &[u8]) -> Client<S> {
        let mut c = Client {
            s,
            carry: Vec::new(),
        };
        c.send(get);
        let (status, body) = c.response();
        assert_eq!((status, body.len()), (200, 1024));
        c
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Reads one response with a Content-Length body: (status, body).
    fn response(&mut self) -> (u16, Vec<u8>) {
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = self.carry.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill(&mut buf);
        };
        let head = String::from_utf8_lossy(&self.carry[..head_end]).to_string();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("a Content-Length");
        while self.carry.len() < head_end + length {
            self.fill(&mut buf);
        }
        let body = self.carry[head_end..head_end + length].to_vec();
        self.carry.drain(..head_end + length);
        (status, body)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let n = self.s.read(buf).expect("a response");
        assert!(
            n > 0,
            "closed mid-response: {:?}",
            String::from_utf8_lossy(&self.carry)
        );
        self.carry.extend_from_slice(&buf[..n]);
    }
}

fn wait_for(proxy: &Proxy, what: &str, pred: impl Fn(&Proxy) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !pred(proxy) {
        assert!(
            std::time::Instant::now() < deadline,
            "never {what}:\n{}",
            proxy.metrics()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The behaviour under test is time passing (whether a connection is
/// parked, which it may be 1 s after its last request): `pred` is looked
/// at until twice that wait is over, and must hold every time.
fn holds_past_the_park_wait(proxy: &Proxy, what: &str, pred: impl Fn(&Proxy) -> bool) {
    let until = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < until {
        assert!(pred(proxy), "not {what}:\n{}", proxy.metrics());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn idle_keep_alive_connections_hold_no_buffers_and_still_serve() {
    const N: usize = 300;
    let dir = tempdir();
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("small"), "x".repeat(1024)).unwrap();
    let proxy = Proxy::start_in(dir, &plain_site("s.test", &static_route("/", &www)));
    let get = b"GET /small HTTP/1.1\r\nHost: s.test\r\n\r\n";

    let mut conns: Vec<Client<TcpStream>> = (0..N)
        .map(|_| {
            let s = TcpStream::connect(proxy.http()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            Client::first(s, get)
        })
        .collect();
    assert_eq!(
        metric(
            &proxy,
            "webtier_connections_by_protocol{protocol=\"http1\"}"
        ),
        N as i64
    );
    // Waiting, every one is parked and their read buffers are gone.
    wait_for(&proxy, "every idle connection parked", |p| {
        metric(p, "webtier_parked_connections") == N as i64
    });
    assert_eq!(metric(&proxy, "webtier_connection_read_buffer_bytes"), 0);

    // Each still serves, more than once, pipelined too.
    for c in &mut conns {
        c.send(get);
        assert_eq!(c.response().0, 200);
    }
    let c = &mut conns[0];
    c.send(&[&get[..], &get[..]].concat());
    assert_eq!(c.response().0, 200);
    assert_eq!(c.response().0, 200);
    assert!(c.carry.is_empty(), "nothing beyond the two responses");

    // A slow client's head, split for longer than a connection waits to
    // be parked: its connection is not parked half-way (that would end
    // its keep-alive), and is served and parked as any once it is whole.
    wait_for(&proxy, "parked again", |p| {
        metric(p, "webtier_parked_connections") == N as i64
    });
    let c = &mut conns[1];
    c.send(b"GET /small HTTP/1.1\r\nHo");
    wait_for(&proxy, "the slow client woken", |p| {
        metric(p, "webtier_parked_connections") == N as i64 - 1
    });
    holds_past_the_park_wait(&proxy, "the slow client unparked", |p| {
        metric(p, "webtier_parked_connections") == N as i64 - 1
    });
    c.send(b"st: s.test\r\n\r\n");
    let head_before = c.carry.clone();
    let (status, body) = c.response();
    assert_eq!((status, body.len()), (200, 1024));
    assert!(head_before.is_empty());
    c.send(get);
    assert_eq!(c.response().0, 200, "still kept alive");
    wait_for(&proxy, "the slow client parked", |p| {
        metric(p, "webtier_parked_connections") == N as i64
            && metric(p, "webtier_connection_read_buffer_bytes") == 0
    });

    // Closed by their clients, they are gone from the gauges.
    drop(conns);
    wait_for(&proxy, "the connections counted out", |p| {
        metric(p, "webtier_connections_by_protocol{protocol=\"http1\"}") == 0
            && metric(p, "webtier_parked_connections") == 0
    });
}

type TlsClientStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A proxy serving a 1 KiB `/small` at https://s.test, and a client
/// configuration (HTTP/1.1) that trusts it.
fn tls_proxy() -> (Proxy, Arc<rustls::ClientConfig>) {
    let ca = TestCa::new();
    let dir = tempdir();
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("small"), "x".repeat(1024)).unwrap();
    let (cert, key) = ca.leaf(&["s.test"], dir.path(), "s");
    let proxy = Proxy::start_in(
        dir,
        &tls_site(&["s.test"], &cert, &key, &static_route("/", &www)),
    );
    (proxy, Arc::new(ca.client_config(&[b"http/1.1"])))
}

/// A new TLS connection to `proxy` (its handshake done on first use).
fn tls_connect(proxy: &Proxy, config: &Arc<rustls::ClientConfig>) -> TlsClientStream {
    let s = TcpStream::connect(proxy.https()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let name = rustls_pki_types::ServerName::try_from("s.test").unwrap();
    let tls = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
    rustls::StreamOwned::new(tls, s)
}

/// The same over TLS: a parked connection keeps its TLS session, serves
/// its next requests (pipelined too) over it, and a client's
/// close_notify while parked ends it.
#[test]
fn idle_tls_connections_are_parked_with_their_session_and_still_serve() {
    const N: usize = 100;
    let (proxy, config) = tls_proxy();
    let get = b"GET /small HTTP/1.1\r\nHost: s.test\r\n\r\n";
    let connect = || Client::first(tls_connect(&proxy, &config), get);
    let mut conns: Vec<_> = (0..N).map(|_| connect()).collect();
    let tls_open = "webtier_connections_by_protocol{protocol=\"http1_tls\"}";
    assert_eq!(metric(&proxy, tls_open), N as i64);
    wait_for(&proxy, "every idle TLS connection parked", |p| {
        metric(p, "webtier_parked_connections") == N as i64
            && metric(p, "webtier_connection_read_buffer_bytes") == 0
    });

    for c in &mut conns {
        c.send(get);
        assert_eq!(c.response().0, 200);
    }
    wait_for(&proxy, "parked again", |p| {
        metric(p, "webtier_parked_connections") == N as i64
    });
    let c = &mut conns[0];
    c.send(&[&get[..], &get[..]].concat());
    assert_eq!(c.response().0, 200);
    assert_eq!(c.response().0, 200);
    assert!(c.carry.is_empty(), "nothing beyond the two responses");

    // A client that says close_notify while parked is closed.
    wait_for(&proxy, "parked once more", |p| {
        metric(p, "webtier_parked_connections") == N as i64
    });
    let mut c = conns.pop().unwrap();
    c.s.conn.send_close_notify();
    c.s.flush().unwrap();
    wait_for(&proxy, "the closing client gone", |p| {
        metric(p, tls_open) == N as i64 - 1
    });

    drop(conns);
    wait_for(&proxy, "the connections counted out", |p| {
        metric(p, tls_open) == 0 && metric(p, "webtier_parked_connections") == 0
    });
}

/// A TLS connection woken from its park by a record that holds no
/// request byte yet (the first bytes of a record, or a KeyUpdate) while a
/// partial head waits from before the park: its hyper connection must not
/// be parked again half-way. If it were, hyper would answer the request
/// with `Connection: close` and end, and the connection would be parked
/// and serve on: the rest of a body the handler did not read would be
/// read as the next request.
#[test]
fn a_parked_tls_connection_never_outlives_the_close_hyper_decided() {
    let (proxy, config) = tls_proxy();
    let get = b"GET /small HTTP/1.1\r\nHost: s.test\r\n\r\n";
    // A GET with a 100-byte body of which 10 bytes come: the static
    // handler answers without reading it.
    let second = b"GET /small HTTP/1.1\r\nHost: s.test\r\nContent-Length: 100\r\n\r\n0123456789";
    // The other 90 bytes of that body, shaped as a request.
    let mut smuggled = b"GET /small?smuggled HTTP/1.1\r\nHost: s.test\r\nX-Pad: ".to_vec();
    smuggled.resize(86, b'p');
    smuggled.extend_from_slice(b"\r\n\r\n");
    assert_eq!(smuggled.len(), 90);

    // The first request and the start of the second in one record.
    let mut c = Client::first(
        tls_connect(&proxy, &config),
        &[&get[..], &second[..10]].concat(),
    );
    wait_for(&proxy, "parked with the partial head", |p| {
        metric(p, "webtier_parked_connections") == 1
    });
    // The rest of the second request, its record sent in two parts: the
    // first three bytes wake the connection without a byte of request.
    c.s.conn.writer().write_all(&second[10..]).unwrap();
    let mut record = Vec::new();
    c.s.conn.write_tls(&mut record).unwrap();
    c.s.sock.write_all(&record[..3]).unwrap();
    wait_for(&proxy, "woken", |p| {
        metric(p, "webtier_parked_connections") == 0
    });
    // With the partial head held, it is not parked again.
    holds_past_the_park_wait(&proxy, "unparked with a partial head", |p| {
        metric(p, "webtier_parked_connections") == 0
    });
    c.s.sock.write_all(&record[3..]).unwrap();
    let (status, body) = c.response();
    assert_eq!((status, body.len()), (200, 1024));

    // The body was not read, so hyper ends the connection: the rest of
    // the body gets no answer.
    let _ = c.s.write_all(&smuggled);
    let _ = c.s.flush();
    let mut rest = Vec::new();
    let _ = c.s.read_to_end(&mut rest);
    assert!(
        c.carry.is_empty() && rest.is_empty(),
        "the rest of a body was answered as a request: {:?}",
        String::from_utf8_lossy(&[&c.carry[..], &rest[..]].concat())
    );
    wait_for(&proxy, "the connection closed", |p| {
        metric(p, "webtier_connections_by_protocol{protocol=\"http1_tls\"}") == 0
    });
}

/// A response still being written to a client that has stopped reading,
/// when its connection has waited long enough to be parked: hyper is not
/// idle then (here the request said `Connection: close`, so hyper ends
/// the connection once the response is out), so the park waits for the
/// write, and hyper's close reaches the client.
#[test]
fn a_connection_is_not_parked_while_its_response_is_still_being_written() {
    const SIZE: usize = 24 * 1024 * 1024;
    // From the response cache, a hit is handed to hyper in one piece, so
    // the request ends while most of its response waits to be written:
    // far more than the socket buffers of a client that reads nothing take.
    let files = tempdir();
    std::fs::set_permissions(files.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(files.path().join("big"), vec![b'x'; SIZE]).unwrap();
    std::fs::set_permissions(
        files.path().join("big"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let upstream = Nginx::start(&format!(
        "location / {{ root {}; expires 1h; }}",
        files.path().display()
    ));
    let site = plain_site(
        "s.test",
        &proxy_route(
            "/",
            &[format!("http://127.0.0.1:{}", upstream.port)],
            "cache = { }\n",
        ),
    );
    let proxy = Proxy::start_in(
        tempdir(),
        &format!("[cache]\nmax_size_mb = 1024\nmax_entry_kb = 32768\n{site}"),
    );
    let get = b"GET /big HTTP/1.1\r\nHost: s.test\r\n\r\n";
    let s = TcpStream::connect(proxy.http()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut filler = Client {
        s,
        carry: Vec::new(),
    };
    filler.send(get);
    assert_eq!(filler.response().1.len(), SIZE);
    drop(filler);
    wait_for(&proxy, "the cache filler gone", |p| {
        metric(p, "webtier_connections_by_protocol{protocol=\"http1\"}") == 0
    });

    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&proxy.http().into()).unwrap();
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut c = Client {
        s,
        carry: Vec::new(),
    };
    c.send(b"GET /big HTTP/1.1\r\nHost: s.test\r\nConnection: close\r\n\r\n");
    // The client reads nothing while its connection could be parked.
    holds_past_the_park_wait(&proxy, "open and not parked", |p| {
        metric(p, "webtier_connections_by_protocol{protocol=\"http1\"}") == 1
            && metric(p, "webtier_parked_connections") == 0
    });
    let (status, body) = c.response();
    assert_eq!((status, body.len()), (200, SIZE));
    // Then the connection ends (a parked one would wait for a request
    // until the header-read timeout, 20 s).
    let mut rest = Vec::new();
    let end = c.s.read_to_end(&mut rest);
    assert!(
        end.is_ok() && rest.is_empty() && c.carry.is_empty(),
        "no end after `Connection: close`: {end:?}"
    );
}
