//! Static files under a root directory. tower-http's ServeDir was the
//! first choice, but it has no ETag/If-None-Match, follows symlinks out of
//! the root, and sends every open/stat/read through the blocking pool
//! (a thread hop per request). This serves with one `openat2` under the
//! root's directory handle (`RESOLVE_BENEATH`: the kernel refuses any path,
//! symlink included, that leaves the root), one `fstat` and plain reads.
//! Small files are then kept in memory and checked with one `fstatat` per
//! request (`file_cache`).

pub mod cache;
pub mod mime;
pub mod path;

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};

use crate::proxy::body::{Body, FileChunks};
use crate::proxy::request::pages;
use cache::Stamp;
use mime::{compressible, content_type};
use path::{Refused, relative_path};

use crate::proxy::http::range::{RangeAnswer, parse_range};

/// Files up to this size are read into one buffer (and may be kept in
/// memory); larger ones stream.
const SMALL_FILE: u64 = cache::MAX_FILE;

/// A root directory, held open: renaming or replacing the path later does
/// not move what is served until the next reload.
pub struct StaticRoot {
    dir: OwnedFd,
    path: PathBuf,
    /// Names this root's files in the cache; never reused, so a reloaded
    /// root starts with nothing kept.
    id: u64,
    /// On a local filesystem: small files may be kept in memory.
    keep: bool,
}

impl StaticRoot {
    pub fn open(path: &Path) -> io::Result<StaticRoot> {
        let dir = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let keep =
            rustix::fs::fstatfs(&dir).is_ok_and(|fs| cache::keeps_files_of(fs.f_type as u32));
        Ok(StaticRoot {
            dir,
            path: path.to_path_buf(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            keep,
        })
    }

    /// `rel` (already checked by [`relative_path`]) under the root: a kept
    /// copy while the disk still has that version, else opened beneath the
    /// root. None for anything but a regular file or a directory.
    /// `now` is the request's clock reading.
    fn load(&self, rel: &str, now: Instant) -> io::Result<Option<Found>> {
        if let Some(kept) = self.keep.then(|| cache::get(self.id, rel, now)).flatten() {
            match rustix::fs::statat(&self.dir, rel, AtFlags::empty()) {
                Ok(stat) if Stamp::of(&stat) == kept.stamp => {
                    return Ok(Some(Found::file(&stat, Content::Memory(kept.content))));
                }
                _ => cache::forget(self.id, rel),
            }
        }
        let file = self.open_beneath(rel)?;
        let stat = rustix::fs::fstat(&file)?;
        match rustix::fs::FileType::from_raw_mode(stat.st_mode) {
            rustix::fs::FileType::Directory => Ok(Some(Found::Dir)),
            rustix::fs::FileType::RegularFile if stat.st_size as u64 <= SMALL_FILE => {
                let content = Bytes::from(read_whole(&file, stat.st_size as usize)?);
                if self.keep {
                    cache::put(self.id, rel, Stamp::of(&stat), &content, SystemTime::now());
                }
                Ok(Some(Found::file(&stat, Content::Memory(content))))
            }
            rustix::fs::FileType::RegularFile => Ok(Some(Found::file(&stat, Content::File(file)))),
            _ => Ok(None),
        }
    }

    /// Opens `rel` (already checked by [`relative_path`]) under the root.
    fn open_beneath(&self, rel: &str) -> io::Result<File> {
        let rel = if rel.is_empty() { "." } else { rel };
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        match rustix::fs::openat2(
            &self.dir,
            rel,
            flags,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => Ok(File::from(fd)),
            Err(rustix::io::Errno::NOSYS) => self.open_checked(rel),
            Err(e) => Err(e.into()),
        }
    }

    /// Kernels before 5.6 have no openat2: resolve, then check the result
    /// is still under the root.
    fn open_checked(&self, rel: &str) -> io::Result<File> {
        let root = self.path.canonicalize()?;
        let full = root.join(rel).canonicalize()?;
        if !full.starts_with(&root) {
            return Err(io::Error::from_raw_os_error(
                rustix::io::Errno::XDEV.raw_os_error(),
            ));
        }
        File::open(full)
    }
}

/// Which encodings the client takes (q > 0), from Accept-Encoding.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            q > 0.0 && (name.eq_ignore_ascii_case(coding) || name == "*")
        })
}

/// Does an If-None-Match value match `etag` (weak comparison)?
fn none_match(value: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    value.trim() == "*" || value.split(',').any(|t| bare(t) == bare(etag))
}

