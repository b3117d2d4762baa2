//! Stage 10: compression on the fly. A response is compressed with the
//! coding the client prefers (`Accept-Encoding`, q-values, ties broken by
//! the configured order) when its type is in the list, its known length
//! is at least `min_bytes` (an unknown one, a stream, is compressed), the
//! upstream did not compress it, it is no range and does not forbid
//! transformation (`Cache-Control: no-transform`). It gets
//! `Vary: Accept-Encoding` (so do the identity answers of a response that
//! could have been compressed) and its `ETag` is weakened: the bytes are
//! no longer the upstream's.
//!
//! The body is compressed as it streams: what the upstream sends is fed to
//! the encoder while more is ready, and flushed (a sync flush) as soon as
//! the upstream makes the client wait, so a stream reaches the client
//! chunk by chunk and nothing is buffered whole. A response from the
//! cache is compressed once per coding and kept with the entry
//! (`cache::Entry::encoded`).
//!
//! The codecs are the reference crates, driven through their `Write`
//! encoders (`flate2`, `brotli`, `zstd`): async-compression's readers
//! would need the body turned into an `AsyncRead` and back, and decide
//! themselves when to flush.
//!
//! gzip is flate2 on the system's zlib, the library nginx links: a level
//! makes the same bytes as nginx's `gzip_comp_level`. On zlib-rs (flate2's
//! Rust backend) level 1 is a different algorithm (fixed Huffman codes):
//! `bench/proxy.sh` measured its 20 KiB JSON at 7,708 bytes against
//! nginx's 5,908, 1.44x nginx's req/s for 30% more bytes; its level 2
//! matched the size (5,471) at 0.99x the req/s and 1.01x the CPU.

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Body as _, Frame, SizeHint};

use crate::proxy::body::{Body, BoxError};
use crate::proxy::config::{CompressConfig, Encoding};

/// Compressed output is handed on once this much is pending, even while
/// the upstream has more ready.
const EMIT_AT: usize = 16 * 1024;

/// A `compress` table compiled for requests.
#[derive(Debug, Clone)]
pub struct Compress {
    encodings: Vec<Encoding>,
    min_bytes: u64,
    /// Whole types (`text` for `text/*`) and exact types.
    whole: Vec<String>,
    exact: Vec<String>,
    levels: Levels,
}

/// The level of each coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub gzip: u32,
    pub br: u32,
    pub zstd: u32,
}

impl Compress {
    /// None when the table turns compression off.
    pub fn compile(config: &CompressConfig) -> Option<Arc<Compress>> {
        if !config.enabled {
            return None;
        }
        let (mut whole, mut exact) = (Vec::new(), Vec::new());
        for t in &config.types {
            match t.strip_suffix("/*") {
                Some(ty) => whole.push(ty.to_string()),
                None => exact.push(t.clone()),
            }
        }
        Some(Arc::new(Compress {
            encodings: config.encodings.clone(),
            min_bytes: config.min_bytes,
            whole,
            exact,
            levels: Levels {
                gzip: config.gzip_level,
                br: config.br_level,
                zstd: config.zstd_level,
            },
        }))
    }

    /// The coding for a client that sent `accept`, among those offered.
    pub fn choose(&self, accept: Option<&HeaderValue>) -> Option<Encoding> {
        negotiate(accept.and_then(|v| v.to_str().ok()), &self.encodings)
    }

