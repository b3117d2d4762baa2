//! The proxy as a service: the `proxy` step starts the daemon detached
//! (this machine has no systemd), reloads it when the configuration
//! changes, restarts it without downtime when its binary is replaced, and
//! `proxy stop` stops it; `proxy status` tells what runs. As root, the
//! daemon serves as its configured user.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::services::{Uvicorn, free_port, tempdir};
use crate::support::{RemoveUser, StopOnDrop};
use crate::support::{assert_exit, stderr, stdout};

/// The test's copy of webtier, so that an upgrade can replace it.
fn install_binary(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join("webtier");
    replace_binary(&path);
    path
}

/// Puts a fresh copy of the built webtier at `path` (a new file, renamed
/// over the old one, as a package upgrade does).
fn replace_binary(path: &Path) {
    let tmp = path.with_extension("new");
    std::fs::copy(env!("CARGO_BIN_EXE_webtier"), &tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn webtier(bin: &Path, config: &Path, args: &[&str]) -> Output {
    std::process::Command::new(bin)
        .env_remove("WEBTIER_CONFIG")
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("webtier runs")
}

/// One request on a new connection: the status line's code and the body.
fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((code, body))
}

/// The daemon's pid, from `proxy status --json`.
fn status_pid(bin: &Path, config: &Path) -> Option<i64> {
    let out = webtier(bin, config, &["--json", "proxy", "status"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status is JSON ({e}): {}", stdout(&out)));
    doc["pid"].as_i64()
}

/// The process's user and group (real, effective, saved, file system:
/// all the same), after checking that it has no supplementary group and no
/// capability left.
fn credentials(pid: i64) -> (u32, u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {status}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let one = |name: &str| {
        let ids: Vec<u32> = field(name).iter().map(|u| u.parse().unwrap()).collect();
        assert!(ids.iter().all(|u| *u == ids[0]), "{name} {ids:?}");
        ids[0]
    };
    let (uid, gid) = (one("Uid:"), one("Gid:"));
    let groups = field("Groups:");
    assert!(
        groups.is_empty() || groups == [gid.to_string()],
        "supplementary groups {groups:?}"
    );
    for caps in ["CapPrm:", "CapEff:", "CapAmb:"] {
        assert_eq!(field(caps), ["0000000000000000"], "{caps}");
    }
    (uid, gid)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_proxy_step_starts_reloads_and_upgrades_the_daemon_without_a_failed_request() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test runs the daemon as root to check that it drops to its user: run the suite as root"
    );
    // A user of the test's own, which the proxy step creates.
    const USER: &str = "webtier-it-proxy";
    let _user = RemoveUser(USER);
    assert!(
        nix::unistd::User::from_name(USER).unwrap().is_none(),
        "user {USER} is left over from an earlier run: userdel {USER}"
    );
    let app = Uvicorn::start("service-app");
    let dir = tempdir();
    // The proxy's user must reach its files.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = install_binary(dir.path());
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("hello.txt"), "hello from disk\n").unwrap();
    let (http, https) = (free_port(), free_port());
    let d = dir.path().display();
    let base = format!(
        "state_dir = \"{d}/state\"\n\n[proxy]\nconfig_file = \"{d}/proxy.toml\"\nbind = [\"127.0.0.1\"]\n\
         http_port = {http}\nhttps_port = {https}\nworkers = 2\nuser = \"{USER}\"\n\n\
         [[site]]\ndomain = \"app.test\"\ntls = \"none\"\nupstreams = [\"127.0.0.1:{}\"]\n",
        app.port
    );
    let config = dir.path().join("webtier.toml");
    std::fs::write(&config, &base).unwrap();
    let _stop = StopOnDrop(dir.path().join("state/run/proxy.pid"));
    let addr: SocketAddr = format!("127.0.0.1:{http}").parse().unwrap();
    // No step named: every step this configuration sets up, which is
    // proxy-config and proxy.
    let plan = |bin: &Path| webtier(bin, &config, &["plan", "--detailed-exitcode"]);
    let apply = |bin: &Path| {
        let out = webtier(bin, &config, &["apply", "--yes"]);
        assert_exit(&out, 0);
        out
    };

    // The plan checks the file it will run as `proxy validate` does: a
    // port held by another program is named.
    let squatter = std::net::TcpListener::bind(addr).unwrap();
    let text = stdout(&plan(&bin));
    assert!(
        text.contains(&format!(
            "http_listen 127.0.0.1:{http}: is in use by pid {}",
            std::process::id()
        )),
        "{text}"
    );
    drop(squatter);

    // Nothing runs: the plan starts the daemon, detached.
    let out = plan(&bin);
    assert_exit(&out, 2);
    let text = stdout(&out);
    assert!(text.contains("+ proxy daemon (detached)"), "{text}");
    assert!(text.contains(&format!("+ user {USER}")), "{text}");
    assert!(text.contains("directory"), "{text}");
    assert!(!text.contains("is in use"), "{text}");
    // No proxy file yet: a configuration error, as for webtier.toml.
    assert_exit(&webtier(&bin, &config, &["proxy", "status"]), 3);
    apply(&bin);
    assert_exit(&plan(&bin), 0);
    let pid = status_pid(&bin, &config).expect("the proxy runs");
    let user = nix::unistd::User::from_name(USER)
        .unwrap()
        .expect("the proxy step created the user");
    let (code, body) = get(addr, "/echo/x").unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("service-app"), "{body}");
    // Serving as its user, not as root.
    assert_eq!(credentials(pid), (user.uid.as_raw(), user.gid.as_raw()));
    let out = webtier(&bin, &config, &["proxy", "status"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains(&format!("running (pid {pid})")), "{text}");
    assert!(text.contains(&format!("http://127.0.0.1:{http}")), "{text}");

    // A new route: the plan says reload, and the same process serves it.
    std::fs::write(
        &config,
        format!(
            "{base}[[site.route]]\npath = \"/files/\"\nroot = \"{}\"\n",
            www.display()
        ),
    )
    .unwrap();
    assert_eq!(get(addr, "/files/hello.txt").unwrap().0, 404);
    let out = plan(&bin);
    assert_exit(&out, 2);
    let text = stdout(&out);
    assert!(text.contains("~ file"), "{text}");
    assert!(
        text.contains(&format!("~ proxy daemon (pid {pid}, detached)"))
            && text.contains("reload: the configuration changed"),
        "{text}"
    );
    apply(&bin);
    assert_exit(&plan(&bin), 0);
    assert_eq!(
        get(addr, "/files/hello.txt").unwrap(),
        (200, "hello from disk\n".to_string())
    );
    assert_eq!(status_pid(&bin, &config), Some(pid));

    // A broken upgrade: the new binary does not start. The apply fails and
    // says so, the old process keeps serving, and the pid file names it.
    let tmp = bin.with_extension("broken");
    std::fs::write(&tmp, "#!/bin/sh\necho broken binary >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, &bin).unwrap();
    let built = Path::new(env!("CARGO_BIN_EXE_webtier"));
    let out = webtier(built, &config, &["apply", "--yes"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("the restart failed, the old proxy keeps serving")
            && err.contains("exited (exit status: 3) before it was serving"),
        "{err}"
    );
    assert_eq!(status_pid(built, &config), Some(pid));
    assert_eq!(get(addr, "/files/hello.txt").unwrap().0, 200);

    // An upgrade replaces the binary: the plan restarts the daemon, and a
    // client hammering it meanwhile sees no failure.
    replace_binary(&bin);
    let out = plan(&bin);
    assert_exit(&out, 2);
    let text = stdout(&out);
    assert!(
        text.contains("restart without downtime") && text.contains("the binary was replaced"),
        "{text}"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    // Eight clients at once, so that connections wait in the accept queue
    // while the sockets change hands.
    let load: Vec<_> = (0..8)
        .map(|_| {
            let (stop, ok) = (Arc::clone(&stop), Arc::clone(&ok));
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match get(addr, "/files/hello.txt") {
                        Ok((200, _)) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        other => failures.push(format!("{other:?}")),
                    }
                }
                failures
            })
        })
        .collect();
    wait_until(
        "the load loop to get going",
        Duration::from_secs(10),
        || ok.load(Ordering::Relaxed) > 20,
    );
    apply(&bin);
    let new_pid = status_pid(&bin, &config).expect("the proxy runs");
    assert_ne!(new_pid, pid, "a new process serves");
    // The old one drains and exits.
    wait_until("the old proxy to exit", Duration::from_secs(20), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    let before = ok.load(Ordering::Relaxed);
    wait_until(
        "requests served by the new process",
        Duration::from_secs(10),
        || ok.load(Ordering::Relaxed) > before + 20,
    );
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = load.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the restart: {:?}",
        failures.len(),
        failures.len() + ok.load(Ordering::Relaxed),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(credentials(new_pid), (user.uid.as_raw(), user.gid.as_raw()));
    assert_exit(&plan(&bin), 0);

    // Stop: it drains and exits, and status says so.
    let out = webtier(&bin, &config, &["proxy", "stop"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("the proxy (pid {new_pid}) drained and stopped")),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(get(addr, "/").is_err(), "nothing listens any more");
    assert_exit(&webtier(&bin, &config, &["proxy", "status"]), 1);
}

/// The daemon's pid file's pid.
fn pid_in(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn a_restart_that_would_stop_serving_a_site_is_refused_and_the_old_process_serves_on() {
    use crate::support::proxy::{Proxy, raw, status_of};
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    for site in ["wa", "wb"] {
        std::fs::create_dir(d.join(site)).unwrap();
        std::fs::write(d.join(site).join("x.txt"), site).unwrap();
    }
    let body = format!(
        "[[site]]\nnames = [\"a.test\"]\n[[site.route]]\npath = \"/\"\nroot = \"{0}/wa\"\n\n\
         [[site]]\nnames = [\"b.test\"]\n[[site.route]]\npath = \"/\"\nroot = \"{0}/wb\"\n",
        d.display()
    );
    let proxy = Proxy::start_in(dir, &body);
    let pid_file = d.join("proxy.pid");
    let old = pid_in(&pid_file).expect("a pid file");
    let get = |host: &str| {
        status_of(&raw(
            proxy.http(),
            format!("GET /x.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        ))
    };
    assert_eq!((get("a.test"), get("b.test")), (200, 200));

    // b.test's root is gone: a new process would refuse the site, so it
    // does not take over, and the old one keeps serving both.
    std::fs::rename(d.join("wb"), d.join("wb.away")).unwrap();
    proxy.signal(rustix::process::Signal::USR2);
    proxy.wait_log("handover failed, this proxy keeps serving");
    let log = proxy.log();
    assert!(
        log.contains("the new process would stop serving what the old one serves: site b.test"),
        "{log}"
    );
    assert_eq!(pid_in(&pid_file), Some(old));
    assert_eq!(get("a.test"), 200);

    // With the root back, the same signal hands over.
    std::fs::rename(d.join("wb.away"), d.join("wb")).unwrap();
    proxy.signal(rustix::process::Signal::USR2);
    proxy.wait_log("serves; this one drains and exits");
    wait_until("the new pid file", Duration::from_secs(10), || {
        pid_in(&pid_file).is_some_and(|pid| pid != old)
    });
    assert_eq!((get("a.test"), get("b.test")), (200, 200));
}

/// A connection accepted just before a drain (a handover, a stop) whose
/// request has not been read yet still gets its answer, with
/// `Connection: close`, instead of a reset.
#[test]
fn a_connection_accepted_before_the_drain_still_gets_its_first_request_answered() {
    use crate::support::proxy::{Proxy, read_response};
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    std::fs::create_dir(d.join("www")).unwrap();
    std::fs::write(d.join("www/x.txt"), "x").unwrap();
    let body = format!(
        "[[site]]\nnames = [\"a.test\"]\n[[site.route]]\npath = \"/\"\nroot = \"{}/www\"\n",
        d.display()
    );
    // The request must reach the proxy after the drain began and within
    // its first-request grace (1 s). A loaded machine can delay this test
    // past that; such an attempt proves nothing and is made again.
    for _attempt in 1..=5 {
        let proxy = Proxy::start_in(tempfile::Builder::new().tempdir_in(&d).unwrap(), &body);
        let mut stream = TcpStream::connect(proxy.http()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // Accepted (the proxy counts it) before the drain begins.
        proxy.wait_metric("the open connection", |l| l == "webtier_connections 1");
        let signalled = std::time::Instant::now();
        proxy.signal(rustix::process::Signal::TERM);
        proxy.wait_log("draining in-flight requests");
        let wrote = stream.write_all(b"GET /x.txt HTTP/1.1\r\nHost: a.test\r\n\r\n");
        if signalled.elapsed() > Duration::from_millis(900) {
            continue;
        }
        wrote.unwrap();
        let mut reader = std::io::BufReader::new(stream);
        let (status, body) = read_response(&mut reader);
        assert_eq!((status, body), (200, b"x".to_vec()));
        return;
    }
    panic!(
        "5 attempts could not send a request within 900 ms of the signal: the machine is too loaded to test the grace"
    );
}
