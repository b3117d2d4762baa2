//! Serving never as root. Started as root with `user` set, the daemon
//! binds its listeners (ports below 1024 need root or
//! `CAP_NET_BIND_SERVICE`) and then becomes that user, with its primary
//! group and no supplementary groups, before it reads a request. glibc's
//! `setuid` changes every thread of the process, so the allocator's
//! background threads are not left behind as root. Once changed, regaining
//! root must fail; the daemon checks that it does.
//!
//! Under systemd the unit starts the daemon as its user directly (with
//! `CAP_NET_BIND_SERVICE` as an ambient capability), and nothing changes
//! here. Started by another user, the daemon runs as that user.

use anyhow::{Context, Result, anyhow, bail};
use nix::unistd::{Gid, Uid, User};

/// Who the daemon serves as, after `drop_to`.
#[derive(Debug, PartialEq, Eq)]
pub enum Serving {
    /// Was root; now this user.
    Changed { user: String, uid: u32 },
    /// Was not root: unchanged.
    Unchanged { uid: u32 },
    /// Root with no `user` configured.
    AsRoot,
}

/// Becomes `user` when running as root.
pub fn drop_to(user: Option<&str>) -> Result<Serving> {
    let euid = nix::unistd::geteuid();
    if !euid.is_root() {
        return Ok(Serving::Unchanged { uid: euid.as_raw() });
    }
    let Some(name) = user else {
        return Ok(Serving::AsRoot);
    };
    let entry = User::from_name(name)
        .with_context(|| format!("cannot look up the proxy user {name}"))?
        .ok_or_else(|| {
            anyhow!(
                "the proxy user {name} does not exist — create it with `useradd --system --user-group --no-create-home --shell /usr/sbin/nologin {name}` (the proxy step does) or set `user` to an existing one"
            )
        })?;
    if entry.uid.is_root() {
        bail!("the proxy user {name} is root; set `user` to an unprivileged user");
    }
    nix::unistd::setgroups(&[entry.gid]).context("cannot drop supplementary groups")?;
    nix::unistd::setgid(entry.gid)
        .with_context(|| format!("cannot change to group {}", entry.gid))?;
    nix::unistd::setuid(entry.uid).with_context(|| format!("cannot change to user {name}"))?;
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok()
        || nix::unistd::setgid(Gid::from_raw(0)).is_ok()
    {
        bail!("could regain root after changing to {name}; refusing to serve");
    }
    Ok(Serving::Changed {
        user: name.to_string(),
        uid: entry.uid.as_raw(),
    })
}