/// A regular file found under the root, or a directory.
enum Found {
    File(Variant),
    Dir,
}

/// Where a file's bytes come from.
enum Content {
    /// Small files: read whole (and maybe kept).
    Memory(Bytes),
    /// Larger ones, read as they are sent.
    File(File),
}

struct Variant {
    content: Content,
    len: u64,
    /// Seconds since the epoch (all that HTTP dates carry).
    mtime: u64,
    encoding: Option<&'static str>,
}

impl Found {
    /// The regular file `stat` describes, unencoded.
    fn file(stat: &rustix::fs::Stat, content: Content) -> Found {
        Found::File(Variant {
            content,
            len: stat.st_size as u64,
            mtime: u64::try_from(stat.st_mtime).unwrap_or(0),
            encoding: None,
        })
    }
}

/// Reads exactly `len` bytes from the file's current position, into memory
/// that is not zeroed first (rustix fills a `Vec`'s spare capacity).
fn read_whole(file: &File, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        match rustix::io::read(file, rustix::buffer::spare_capacity(&mut buf)) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(buf)
}

/// Serves `rest` (the URL path after the route prefix) from `root`.
/// `request_path` is the whole URL path, for directory redirects.
pub fn serve(
    root: &StaticRoot,
    method: &Method,
    request_path: &str,
    rest: &str,
    headers: &HeaderMap,
    now: Instant,
) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        let mut resp = pages::error(StatusCode::METHOD_NOT_ALLOWED);
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let mut rel = match relative_path(rest) {
        Ok(rel) => rel,
        Err(Refused::BadRequest) => return pages::error(StatusCode::BAD_REQUEST),
        Err(Refused::NotFound) => return pages::error(StatusCode::NOT_FOUND),
    };
    if rel.is_empty() || rel.ends_with('/') {
        rel.push_str("index.html");
    }
    let mut variant = match root.load(&rel, now) {
        Ok(Some(Found::File(variant))) => variant,
        Ok(Some(Found::Dir)) => {
            // Relative links inside an index page need the trailing slash.
            let mut resp = pages::error(StatusCode::MOVED_PERMANENTLY);
            if let Ok(loc) = HeaderValue::from_str(&format!("{request_path}/")) {
                resp.headers_mut().insert(header::LOCATION, loc);
            }
            return resp;
        }
        Ok(None) => return pages::error(StatusCode::NOT_FOUND),
        Err(e) => return open_error(&e),
    };
    let mime = content_type(&rel);
    let siblings = compressible(&mime);
    if siblings {
        for (coding, ext) in [("br", ".br"), ("gzip", ".gz")] {
            if !accepts(headers, coding) {
                continue;
            }
            if let Ok(Some(Found::File(sibling))) = root.load(&format!("{rel}{ext}"), now) {
                variant = Variant {
                    encoding: Some(coding),
                    ..sibling
                };
                break;
            }
        }
    }
    respond(variant, mime, siblings, method, headers)
}

fn open_error(e: &io::Error) -> Response<Body> {
    match e.raw_os_error().map(rustix::io::Errno::from_raw_os_error) {
        Some(rustix::io::Errno::ACCESS | rustix::io::Errno::PERM) => {
            pages::error(StatusCode::FORBIDDEN)
        }
        Some(rustix::io::Errno::NAMETOOLONG) => pages::error(StatusCode::URI_TOO_LONG),
        // The file was found but could not be read whole.
        Some(rustix::io::Errno::IO) => pages::error(StatusCode::INTERNAL_SERVER_ERROR),
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            pages::error(StatusCode::INTERNAL_SERVER_ERROR)
        }
        // ENOENT, ENOTDIR, and EXDEV/ELOOP for a path or symlink leading
        // out of the root: all look alike from outside.
        _ => pages::error(StatusCode::NOT_FOUND),
    }
}

/// `"MTIME-LEN[-br|-gz]"` in hex, without the formatting machinery, in a
/// string of exactly its length (so it becomes a header value without a
/// copy).
fn entity_tag(mtime: u64, len: u64, suffix: &str) -> String {
    let digits = |n: u64| (64 - n.leading_zeros()).div_ceil(4).max(1);
    let hex = |out: &mut String, n: u64| {
        for shift in (0..digits(n)).rev() {
            let d = (n >> (shift * 4)) & 0xf;
            out.push(char::from_digit(d as u32, 16).unwrap_or('0'));
        }
    };
    let size = 3 + digits(mtime) as usize + digits(len) as usize + suffix.len();
    let mut tag = String::with_capacity(size);
    tag.push('"');
    hex(&mut tag, mtime);
    tag.push('-');
    hex(&mut tag, len);
    tag.push_str(suffix);
    tag.push('"');
    tag
}

