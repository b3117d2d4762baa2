//! Restarts without downtime: the running proxy hands its listening
//! sockets to a new process started from its binary's path (where an
//! upgrade put the new binary), which serves from them at once; then the
//! old process drains and exits. This is nginx's binary upgrade (SIGUSR2)
//! with the sockets passed over a Unix socket instead of inherited.
//!
//! On SIGUSR2 the running proxy:
//! 1. binds `proxy.handover.sock` (mode 0600) next to its pid file;
//! 2. starts its own command line again, from the path its binary had when
//!    it started, with `WEBTIER_PROXY_TAKEOVER` naming that socket;
//! 3. accepts one connection, from that child only (the peer's pid, from
//!    `SO_PEERCRED`), and sends it every listening socket (`SCM_RIGHTS`)
//!    with the names of the sites it serves;
//! 4. waits until the child says `ready` (its workers accept on those
//!    sockets), then stops accepting and drains as on SIGTERM. The child
//!    refuses to take over, instead, when it would not serve a site the
//!    old process serves (as a reload would refuse it).
//!
//! A listening socket passed this way is the same socket in both processes,
//! with one accept queue, so a connection that arrives during the switch
//! waits in the queue for whichever process accepts first. (Binding new
//! sockets with `SO_REUSEPORT` instead would lose the connections queued on
//! the old process's sockets when it closes them.) If the child fails to
//! start or is not ready within `TIMEOUT`, the old process keeps serving
//! and logs why; the child is killed if it is still there.

use std::io::{BufRead, BufReader, IoSlice, IoSliceMut, Write};
use std::mem::MaybeUninit;
use std::net::TcpListener;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

/// The environment variable that makes `proxy run` take its sockets from
/// a running proxy instead of binding them.
pub const TAKEOVER_ENV: &str = "WEBTIER_PROXY_TAKEOVER";

/// How long the new process has to connect and to be ready.
const TIMEOUT: Duration = Duration::from_secs(30);

/// At most this many sockets in one handover (the kernel's SCM_MAX_FD).
const MAX_FDS: usize = 253;

const READY: &str = "ready\n";

/// The handover socket's path for a proxy whose pid file is `pid_file`.
pub fn socket_path(pid_file: &Path) -> PathBuf {
    pid_file.with_file_name("proxy.handover.sock")
}

/// The old process's side: starts the new one and hands it `sockets`.
/// Returns once the new process serves; the caller then drains.
pub(super) async fn hand_over(
    exe: &Path,
    pid_file: &Path,
    sockets: &[OwnedFd],
    served: &[String],
) -> Result<u32> {
    if sockets.len() > MAX_FDS {
        bail!(
            "{} listening sockets are more than one handover can pass ({MAX_FDS}); restart the proxy instead",
            sockets.len()
        );
    }
    let path = socket_path(pid_file);
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("cannot bind the handover socket {}", path.display()))?;
    let _remove = RemoveOnDrop(path.clone());
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;

    let mut child = tokio::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(TAKEOVER_ENV, &path)
        .stdin(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let pid = child.id().unwrap_or(0);
    let served = tokio::select! {
        served = serve(&listener, pid, sockets, served) => served,
        status = child.wait() => Err(match status {
            Ok(status) => anyhow!("the new process exited ({status}) before it was serving; its log says why"),
            Err(e) => anyhow!("cannot watch the new process: {e}"),
        }),
    };
    if served.is_err() {
        let _ = child.start_kill();
    }
    served.map(|()| pid)
}

