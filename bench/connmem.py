#!/usr/bin/env python3
"""Memory of idle keep-alive connections, webtier's proxy beside nginx.

For each server (one worker each, serving a 1 KiB static file over plain
HTTP/1.1) and each N: open N connections, send one request on each and
read its response, hold them open HOLD seconds, and read the server's
RSS (all its processes); then close them and read the RSS again after
SETTLE seconds. Reported per idle connection, and as webtier ÷ nginx.

    python3 bench/connmem.py [--webtier target/release/webtier]
        [--n 1000,4000,8000] [--hold 15] [--settle 60]

HOLD is longer than webtier's wait before it parks a connection (1 s)
plus jemalloc's decay of freed pages (10 s), so the figure is what an
idle connection keeps, not what it had while serving; SETTLE is the
issue's "memory comes back within a minute". Needs nginx, and a file
descriptor limit above the largest N (each connection costs one here
and one in the server).
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def tree(pid):
    """The pid and its descendants (nginx's worker)."""
    out = [pid]
    try:
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True
        ).stdout.split()
    except FileNotFoundError:
        children = []
    for c in children:
        out.extend(tree(int(c)))
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"connmem: nothing listens on {port}")


def one_request(port, host):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET /small HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connmem: the server closed a connection")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit(f"connmem: not a 200: {head[:80]!r}")
    length = next(
        int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += s.recv(65536)
    return s


def measure(name, pids_of, port, host, n, hold, settle):
    pids = pids_of()
    base = rss_kib(pids)
    conns = [one_request(port, host) for _ in range(n)]
    time.sleep(hold)
    held = rss_kib(pids_of())
    for s in conns:
        s.close()
    time.sleep(settle)
    after = rss_kib(pids_of())
    per = (held - base) * 1024 / n
    print(
        f"{name:8} n={n:5}  RSS before {base / 1024:7.1f} MiB  held {held / 1024:7.1f} MiB"
        f"  per idle connection {per:8.0f} B  {settle:.0f} s after closing {after / 1024:7.1f} MiB"
        f" ({after / base:.2f}x before)",
        flush=True,
    )
    return per, base, after


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--webtier", default="target/release/webtier")
    ap.add_argument("--n", default="1000,4000,8000")
    ap.add_argument("--hold", type=float, default=15)
    ap.add_argument("--settle", type=float, default=60)
    args = ap.parse_args()
    counts = [int(x) for x in args.n.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(counts) * 2 + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    if not shutil.which("nginx"):
        sys.exit("connmem: nginx is missing — apt-get install -y nginx")
    work = tempfile.mkdtemp(prefix="connmem-")
    # nginx's worker serves as nobody: the files must be readable by all.
    os.chmod(work, 0o755)
    www = os.path.join(work, "www")
    os.makedirs(www, mode=0o755)
    with open(os.path.join(www, "small"), "w") as f:
        f.write("x" * 1024)
    host = "s.test"
    results = {}

    # nginx, one worker, its defaults for keep-alive.
    nport = free_port()
    nconf = os.path.join(work, "nginx.conf")
    with open(nconf, "w") as f:
        f.write(
            f"worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
            f"events {{ worker_connections {want}; }}\n"
            f"http {{ access_log off; keepalive_timeout 300s; keepalive_requests 100000;\n"
            f"  server {{ listen 127.0.0.1:{nport}; server_name {host}; root {www}; }} }}\n"
        )
    nginx = subprocess.Popen(["nginx", "-c", nconf, "-p", work], stderr=subprocess.DEVNULL)
    try:
        wait_port(nport)
        for n in counts:
            results[("nginx", n)] = measure("nginx", lambda: tree(nginx.pid), nport, host, n, args.hold, args.settle)
    finally:
        nginx.terminate()
        nginx.wait()

    # webtier's proxy, one worker, header_read long enough to hold them.
    wport, aport = free_port(), free_port()
    wconf = os.path.join(work, "proxy.toml")
    os.makedirs(os.path.join(work, "challenge"))
    with open(wconf, "w") as f:
        f.write(
            f'version = 1\nhttp_listen = ["127.0.0.1:{wport}"]\nhttps_listen = []\n'
            f'challenge_dir = "{work}/challenge"\nworkers = 1\nadmin_listen = "127.0.0.1:{aport}"\n'
            f"[limits]\nmax_connections = {want}\n[timeouts]\nheader_read_ms = 300000\n"
            f'[[site]]\nnames = ["{host}"]\n[[site.route]]\npath = "/"\nroot = "{www}"\n'
        )
    proxy = subprocess.Popen(
        [args.webtier, "proxy", "run", "--file", wconf],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(wport)
        for n in counts:
            results[("webtier", n)] = measure("webtier", lambda: tree(proxy.pid), wport, host, n, args.hold, args.settle)
    finally:
        proxy.terminate()
        proxy.wait()

    print("\n| N | webtier B/conn | nginx B/conn | webtier ÷ nginx | webtier RSS after closing ÷ before |")
    print("|---|---|---|---|---|")
    for n in counts:
        w, wb, wa = results[("webtier", n)]
        g, _, _ = results[("nginx", n)]
        print(f"| {n} | {w:.0f} | {g:.0f} | {w / g if g > 0 else float('inf'):.1f}x | {wa / wb:.2f}x |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
