//! Small static files kept in memory, per worker thread, and checked
//! against the disk on every request: a hit costs one `fstatat` instead of
//! `openat2`, `fstat`, `read` and `close`.
//!
//! A file is served from memory only while the path still names the same
//! inode with the same size, modification and change times as when it was
//! read through the root's `RESOLVE_BENEATH` open. Any write, `chmod`,
//! rename or replacement changes the change time, so the next request reads
//! the file again. Files changed in the last [`SETTLE`] are not kept: a
//! change in the same clock tick as the read could otherwise go unnoticed
//! (the "racy clean" problem git also guards against), and a file that is
//! being written is not captured half-written.
//!
//! What the stamp cannot see, a directory above the file moved out of the
//! root and symlinked back in, lasts at most [`REOPEN`]: every kept file is
//! opened through the root again that often. Roots on network or FUSE
//! filesystems, whose `stat` may answer from an attribute cache, keep
//! nothing (`StaticRoot` checks the filesystem once, when it opens the
//! root).

use std::cell::RefCell;
// Looked up on every request: foldhash (seeded per process), not SipHash.
use foldhash::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rustix::fs::Stat;

/// Files larger than this are not kept.
pub const MAX_FILE: u64 = 64 * 1024;
/// What one worker keeps at most (contents and paths); past it the cache
/// starts over.
const MAX_BYTES: usize = 4 * 1024 * 1024;
const MAX_ENTRIES: usize = 4096;
/// How long a file must have been left alone before it is kept.
const SETTLE: Duration = Duration::from_secs(2);
/// How long a kept file is served on its stamp alone before it is opened
/// through the root again.
pub const REOPEN: Duration = Duration::from_secs(10);

/// Filesystems whose `stat` answers from the local inode: ext2/3/4, XFS,
/// Btrfs, tmpfs, ramfs, overlayfs, F2FS, ZFS, bcachefs, EROFS, SquashFS.
const LOCAL_FILESYSTEMS: [u32; 11] = [
    0xEF53,
    0x5846_5342,
    0x9123_683E,
    0x0102_1994,
    0x8584_58F6,
    0x794C_7630,
    0xF2F5_2010,
    0x2FC1_2FC1,
    0xCA45_1A4E,
    0xE0F5_E1E2,
    0x7371_7368,
];

/// May files of a filesystem with this `statfs` type be kept?
pub fn keeps_files_of(fs_type: u32) -> bool {
    LOCAL_FILESYSTEMS.contains(&fs_type)
}

/// What identifies one version of a file's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    pub fn of(stat: &Stat) -> Stamp {
        Stamp {
            dev: stat.st_dev,
            ino: stat.st_ino,
            len: stat.st_size as u64,
            mtime: (stat.st_mtime, stat.st_mtime_nsec as i64),
            ctime: (stat.st_ctime, stat.st_ctime_nsec as i64),
        }
    }

    /// Was the file last changed at least [`SETTLE`] before `now`?
    fn settled(&self, now: SystemTime) -> bool {
        let Ok(now) = now.duration_since(UNIX_EPOCH) else {
            return false;
        };
        let changed = self.mtime.max(self.ctime);
        let settled = now.saturating_sub(SETTLE);
        let settled = (settled.as_secs() as i64, i64::from(settled.subsec_nanos()));
        changed < settled
    }
}

/// A kept file: its content and the version it was read at.
#[derive(Clone)]
pub struct Entry {
    pub stamp: Stamp,
    pub content: Bytes,
    /// When it was last read through the root.
    pub opened: Instant,
}

#[derive(Default)]
struct Cache {
    /// By root, then by path under it.
    roots: HashMap<u64, HashMap<Box<str>, Entry>>,
    bytes: usize,
    entries: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::default();
}

/// What is kept for `rel` under root `root`, if it was opened through the
/// root less than [`REOPEN`] ago. No system call: the caller checks the
/// entry's stamp against the disk.
pub fn get(root: u64, rel: &str, now: Instant) -> Option<Entry> {
    let entry = CACHE.with(|c| c.borrow().roots.get(&root)?.get(rel).cloned())?;
    (now.saturating_duration_since(entry.opened) < REOPEN).then_some(entry)
}

/// Keeps `content`, read at `stamp`, if the file qualifies.
pub fn put(root: u64, rel: &str, stamp: Stamp, content: &Bytes, now: SystemTime) {
    if content.len() as u64 > MAX_FILE || !stamp.settled(now) {
        return;
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.bytes + content.len() + rel.len() > MAX_BYTES || c.entries >= MAX_ENTRIES {
            *c = Cache::default();
        }
        let entry = Entry {
            stamp,
            content: content.clone(),
            opened: Instant::now(),
        };
        let old = c.roots.entry(root).or_default().insert(rel.into(), entry);
        c.bytes += content.len() + rel.len();
        c.entries += 1;
        if let Some(old) = old {
            c.bytes -= old.content.len() + rel.len();
            c.entries -= 1;
        }
    });
}

/// Forgets `rel`: the disk has a different version, or none.
pub fn forget(root: u64, rel: &str) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(old) = c.roots.get_mut(&root).and_then(|files| files.remove(rel)) {
            c.bytes -= old.content.len() + rel.len();
            c.entries -= 1;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(ctime: i64) -> Stamp {
        Stamp {
            dev: 1,
            ino: 2,
            len: 3,
            mtime: (ctime, 0),
            ctime: (ctime, 0),
        }
    }

    #[test]
    fn only_files_left_alone_for_a_while_are_kept() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let content = Bytes::from_static(b"abc");
        put(7, "fresh", stamp(999), &content, now);
        assert!(
            get(7, "fresh", Instant::now()).is_none(),
            "changed a second ago"
        );
        put(7, "old", stamp(900), &content, now);
        let entry = get(7, "old", Instant::now()).unwrap();
        assert_eq!(entry.stamp, stamp(900));
        assert_eq!(entry.content, content);
        assert!(get(8, "old", Instant::now()).is_none(), "another root");
        assert!(
            get(7, "old", Instant::now() + REOPEN).is_none(),
            "opened through the root again after REOPEN"
        );
        forget(7, "old");
        assert!(get(7, "old", Instant::now()).is_none());
    }

    #[test]
    fn large_files_are_not_kept_and_a_full_cache_starts_over() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let big = Bytes::from(vec![0u8; MAX_FILE as usize + 1]);
        put(1, "big", stamp(1), &big, now);
        assert!(get(1, "big", Instant::now()).is_none());
        let file = Bytes::from(vec![0u8; MAX_FILE as usize]);
        // Each entry counts its path too.
        let fit = MAX_BYTES / (MAX_FILE as usize + 8);
        for i in 0..fit {
            put(1, &i.to_string(), stamp(1), &file, now);
        }
        assert!(get(1, "0", Instant::now()).is_some());
        put(1, "one more", stamp(1), &file, now);
        assert!(get(1, "0", Instant::now()).is_none(), "started over");
        assert!(get(1, "one more", Instant::now()).is_some());
    }
}