/// Accepts the child's connection, sends the sockets, waits for `ready`.
async fn serve(
    listener: &tokio::net::UnixListener,
    child: u32,
    sockets: &[OwnedFd],
    served: &[String],
) -> Result<()> {
    let stream = loop {
        let (stream, _) = tokio::time::timeout(TIMEOUT, listener.accept())
            .await
            .map_err(|_| anyhow!("the new process did not connect within {TIMEOUT:?}"))?
            .context("cannot accept on the handover socket")?;
        let peer = stream.peer_cred().ok().and_then(|c| c.pid());
        if peer == Some(child as i32) {
            break stream;
        }
        tracing::warn!("handover: refused a connection from pid {peer:?}, not the new process");
    };
    let stream = stream.into_std().context("handover socket")?;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let sites = serde_json::to_vec(served).expect("names serialize");
    tokio::task::spawn_blocking({
        let sockets: Vec<OwnedFd> = sockets
            .iter()
            .map(|fd| fd.try_clone())
            .collect::<std::io::Result<_>>()
            .context("cannot duplicate a listening socket")?;
        move || {
            send_fds(&stream, &sockets, &sites)?;
            let mut line = String::new();
            BufReader::new(&stream)
                .read_line(&mut line)
                .context("the new process did not say it was ready")?;
            if line != READY {
                bail!("the new process did not come up: {}", line.trim());
            }
            Ok(())
        }
    })
    .await
    .context("handover task")?
}

/// The sockets, with a header (their count, the length of what follows)
/// and the served sites' names as JSON.
fn send_fds(stream: &UnixStream, fds: &[OwnedFd], sites: &[u8]) -> Result<()> {
    let borrowed: Vec<_> = fds.iter().map(|fd| fd.as_fd()).collect();
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(borrowed.len()))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&borrowed)) {
        bail!("cannot pass {} sockets in one message", borrowed.len());
    }
    let mut header = [0u8; 8];
    header[..4].copy_from_slice(&(fds.len() as u32).to_le_bytes());
    header[4..].copy_from_slice(&(sites.len() as u32).to_le_bytes());
    let sent = rustix::net::sendmsg(
        stream,
        &[IoSlice::new(&header)],
        &mut control,
        SendFlags::empty(),
    )
    .context("cannot pass the listening sockets")?;
    if sent != header.len() {
        bail!("the handover header was cut short");
    }
    (&mut &*stream)
        .write_all(sites)
        .context("cannot pass the served sites")?;
    Ok(())
}

/// The new process's side: the sockets of the running proxy, and the
/// connection to tell it when this process serves.
pub struct Takeover {
    pub listeners: Vec<TcpListener>,
    /// The sites the old process serves.
    pub served: Vec<String>,
    stream: UnixStream,
}

impl Takeover {
    pub fn connect(path: &Path) -> Result<Takeover> {
        let stream = UnixStream::connect(path)
            .with_context(|| format!("cannot reach the running proxy at {}", path.display()))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut header = [0u8; 8];
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let got = rustix::net::recvmsg(
            &stream,
            &mut [IoSliceMut::new(&mut header)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )
        .context("cannot receive the listening sockets")?;
        let mut fds: Vec<OwnedFd> = Vec::new();
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(rights) = message {
                fds.extend(rights);
            }
        }
        let field = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
        let expected = field(0) as usize;
        if got.bytes != header.len() || fds.len() != expected {
            bail!(
                "the running proxy passed {} of {expected} sockets",
                fds.len()
            );
        }
        let mut sites = vec![0u8; field(4) as usize];
        std::io::Read::read_exact(&mut &stream, &mut sites)
            .context("cannot receive the served sites")?;
        let served = serde_json::from_slice(&sites).context("the served sites do not parse")?;
        let listeners = fds.into_iter().map(TcpListener::from).collect();
        Ok(Takeover {
            listeners,
            served,
            stream,
        })
    }

    /// Tells the old process that this one serves; it then drains.
    pub fn ready(mut self) -> Result<()> {
        self.stream
            .write_all(READY.as_bytes())
            .context("cannot tell the old proxy that this one serves")
    }

    /// Tells the old process why this one will not serve.
    pub fn failed(mut self, why: &str) {
        let line = why.replace('\n', " ");
        let _ = self.stream.write_all(format!("{line}\n").as_bytes());
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
