//! Content types of static files, by extension (mime_guess), memoized per
//! thread, and which of them are worth a precompressed sibling.

use std::path::Path;

use http::header::HeaderValue;

thread_local! {
    /// Content-Type by file extension, worked out once per thread.
    static TYPES: std::cell::RefCell<foldhash::HashMap<Box<str>, HeaderValue>> =
        Default::default();
}

/// The Content-Type for a file name (memoized by extension).
pub fn content_type(name: &str) -> HeaderValue {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    if let Some(found) = TYPES.with(|t| t.borrow().get(ext).cloned()) {
        return found;
    }
    let value = guess_type(name);
    TYPES.with(|t| {
        let mut t = t.borrow_mut();
        // Extensions come from request paths: keep the table small.
        if t.len() < 512 {
            t.insert(ext.into(), value.clone());
        }
    });
    value
}

fn guess_type(name: &str) -> HeaderValue {
    let mime = mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream");
    if mime.starts_with("text/") || mime == "application/javascript" || mime == "application/json" {
        HeaderValue::from_str(&format!("{mime}; charset=utf-8"))
            .unwrap_or(HeaderValue::from_static("application/octet-stream"))
    } else {
        HeaderValue::from_static(mime)
    }
}

/// Types worth looking for `.br`/`.gz` siblings of.
pub fn compressible(mime: &HeaderValue) -> bool {
    let m = mime.as_bytes();
    m.starts_with(b"text/")
        || m.starts_with(b"application/javascript")
        || m.starts_with(b"application/json")
        || m.starts_with(b"application/xml")
        || m.starts_with(b"image/svg+xml")
        || m.starts_with(b"application/wasm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_carry_a_charset() {
        assert_eq!(content_type("a.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a.png"), "image/png");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
