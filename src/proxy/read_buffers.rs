//! Buffers that file chunks are read into, reused within a worker.
//!
//! A static response is read in 64 KiB chunks, and each chunk is handed to
//! hyper as `Bytes` that it drops once the client's socket took it. A fresh
//! allocation per chunk costs twice: jemalloc serves 64 KiB from its large
//! size classes (extent split, coalesce and an arena lock per malloc and
//! free, about 4% of the worker's samples in a 100 KiB file load), and the
//! new memory is cold in the cache when the kernel copies it into the
//! socket. Here a dropped chunk's buffer goes back to its worker's free list
//! (last in, first out, so the next read lands in memory the cache still
//! holds), and at most `KEEP` idle buffers are kept per worker thread.
//!
//! Measured on static 100 KiB (`bench/proxy.sh`), see bench/README-proxy.md.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};

use bytes::Bytes;

/// The size of every buffer: the most a file read asks for at once.
pub const CHUNK: usize = 64 * 1024;

/// Idle buffers kept per worker thread (256 KiB in all).
const KEEP: usize = 4;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `CHUNK` bytes, zeroed once when it is first made; reads
/// overwrite it, so reuse needs no clearing.
fn take() -> Vec<u8> {
    FREE.with(|free| free.borrow_mut().pop())
        .unwrap_or_else(|| vec![0; CHUNK])
}

/// The bytes of one read; its buffer returns to the free list on drop.
struct Chunk {
    buf: Vec<u8>,
    len: usize,
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        // `try_with`: a chunk dropped while its thread exits is freed.
        let _ = FREE.try_with(|free| {
            let mut free = free.borrow_mut();
            if free.len() < KEEP {
                free.push(buf);
            }
        });
    }
}

/// Reads at most `want` bytes (capped at `CHUNK`) from `file`; empty at
/// the end of the file.
pub fn read(file: &mut File, want: usize) -> io::Result<Bytes> {
    let mut buf = take();
    let read = file.read(&mut buf[..want.min(CHUNK)]);
    let chunk = Chunk {
        buf,
        len: *read.as_ref().unwrap_or(&0),
    };
    read?;
    Ok(match chunk.len {
        0 => Bytes::new(),
        _ => Bytes::from_owner(chunk),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn free_count() -> usize {
        FREE.with(|free| free.borrow().len())
    }

    #[test]
    fn chunks_read_the_file_and_their_buffers_are_reused_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(3 * CHUNK + 100)).map(|i| (i % 251) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&data)
            .unwrap();
        let mut file = File::open(&path).unwrap();
        FREE.with(|free| free.borrow_mut().clear());

        // All chunks held at once: each needs its own buffer.
        let mut chunks = Vec::new();
        loop {
            let chunk = read(&mut file, CHUNK).unwrap();
            if chunk.is_empty() {
                break;
            }
            chunks.push(chunk);
        }
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks.concat(), data);
        // The read that found the end gave its buffer straight back.
        assert_eq!(free_count(), 1);
        drop(chunks);
        assert_eq!(free_count(), KEEP);

        // A short read asked for is short, and uses a buffer from the list.
        let mut file = File::open(&path).unwrap();
        let chunk = read(&mut file, 10).unwrap();
        assert_eq!(&chunk[..], &data[..10]);
        assert_eq!(free_count(), 3);
        drop(chunk);

        // Never more than KEEP idle.
        let held: Vec<_> = (0..KEEP + 3).map(|_| take()).collect();
        assert_eq!(free_count(), 0);
        for buf in held {
            drop(Chunk { buf, len: 0 });
        }
        assert_eq!(free_count(), KEEP);
    }
}