    /// Whether the response may be compressed: its status, type, length,
    /// and nothing that forbids it.
    fn eligible(&self, resp: &Response<Body>) -> bool {
        let status = resp.status();
        if !matches!(
            status,
            StatusCode::OK | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
        ) {
            return false;
        }
        let headers = resp.headers();
        if let Some(coding) = headers.get(header::CONTENT_ENCODING)
            && !coding.as_bytes().eq_ignore_ascii_case(b"identity")
        {
            return false;
        }
        if headers.contains_key(header::CONTENT_RANGE) || no_transform(headers) {
            return false;
        }
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .or_else(|| resp.body().size_hint().exact());
        if length.is_some_and(|n| n < self.min_bytes) {
            return false;
        }
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| self.compresses(t))
    }

    /// Whether `content_type` (parameters ignored) is in the list.
    fn compresses(&self, content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let Some((ty, _)) = essence.split_once('/') else {
            return false;
        };
        self.exact.iter().any(|t| t.eq_ignore_ascii_case(essence))
            || self.whole.iter().any(|t| t.eq_ignore_ascii_case(ty))
    }

    /// The response as the client gets it: compressed with `chosen` when
    /// it is eligible (streamed, or from `encoded` when the cache holds
    /// this coding already), marked as varying by `Accept-Encoding`
    /// either way. `Err` gives back a response left alone.
    pub fn apply(
        &self,
        mut resp: Response<Body>,
        head: bool,
        chosen: Option<Encoding>,
    ) -> (Response<Body>, Option<Encoding>) {
        if !self.eligible(&resp) {
            return (resp, None);
        }
        add_vary(resp.headers_mut());
        let Some(encoding) = chosen else {
            return (resp, None);
        };
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.token()),
        );
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::ACCEPT_RANGES);
        weaken_etag(headers);
        if head {
            *resp.body_mut() = Body::empty();
            return (resp, Some(encoding));
        }
        let encoded = resp.extensions_mut().remove::<Encoded>();
        let body = std::mem::replace(resp.body_mut(), Body::empty());
        *resp.body_mut() = match encoded.and_then(|e| e.0(encoding, self.levels)) {
            Some(bytes) => Body::full(bytes),
            None => match Encoder::new(encoding, self.levels) {
                Ok(encoder) => Body::Compressed(Box::new(Compressing {
                    inner: body,
                    encoder: Some(encoder),
                    ended: false,
                    unflushed: false,
                })),
                Err(_) => return (resp, None),
            },
        };
        (resp, Some(encoding))
    }
}

/// Set on a response by the cache: the body already compressed with a
/// coding, made at most once per entry.
#[derive(Clone)]
pub struct Encoded(pub Arc<dyn Fn(Encoding, Levels) -> Option<Bytes> + Send + Sync>);

/// `bytes` compressed whole with `encoding`.
pub fn encode_all(encoding: Encoding, levels: Levels, bytes: &[u8]) -> Option<Bytes> {
    let mut encoder = Encoder::new(encoding, levels).ok()?;
    encoder.write(bytes).ok()?;
    let mut out = encoder.finish().ok()?;
    out.shrink_to_fit();
    Some(Bytes::from(out))
}

fn no_transform(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
}

/// `Vary: Accept-Encoding`, unless it varies by it (or by everything)
/// already.
fn add_vary(headers: &mut HeaderMap) {
    let named = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|n| {
            let n = n.trim();
            n == "*" || n.eq_ignore_ascii_case("accept-encoding")
        });
    if !named {
        headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// `"x"` becomes `W/"x"`: the compressed bytes are not the upstream's,
/// but mean the same.
fn weaken_etag(headers: &mut HeaderMap) {
    if let Some(etag) = headers.get(header::ETAG)
        && etag.as_bytes().starts_with(b"\"")
    {
        let mut weak = b"W/".to_vec();
        weak.extend_from_slice(etag.as_bytes());
        if let Ok(weak) = HeaderValue::from_bytes(&weak) {
            headers.insert(header::ETAG, weak);
        }
    }
}

/// The offered coding the client accepts with the highest q-value (ties:
/// the first offered); None: identity. `*` stands for every coding the
/// client does not name. A malformed element is skipped, never the
/// whole header.
pub fn negotiate(accept: Option<&str>, offered: &[Encoding]) -> Option<Encoding> {
    let accept = accept?;
    let mut best: Option<(Encoding, u16)> = None;
    for &encoding in offered {
        let mut named = None;
        let mut star = None;
        for element in accept.split(',') {
            let mut parts = element.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let Some(q) = quality(parts) else { continue };
            if coding.eq_ignore_ascii_case(encoding.token()) {
                named = Some(named.map_or(q, |n: u16| n.max(q)));
            } else if coding == "*" {
                star = Some(q);
            }
        }
        let q = named.or(star).unwrap_or(0);
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((encoding, q));
        }
    }
    best.map(|(e, _)| e)
}

