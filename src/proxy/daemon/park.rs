//! Parking an idle HTTP/1.1 connection (plain or TLS) between requests.
//!
//! A keep-alive connection idle for [`PARK_AFTER`] has hyper's connection
//! (its read and write buffers, some 16 KiB) closed without closing the
//! client's connection ([`Park`]: the shutdown is skipped). It then waits
//! for the next request holding no buffer ([`readable`]: a one-byte peek
//! at the TCP socket), and is served by a new hyper connection that
//! first reads the bytes the old one had not parsed. nginx frees its
//! buffers of an idle keep-alive connection the same way.
//!
//! The stream hyper reads and writes ([`socket::ClientSocket`] for plain
//! connections, [`tls_socket::TlsSocket`] for TLS ones) keeps a
//! [`HyperSide`]: the unparsed bytes to read first, whether hyper holds
//! part of a request head, and the read-buffer room it offers, counted
//! in `/metrics`.
//!
//! [`socket::ClientSocket`]: super::socket::ClientSocket
//! [`tls_socket::TlsSocket`]: super::tls_socket::TlsSocket

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::ReadBuf;
use tokio::net::TcpStream;

/// How long an HTTP/1.1 connection waits between requests before it is
/// parked. Long enough that a busy keep-alive connection never is (a new
/// hyper connection costs two buffers and its state), short against the
/// idle timeout a browser's connection waits out.
pub const PARK_AFTER: Duration = Duration::from_secs(1);

/// A connection's parking: whether its hyper connection is being closed
/// to park (its shutdown is then not passed to the client's connection),
/// and the worker's gauge of the read-buffer room hyper holds.
pub struct Park {
    parking: AtomicBool,
    /// No byte was read since hyper last wrote: it holds no part of a
    /// request head it waits to complete (its graceful shutdown would
    /// then close the connection after the answer instead of parking).
    /// A pipelined head begun in a read before the last answer is not
    /// seen: an idle hyper connection ends at once with those bytes
    /// unparsed, and they are read first after the park; one that reads
    /// more of the head once the park has begun is closed after its
    /// answer instead ([`HyperSide::read`]).
    clean: AtomicBool,
    /// hyper's last write or flush could not go on: it still has bytes to
    /// send to a client that reads slower than it is answered. A park
    /// begun then would find hyper busy (it may have stopped reading for
    /// good, or end the connection once the bytes are out) instead of
    /// ending at once: its end would be taken for a park.
    blocked: AtomicBool,
    buffered: Arc<AtomicI64>,
}

impl Park {
    pub fn new(buffered: Arc<AtomicI64>) -> Arc<Park> {
        Arc::new(Park {
            parking: AtomicBool::new(false),
            clean: AtomicBool::new(true),
            blocked: AtomicBool::new(false),
            buffered,
        })
    }

    /// From now on the hyper connection's shutdown leaves the client's
    /// connection open.
    pub fn begin(&self) {
        self.parking.store(true, Ordering::Release);
    }

    pub fn parking(&self) -> bool {
        self.parking.load(Ordering::Acquire)
    }

    /// Whether hyper can be parked now: it holds no part of a head and
    /// has nothing left to write, so its graceful shutdown ends it at
    /// once.
    pub fn clean(&self) -> bool {
        self.clean.load(Ordering::Relaxed) && !self.blocked.load(Ordering::Relaxed)
    }
}

/// What one hyper connection's stream keeps for parking.
pub struct HyperSide {
    /// Bytes a parked hyper connection had read but not parsed: read
    /// first.
    leftover: Bytes,
    park: Arc<Park>,
    /// The room hyper's read buffer offered on its last read, counted in
    /// the metrics' buffer gauge while this hyper connection lives.
    offered: i64,
}

impl HyperSide {
    /// For a new hyper connection, which reads `leftover` (what a parked
    /// one had not parsed) first.
    pub fn new(leftover: Bytes, park: Arc<Park>) -> HyperSide {
        park.parking.store(false, Ordering::Release);
        park.blocked.store(false, Ordering::Relaxed);
        HyperSide {
            leftover,
            park,
            offered: 0,
        }
    }

    /// Before a read: serves it from the leftover bytes (true), or counts
    /// the room hyper offers for a read from the connection (false).
    pub fn before_read(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        if self.leftover.has_remaining() {
            let n = self.leftover.len().min(buf.remaining());
            buf.put_slice(&self.leftover[..n]);
            self.leftover.advance(n);
            // A head begun before the park: hyper holds part of it now.
            self.read(n);
            return true;
        }
        self.offer(buf.remaining());
        false
    }

    /// After a read that gave hyper `n` bytes.
    ///
    /// Bytes read once the park has begun are a request hyper goes on to
    /// serve (it holds the start of a head that the park check did not
    /// see): hyper then ends the connection by its own choice (keep-alive
    /// was turned off by the shutdown that parks it), and that end is the
    /// client's too. Parked instead, the connection would serve on after
    /// hyper said `Connection: close`, or read the rest of a request body
    /// that hyper gave up on as the next request.
    pub fn read(&self, n: usize) {
        if n > 0 {
            self.park.clean.store(false, Ordering::Relaxed);
            self.park.parking.store(false, Ordering::Release);
        }
    }

    /// After a write: hyper answered what it had read, and the write may
    /// have to wait for the client.
    pub fn wrote<T>(&self, result: &Poll<T>) {
        self.park.clean.store(true, Ordering::Relaxed);
        self.flushed(result);
    }

    /// After a flush (which hyper also asks for with nothing written):
    /// whether it has to wait for the client.
    pub fn flushed<T>(&self, result: &Poll<T>) {
        self.park
            .blocked
            .store(result.is_pending(), Ordering::Relaxed);
    }

    /// Whether hyper's shutdown is parking, to be kept from the client.
    pub fn parking(&self) -> bool {
        self.park.parking()
    }

    fn offer(&mut self, room: usize) {
        let room = room as i64;
        if room != self.offered {
            self.park
                .buffered
                .fetch_add(room - self.offered, Ordering::Relaxed);
            self.offered = room;
        }
    }
}

impl Drop for HyperSide {
    fn drop(&mut self) {
        self.offer(0);
    }
}

/// Whether a parked connection has anything to serve before its socket
/// is readable: a TLS connection's decrypted-but-unread records.
pub enum Waiting {
    /// Nothing: wait for the socket.
    Nothing,
    /// A request's bytes (or a record to answer) are already in rustls.
    Ready,
    /// The client said close_notify, or sent what rustls refuses.
    Closed,
}

/// Waits, holding no buffer, until a parked connection's client sends
/// something (true) or hangs up (false).
pub async fn readable(socket: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(socket.peek(&mut probe).await, Ok(n) if n > 0)
}
