//! HTTP protocol helpers with no I/O: pure functions over headers and
//! buffers, each tested on its own (and the parsers under property tests).

pub mod chunked;
pub mod date;
pub mod forwarding;
pub mod hop_by_hop;
pub mod range;

/// A header map of `pairs`, in order (repeated names appended), for tests.
#[cfg(test)]
fn header_map(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}