/// An element's q-value in thousandths (1000 without one); None when a
/// parameter is malformed.
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        q = parse_q(value.trim())?;
    }
    Some(q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// One coding's streaming encoder, writing into a buffer taken as it
/// fills.
enum Encoder {
    Gzip(Gzip),
    Br(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    fn new(encoding: Encoding, levels: Levels) -> std::io::Result<Encoder> {
        Ok(match encoding {
            Encoding::Gzip => Encoder::Gzip(Gzip::new(levels.gzip)),
            // A 256 KiB window: brotli's default (4 MiB) costs memory per
            // response for no gain on web-sized bodies.
            Encoding::Br => Encoder::Br(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                4096,
                levels.br,
                18,
            ))),
            Encoding::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(
                Vec::new(),
                levels.zstd as i32,
            )?),
        })
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.run(data, flate2::FlushCompress::None),
            Encoder::Br(e) => e.write_all(data),
            Encoder::Zstd(e) => e.write_all(data),
        }
    }

    /// Pushes everything written so far out (a sync flush).
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.run(&[], flate2::FlushCompress::Sync),
            Encoder::Br(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }

    /// The output so far, taken.
    fn take(&mut self) -> Vec<u8> {
        std::mem::take(match self {
            Encoder::Gzip(e) => &mut e.out,
            Encoder::Br(e) => e.get_mut(),
            Encoder::Zstd(e) => e.get_mut(),
        })
    }

    fn pending(&mut self) -> usize {
        match self {
            Encoder::Gzip(e) => e.out.len(),
            Encoder::Br(e) => e.get_mut().len(),
            Encoder::Zstd(e) => e.get_mut().len(),
        }
    }

    /// The end of the stream, and the output not yet taken.
    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Br(e) => Ok(e.into_inner()),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

/// gzip on zlib, its state reused: a new zlib stream allocates about
/// 270 KiB (window, hash chains, pending buffer), which a reset keeps.
/// Each worker thread keeps a few, by level.
struct Gzip {
    z: Option<(u32, flate2::Compress)>,
    out: Vec<u8>,
}

