//! HTTP protocol helpers with no I/O: pure functions over headers and
//! buffers, each tested on its own (and the parsers under property tests).

pub mod chunked;
pub mod date;
pub mod forwarding;
pub mod hop_by_hop;
pub mod range;
