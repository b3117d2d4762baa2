//! Connections to upstreams: opened plain or over TLS, and kept alive in a
//! per-thread idle pool. Each worker thread runs one event loop, so its
//! pool needs no lock; a connection goes back to the pool only once its
//! response body has been read to the end.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Empty, Limited};
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::body::BoxError;
use super::upstream::Upstream;

/// A request body on its way to an upstream: the client's, length-limited,
/// or none.
pub type UpstreamBody = Either<Limited<Incoming>, Empty<Bytes>>;

/// Idle connections kept per upstream and thread.
const MAX_IDLE: usize = 256;

thread_local! {
    static IDLE: RefCell<HashMap<usize, Vec<Idle>>> = RefCell::new(HashMap::new());
}

struct Idle {
    base: Arc<str>,
    sender: SendRequest<UpstreamBody>,
    since: Instant,
}

/// How to reach upstreams; cheap to clone.
#[derive(Clone)]
pub struct Connector {
    connect_timeout: Duration,
    idle_timeout: Duration,
    tls: TlsConnector,
}

/// A connection in use for one request.
pub struct Lease {
    /// Just opened, not taken from the pool.
    fresh: bool,
    key: usize,
    base: Arc<str>,
    sender: SendRequest<UpstreamBody>,
    idle_timeout: Duration,
}

/// The pool key: the upstream's address in memory, checked against its
/// base URL on every hit (an upstream of an old configuration may share
/// an address with a new one).
fn key(up: &Upstream) -> usize {
    up as *const Upstream as usize
}

impl Connector {
    pub fn new(connect_timeout: Duration, idle_timeout: Duration) -> Result<Connector> {
        use hyper_rustls::ConfigBuilderExt;
        let config = rustls::ClientConfig::builder_with_provider(super::tls::provider())
            .with_safe_default_protocol_versions()
            .context("the TLS provider offers no protocol versions")?
            .with_native_roots()
            .context("cannot load the system trust roots for https upstreams")?
            .with_no_client_auth();
        Ok(Connector {
            connect_timeout,
            idle_timeout,
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// A pooled connection to `up` that is still open, newest first.
    pub fn idle(&self, up: &Upstream) -> Option<Lease> {
        let k = key(up);
        IDLE.with(|idle| {
            let mut idle = idle.borrow_mut();
            let list = idle.get_mut(&k)?;
            while let Some(entry) = list.pop() {
                if entry.base != up.base
                    || entry.sender.is_closed()
                    || entry.since.elapsed() > self.idle_timeout
                {
                    continue;
                }
                return Some(Lease {
                    fresh: false,
                    key: k,
                    base: entry.base,
                    sender: entry.sender,
                    idle_timeout: self.idle_timeout,
                });
            }
            None
        })
    }

    /// A new connection (TCP, TLS for `https://`, HTTP/1.1 handshake).
    pub async fn connect(&self, up: &Upstream) -> Result<Lease, BoxError> {
        let addr = &up.addr;
        let stream = tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((addr.host.as_str(), addr.port)),
        )
        .await
        .map_err(|_| "connect timed out")??;
        stream.set_nodelay(true)?;
        let sender = if addr.tls {
            let name = ServerName::try_from(addr.host.clone())?;
            let tls = tokio::time::timeout(self.connect_timeout, self.tls.connect(name, stream))
                .await
                .map_err(|_| "TLS handshake timed out")??;
            handshake(TokioIo::new(tls)).await?
        } else {
            handshake(TokioIo::new(stream)).await?
        };
        Ok(Lease {
            fresh: true,
            key: key(up),
            base: Arc::clone(&up.base),
            sender,
            idle_timeout: self.idle_timeout,
        })
    }
}

async fn handshake<I>(io: I) -> Result<SendRequest<UpstreamBody>, hyper::Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(io).await?;
    tokio::spawn(async move {
        // Errors surface on the request that was using the connection.
        let _ = connection.with_upgrades().await;
    });
    Ok(sender)
}

impl Lease {
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Waits until the connection can take a request; an error means it
    /// is gone (the upstream closed it).
    pub async fn ready(&mut self) -> Result<(), hyper::Error> {
        self.sender.ready().await
    }

    /// Sends `req`; if the connection could not take it, the error gives
    /// the request back.
    pub fn send(
        &mut self,
        req: Request<UpstreamBody>,
    ) -> impl Future<Output = Result<Response<Incoming>, TrySendError<Request<UpstreamBody>>>> + use<>
    {
        self.sender.try_send_request(req)
    }

    /// Back to the pool, for the next request to the same upstream.
    pub fn release(self) {
        if self.sender.is_closed() || self.idle_timeout.is_zero() {
            return;
        }
        IDLE.with(|idle| {
            let mut idle = idle.borrow_mut();
            let list = idle.entry(self.key).or_default();
            // Oldest first: drop what has expired from the front only, so
            // a release looks at the clock once, not once per idle entry.
            let now = Instant::now();
            let expired = list
                .iter()
                .take_while(|e| now.duration_since(e.since) > self.idle_timeout)
                .count();
            list.drain(..expired);
            if list.len() < MAX_IDLE {
                list.push(Idle {
                    base: self.base,
                    sender: self.sender,
                    since: now,
                });
            }
        });
    }
}