thread_local! {
    static GZIP_STATES: std::cell::RefCell<Vec<(u32, flate2::Compress)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// zlib states a worker thread keeps for reuse.
const KEPT_STATES: usize = 8;

impl Gzip {
    fn new(level: u32) -> Gzip {
        let reused = GZIP_STATES.with_borrow_mut(|kept| {
            let at = kept.iter().position(|(l, _)| *l == level)?;
            Some(kept.swap_remove(at))
        });
        let z = reused.unwrap_or_else(|| {
            (
                level,
                flate2::Compress::new_gzip(flate2::Compression::new(level), 15),
            )
        });
        Gzip {
            z: Some(z),
            out: Vec::new(),
        }
    }

    /// Feeds `input` (all of it) with `flush`, the output appended.
    fn run(&mut self, mut input: &[u8], flush: flate2::FlushCompress) -> std::io::Result<()> {
        let Some((_, z)) = self.z.as_mut() else {
            return Err(std::io::Error::other("gzip stream already finished"));
        };
        loop {
            self.out.reserve((input.len() / 2).max(4096));
            let before = z.total_in();
            let status = z
                .compress_vec(input, &mut self.out, flush)
                .map_err(std::io::Error::other)?;
            input = &input[(z.total_in() - before) as usize..];
            let room_left = self.out.len() < self.out.capacity();
            match status {
                flate2::Status::StreamEnd => return Ok(()),
                _ if input.is_empty() && room_left => return Ok(()),
                _ => {}
            }
        }
    }

    /// The stream's end; the state goes back for the next response.
    fn finish(mut self) -> std::io::Result<Vec<u8>> {
        while let Some((_, z)) = self.z.as_mut() {
            self.out.reserve(4096);
            let status = z
                .compress_vec(&[], &mut self.out, flate2::FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            if status == flate2::Status::StreamEnd {
                break;
            }
        }
        if let Some((level, mut z)) = self.z.take() {
            z.reset();
            GZIP_STATES.with_borrow_mut(|kept| {
                if kept.len() < KEPT_STATES {
                    kept.push((level, z));
                }
            });
        }
        Ok(std::mem::take(&mut self.out))
    }
}

/// A body compressed as it streams.
pub struct Compressing {
    inner: Body,
    /// None once finished.
    encoder: Option<Encoder>,
    /// The inner body has ended (its last output is being handed on).
    ended: bool,
    /// Written to the encoder since its last flush: flushed (the next
    /// time the upstream makes the client wait) even when output was
    /// handed on since.
    unflushed: bool,
}

impl Compressing {
    pub fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(encoder) = self.encoder.as_mut() else {
            return Poll::Ready(None);
        };
        while !self.ended {
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    // Trailers are not carried through a new coding.
                    if let Ok(data) = frame.into_data() {
                        encoder.write(&data)?;
                        self.unflushed = true;
                        if encoder.pending() >= EMIT_AT {
                            return Poll::Ready(Some(Ok(Frame::data(encoder.take().into()))));
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => self.ended = true,
                Poll::Pending => {
                    // The upstream makes the client wait: what it sent so
                    // far goes out now.
                    if self.unflushed {
                        encoder.flush()?;
                        self.unflushed = false;
                    }
                    let out = encoder.take();
                    return if out.is_empty() {
                        Poll::Pending
                    } else {
                        Poll::Ready(Some(Ok(Frame::data(out.into()))))
                    };
                }
            }
        }
        let encoder = self.encoder.take().expect("checked above");
        let out = encoder.finish()?;
        Poll::Ready(Some(Ok(Frame::data(out.into()))))
    }

    pub fn is_end_stream(&self) -> bool {
        self.encoder.is_none()
    }

    pub fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use proptest::prelude::*;

    use super::*;

    const ALL: [Encoding; 3] = [Encoding::Br, Encoding::Zstd, Encoding::Gzip];

    #[test]
    fn the_clients_preference_wins_and_ties_go_to_the_configured_order() {
        let n = |a: &str| negotiate(Some(a), &ALL);
        assert_eq!(n("gzip"), Some(Encoding::Gzip));
        assert_eq!(n("gzip, deflate, br, zstd"), Some(Encoding::Br));
        assert_eq!(n("gzip;q=0.5, br;q=0.9"), Some(Encoding::Br));
        assert_eq!(n("br;q=0.1, gzip;q=1.0"), Some(Encoding::Gzip));
        assert_eq!(n("br;q=0, gzip"), Some(Encoding::Gzip));
        assert_eq!(n("*"), Some(Encoding::Br));
        assert_eq!(n("*;q=0"), None);
        assert_eq!(n("identity"), None);
        assert_eq!(n(""), None);
        assert_eq!(n("br;q=0, *"), Some(Encoding::Zstd));
        assert_eq!(n("GZIP ; Q=0.8"), Some(Encoding::Gzip));
        // A malformed q drops its element only.
        assert_eq!(n("br;q=2, gzip"), Some(Encoding::Gzip));
        assert_eq!(n("br;q=0.1234, gzip;q=0.5"), Some(Encoding::Gzip));
        assert_eq!(negotiate(None, &ALL), None);
        assert_eq!(
            negotiate(Some("br, gzip"), &[Encoding::Gzip]),
            Some(Encoding::Gzip)
        );
    }

    #[test]
    fn q_values_are_read_to_the_thousandth() {
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0.001"), Some(1));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("1.001"), None);
        assert_eq!(parse_q("0.0001"), None);
        assert_eq!(parse_q("-1"), None);
        assert_eq!(parse_q(""), None);
    }

    proptest! {
        #![proptest_config(crate::proxy::properties(512))]

        #[test]
        fn negotiation_never_panics_and_picks_only_what_the_client_names(
            header in "[a-zA-Z*0-9;=., \\t-]{0,60}"
        ) {
            if let Some(chosen) = negotiate(Some(&header), &ALL) {
                let lower = header.to_ascii_lowercase();
                prop_assert!(lower.contains(chosen.token()) || lower.contains('*'));
            }
        }

        #[test]
        fn a_named_coding_with_a_positive_q_is_accepted(q in 1u16..=1000, pick in 0usize..3) {
            let coding = ALL[pick];
            let header = format!("{};q={}.{:03}", coding.token(), q / 1000, q % 1000);
            prop_assert_eq!(negotiate(Some(&header), &ALL), Some(coding));
        }
    }

    fn decode(encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match encoding {
            Encoding::Gzip => {
                flate2::read::GzDecoder::new(bytes)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Encoding::Br => {
                brotli::Decompressor::new(bytes, 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Encoding::Zstd => {
                out = zstd::stream::decode_all(bytes).unwrap();
            }
        }
        out
    }

    #[test]
    fn every_coding_decodes_to_the_original_whole_and_flushed_midway() {
        let text: Vec<u8> = (0..20_000).map(|i| b"{\"k\": 12345},"[i % 13]).collect();
        let levels = Levels {
            gzip: 1,
            br: 1,
            zstd: 1,
        };
        for encoding in ALL {
            let whole = encode_all(encoding, levels, &text).unwrap();
            assert!(whole.len() < text.len() / 4, "{encoding:?} compressed");
            assert_eq!(decode(encoding, &whole), text, "{encoding:?} whole");
            // Flushed after the first half: the first half decodes
            // from what was handed on so far.
            let mut e = Encoder::new(encoding, levels).unwrap();
            e.write(&text[..10_000]).unwrap();
            e.flush().unwrap();
            let mut first = e.take();
            let partial;
            if encoding == Encoding::Gzip {
                let mut d = flate2::write::GzDecoder::new(Vec::new());
                d.write_all(&first).unwrap();
                d.flush().unwrap();
                partial = d.get_ref().clone();
            } else if encoding == Encoding::Zstd {
                let mut d = zstd::stream::write::Decoder::new(Vec::new()).unwrap();
                d.write_all(&first).unwrap();
                d.flush().unwrap();
                partial = d.get_ref().clone();
            } else {
                // Read until the input runs out (an error: the stream
                // has no end yet).
                let mut d = brotli::Decompressor::new(&first[..], 4096);
                let (mut out, mut buf) = (Vec::new(), [0; 1024]);
                while let Ok(n) = d.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                partial = out;
            }
            assert!(
                partial == text[..10_000],
                "{encoding:?}: {} of 10000 bytes decoded after the flush",
                partial.len()
            );
            e.write(&text[10_000..]).unwrap();
            first.extend(e.take());
            first.extend(e.finish().unwrap());
            assert_eq!(decode(encoding, &first), text, "{encoding:?} streamed");
        }
    }

    fn compress() -> Compress {
        Compress::compile(&CompressConfig::default())
            .map(Arc::unwrap_or_clone)
            .unwrap()
    }

    fn response(headers: &[(&str, &str)], body: &'static [u8]) -> Response<Body> {
        let mut resp = Response::new(Body::full(body));
        for (n, v) in headers {
            resp.headers_mut().append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        resp
    }

    static BIG: [u8; 2048] = [b'a'; 2048];

    #[test]
    fn only_eligible_responses_are_compressed_and_every_eligible_one_varies() {
        let c = compress();
        let json = [
            ("content-type", "application/json; charset=utf-8"),
            ("etag", "\"v1\""),
        ];
        let (resp, chosen) = c.apply(response(&json, &BIG), false, Some(Encoding::Gzip));
        assert_eq!(chosen, Some(Encoding::Gzip));
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        assert_eq!(resp.headers()["vary"], "Accept-Encoding");
        assert_eq!(resp.headers()["etag"], "W/\"v1\"");
        assert!(!resp.headers().contains_key("content-length"));
        // Identity for a client that accepts none, but it varies.
        let (resp, chosen) = c.apply(response(&json, &BIG), false, None);
        assert_eq!(chosen, None);
        assert_eq!(resp.headers()["vary"], "Accept-Encoding");
        assert_eq!(resp.headers()["etag"], "\"v1\"");
        for headers in [
            vec![("content-type", "image/png")],
            vec![
                ("content-type", "text/html"),
                ("cache-control", "public, no-transform"),
            ],
            vec![("content-type", "text/html"), ("content-encoding", "gzip")],
            vec![
                ("content-type", "text/html"),
                ("content-range", "bytes 0-9/2048"),
            ],
            vec![],
        ] {
            let (resp, chosen) = c.apply(response(&headers, &BIG), false, Some(Encoding::Br));
            assert_eq!(chosen, None, "{headers:?}");
            assert!(!resp.headers().contains_key("vary"), "{headers:?}");
        }
        // Below min_bytes.
        let (_, chosen) = c.apply(
            response(&[("content-type", "text/plain")], b"short"),
            false,
            Some(Encoding::Br),
        );
        assert_eq!(chosen, None);
        // A redirect is not.
        let mut moved = response(&[("content-type", "text/html")], &BIG);
        *moved.status_mut() = StatusCode::MOVED_PERMANENTLY;
        assert_eq!(c.apply(moved, false, Some(Encoding::Br)).1, None);
        // Vary kept when it names Accept-Encoding already.
        let (resp, _) = c.apply(
            response(
                &[("content-type", "text/css"), ("vary", "accept-encoding")],
                &BIG,
            ),
            false,
            Some(Encoding::Zstd),
        );
        assert_eq!(resp.headers().get_all("vary").iter().count(), 1);
    }
}
