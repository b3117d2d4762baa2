//! File writes that never leave a half-written file behind.

use std::fs::{self, File, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};

/// Replaces `path` with `contents` atomically: a temporary file in the same
/// directory is written, flushed to disk and renamed over the target, then
/// the directory entry is flushed. Readers see the old or the new file,
/// never a mix. An existing file keeps its mode and (when permitted) its
/// owner; a new file gets `new_mode`. Missing parent directories are created.
/// A symlink is followed: its target is replaced, the link stays.
pub fn atomic_write(path: &Path, contents: &[u8], new_mode: u32) -> Result<()> {
    write(path, contents, new_mode, false)
}

/// Like [`atomic_write`], but the file always ends up with `mode` (for
/// files that must stay private, such as saved plans).
pub fn atomic_write_with_mode(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    write(path, contents, mode, true)
}

/// Whether this process may write a file at `path`: its directory, or the
/// nearest one that exists (the write creates the rest), allows it. Steps
/// check this before a run's first change (`Step::check_apply`), so that a
/// run without the rights stops before anything is changed, not half-way.
pub fn check_writable(path: &Path) -> Result<()> {
    use rustix::fs::{Access, AtFlags, CWD, accessat};
    let mut dir = path.parent();
    while let Some(d) = dir {
        let d = if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        };
        if d.exists() || d == Path::new(".") {
            return accessat(CWD, d, Access::WRITE_OK | Access::EXEC_OK, AtFlags::EACCESS)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot write {}: {} is not writable by this user ({e}) — run as root (sudo), or choose a path this user can write",
                        path.display(),
                        d.display()
                    )
                });
        }
        dir = d.parent();
    }
    Ok(())
}

/// Opens `path` for appending (a log), creating it with `new_mode`; an
/// existing file keeps the mode it has.
pub fn open_append(path: &Path, new_mode: u32) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(new_mode)
        .open(path)
}

fn write(path: &Path, contents: &[u8], new_mode: u32, force_mode: bool) -> Result<()> {
    let resolved;
    let path = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = fs::canonicalize(path).with_context(|| {
                format!(
                    "{} is a symlink whose target cannot be resolved",
                    path.display()
                )
            })?;
            resolved.as_path()
        }
        _ => path,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let existing = match fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };

    let mut tmp = tempfile::Builder::new()
        .prefix(".webtier-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let mode = match &existing {
        Some(m) if !force_mode => m.mode() & 0o7777,
        _ => new_mode,
    };
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .with_context(|| {
            format!(
                "cannot set permissions on a temporary file in {}",
                dir.display()
            )
        })?;
    if let Some(meta) = &existing {
        // Keeping the owner needs privileges we may not have; the mode is
        // what matters for access, so a refusal here is not an error.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write a temporary file in {}", dir.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| {
            format!(
                "{} was replaced, but flushing its directory {} to disk failed",
                path.display(),
                dir.display()
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_file_with_mode_and_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file.toml");
        atomic_write(&path, b"one\n", 0o640).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one\n");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o640);
    }

    #[test]
    fn symlinks_are_followed_and_forced_modes_applied() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.toml");
        let link = dir.path().join("link.toml");
        fs::write(&target, b"old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        atomic_write(&link, b"new", 0o644).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");

        fs::set_permissions(&target, Permissions::from_mode(0o644)).unwrap();
        atomic_write_with_mode(&target, b"private", 0o600).unwrap();
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn replacing_keeps_the_existing_mode_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.toml");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        atomic_write(&path, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.toml")]);
    }
}