/// A header value made once, from text that is always valid.
fn value(text: String) -> HeaderValue {
    HeaderValue::from_maybe_shared(bytes::Bytes::from(text)).unwrap_or(HeaderValue::from_static(""))
}

fn respond(
    v: Variant,
    mime: HeaderValue,
    vary: bool,
    method: &Method,
    req: &HeaderMap,
) -> Response<Body> {
    let secs = v.mtime;
    let suffix = match v.encoding {
        Some("br") => "-br",
        Some(_) => "-gz",
        None => "",
    };
    let etag = entity_tag(secs, v.len, suffix);
    let last_modified = crate::proxy::http::date::format(secs);

    let mut h = HeaderMap::with_capacity(8);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if vary {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Some(coding) = v.encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }

    let text = |name: header::HeaderName| req.get(name).and_then(|h| h.to_str().ok());
    let not_modified = match text(header::IF_NONE_MATCH) {
        Some(inm) => none_match(inm, &etag),
        None => text(header::IF_MODIFIED_SINCE)
            .and_then(|ims| httpdate::parse_http_date(ims).ok())
            .is_some_and(|ims| UNIX_EPOCH + std::time::Duration::from_secs(secs) <= ims),
    };
    let range = match text(header::RANGE) {
        Some(r) if if_range_holds(text(header::IF_RANGE), &etag, &last_modified) => {
            parse_range(r, v.len)
        }
        _ => RangeAnswer::Full,
    };
    h.insert(header::ETAG, value(etag));
    h.insert(header::LAST_MODIFIED, value(last_modified));
    if not_modified {
        return Body::empty().respond(StatusCode::NOT_MODIFIED, h);
    }
    let (status, start, count) = match range {
        RangeAnswer::Full => (StatusCode::OK, 0, v.len),
        RangeAnswer::Partial { start, end } => {
            h.insert(
                header::CONTENT_RANGE,
                value(format!("bytes {start}-{end}/{}", v.len)),
            );
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeAnswer::Unsatisfiable => {
            let mut resp = pages::error(StatusCode::RANGE_NOT_SATISFIABLE);
            if let Ok(cr) = HeaderValue::from_str(&format!("bytes */{}", v.len)) {
                resp.headers_mut().insert(header::CONTENT_RANGE, cr);
            }
            return resp;
        }
    };
    h.insert(header::CONTENT_TYPE, mime);
    // The type is the extension's: a browser must not sniff another (an
    // uploaded .txt rendered as HTML).
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if method == Method::HEAD {
        // Otherwise hyper writes the length from the body's exact size.
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    }
    let body = if method == Method::HEAD || count == 0 {
        Body::empty()
    } else {
        match v.content {
            Content::Memory(bytes) => {
                Body::full(bytes.slice(start as usize..(start + count) as usize))
            }
            Content::File(mut file) => {
                if start > 0 && file.seek(SeekFrom::Start(start)).is_err() {
                    return pages::error(StatusCode::INTERNAL_SERVER_ERROR);
                }
                Body::File(FileChunks::new(file, count))
            }
        }
    };
    body.respond(status, h)
}

/// If-Range: the Range applies only while the representation is the one
/// the client has (its strong ETag or its exact Last-Modified date).
fn if_range_holds(if_range: Option<&str>, etag: &str, last_modified: &str) -> bool {
    match if_range {
        None => true,
        Some(v) => {
            let v = v.trim();
            v == etag || v == last_modified
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags_are_the_hex_of_mtime_and_length() {
        for (mtime, len) in [
            (0, 0),
            (1, 15),
            (16, 255),
            (1_700_000_000, 1024),
            (u64::MAX, 7),
        ] {
            let tag = entity_tag(mtime, len, "-gz");
            assert_eq!(tag, format!("\"{mtime:x}-{len:x}-gz\""));
            assert_eq!(tag.len(), tag.capacity());
        }
    }

    #[test]
    fn entity_tags_compare_weakly() {
        assert!(none_match("\"a\"", "\"a\""));
        assert!(none_match("W/\"a\", \"b\"", "\"a\""));
        assert!(none_match("*", "\"a\""));
        assert!(!none_match("\"b\"", "\"a\""));
    }

    #[test]
    fn accept_encoding_honours_q_zero() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, br;q=0"),
        );
        assert!(accepts(&h, "gzip"));
        assert!(!accepts(&h, "br"));
    }
}
