//! Real services for integration tests: each starts on a free loopback
//! port, is waited for until it accepts connections, and is stopped when
//! dropped. A missing service binary fails the test with the command that
//! installs it; nothing passes silently.

pub mod ec2;
pub mod faults;
pub mod oidc;
pub mod proxy;
pub mod services;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `webtier` with an environment free of the caller's settings.
pub fn webtier() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_webtier"));
    for var in ["WEBTIER_CONFIG", "NO_COLOR", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// `webtier` in a private mount namespace whose `/etc/hosts` is
/// `hosts_file`: the names there resolve as public DNS would resolve them
/// for a real site (webtier's HTTP-01 preflight asks the system
/// resolver). Outside webtier, as a user would arrange it; needs root
/// (`unshare`, `mount`), as the suite runs.
pub fn webtier_resolving(hosts_file: &Path) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        r#"mount --bind "$0" /etc/hosts && exec "$@""#,
    ])
    .arg(hosts_file)
    .arg(env!("CARGO_BIN_EXE_webtier"));
    for var in ["WEBTIER_CONFIG", "NO_COLOR", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Writes a hosts file at `path` that maps each of `names` to `ip`.
pub fn hosts_file(path: &Path, ip: std::net::IpAddr, names: &[String]) {
    let text = format!(
        "127.0.0.1 localhost\n::1 localhost\n{ip} {}\n",
        names.join(" ")
    );
    std::fs::write(path, text).expect("hosts file");
}

/// Runs `webtier ARGS` in `dir` and returns its output.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    webtier()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("webtier runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `.toml` files of a corpus directory, sorted; at least `at_least`
/// (a corpus that lost its files fails instead of passing empty).
pub fn corpus(dir: &Path, at_least: usize) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= at_least,
        "{} has only {} files",
        dir.display(),
        cases.len()
    );
    cases
}

/// The exit code, with the output in the panic message when it differs.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// A program on PATH (or in the usual sbin directories), or a panic that
/// says how to install it.
pub fn require_bin(name: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed; it is needed by this test. Install it with: {install} (scripts/test.sh does this)")
        })
}

/// A program from the test virtualenv (`.venv`, or `WEBTIER_TEST_VENV`).
pub fn require_venv_bin(name: &str) -> PathBuf {
    let venv = std::env::var_os("WEBTIER_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"));
    let bin = venv.join("bin").join(name);
    if bin.is_file() {
        return bin;
    }
    panic!(
        "{} not found; it is needed by this test. Create the test virtualenv with: \
         python3 -m venv .venv && .venv/bin/pip install -r tests/apps/requirements.txt \
         (scripts/test.sh does this)",
        bin.display()
    )
}

/// Kills the daemon named by a pid file when dropped: a test that started
/// one through the proxy step and fails half-way leaves nothing running.
pub struct StopOnDrop(pub PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

/// Removes a test's system user when dropped (declare it before the
/// daemon's `StopOnDrop`, so that it is dropped after it).
pub struct RemoveUser(pub &'static str);

impl Drop for RemoveUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(self.0).output();
    }
}

/// The DER of the first certificate in a PEM text.
pub fn pem_der(pem: &str) -> Vec<u8> {
    rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
        .map(|d: rustls_pki_types::CertificateDer<'static>| d.to_vec())
        .expect("a PEM certificate")
}
