#!/usr/bin/env python3
"""Memory of idle keep-alive connections, webtier's proxy beside nginx.

For each protocol (plain HTTP/1.1; HTTP/1.1 over TLS; HTTP/2 over TLS,
chosen by ALPN), each server (one worker each, serving a 1 KiB static
file) and each N: open N connections, send one request on each and read
its response, hold them open HOLD seconds, and read the server's RSS (all
its processes); then close them and read the RSS again after SETTLE
seconds. Reported per idle connection, and as webtier ÷ nginx.

    python3 bench/connmem.py [--webtier target/release/webtier]
        [--n 1000,4000,8000] [--proto plain,tls,h2] [--servers nginx,webtier]
        [--hold 15] [--settle 60]

TLS: TLS 1.3 with an ECDSA P-256 certificate made at start (openssl),
no session resumption, the client's TLS state in this process.

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
import select
import shutil
import socket
import ssl
import struct
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


def read_http1(s):
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


def h2_frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def h2_get(s, host):
    """One GET /small on stream 1 of a new HTTP/2 connection, read to its
    end (HPACK: indexed :method GET and :scheme https, literal :path and
    :authority without Huffman)."""
    block = b"\x82\x87" + b"\x04" + bytes([len("/small")]) + b"/small" + b"\x01" + bytes([len(host)]) + host.encode()
    s.sendall(
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        + h2_frame(4, 0, 0)
        + h2_frame(1, 0x5, 1, block)  # HEADERS, END_STREAM | END_HEADERS
    )
    buf = b""
    while True:
        while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("connmem: the server closed an HTTP/2 connection")
            buf += chunk
        length = int.from_bytes(buf[:3], "big")
        kind, flags = buf[3], buf[4]
        stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
        buf = buf[9 + length:]
        if kind == 4 and not flags & 1:
            s.sendall(h2_frame(4, 1, 0))  # SETTINGS ack
        if kind == 7:
            sys.exit("connmem: the server sent GOAWAY")
        if stream == 1 and kind in (0, 1) and flags & 1:
            return


def one_request(port, host, proto, tls_context):
    s = socket.create_connection(("127.0.0.1", port))
    # As browsers and curl do. Without it, the request written after a
    # TLS 1.3 handshake waits for the ACK of the client's Finished, which
    # a server that sends no session ticket (webtier with resumption off)
    # delays 40 ms: 8,000 connections then take longer to open than the
    # idle timeout.
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if proto == "plain":
        s.sendall(f"GET /small HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        read_http1(s)
        return s
    s = tls_context[proto].wrap_socket(s, server_hostname=host)
    if s.selected_alpn_protocol() != ("h2" if proto == "h2" else "http/1.1"):
        sys.exit(f"connmem: ALPN chose {s.selected_alpn_protocol()!r} for {proto}")
    if proto == "h2":
        h2_get(s, host)
    else:
        s.sendall(f"GET /small HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        read_http1(s)
    return s


def measure(name, pids_of, port, host, proto, tls_context, n, hold, settle):
    pids = pids_of()
    base = rss_kib(pids)
    conns = [one_request(port, host, proto, tls_context) for _ in range(n)]
    time.sleep(hold)
    held = rss_kib(pids_of())
    # Every connection must still be open, or the figure is not per
    # connection: a server that closed one has sent its FIN (POLLRDHUP).
    poller = select.poll()
    for c in conns:
        poller.register(c.fileno(), select.POLLRDHUP)
    gone = select.POLLRDHUP | select.POLLHUP | select.POLLERR
    closed = sum(1 for _, ev in poller.poll(0) if ev & gone)
    if closed:
        sys.exit(f"connmem: {name} closed {closed} of {n} idle {proto} connections during the hold")
    for s in conns:
        s.close()
    time.sleep(settle)
    after = rss_kib(pids_of())
    per = (held - base) * 1024 / n
    print(
        f"{name:8} {proto:5} n={n:5}  RSS before {base / 1024:7.1f} MiB  held {held / 1024:7.1f} MiB"
        f"  per idle connection {per:8.0f} B  {settle:.0f} s after closing {after / 1024:7.1f} MiB"
        f" ({after / base:.2f}x before)",
        flush=True,
    )
    return per, base, after


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--webtier", default="target/release/webtier")
    ap.add_argument("--n", default="1000,4000,8000")
    ap.add_argument("--proto", default="plain,tls,h2")
    ap.add_argument("--servers", default="nginx,webtier", help="which to measure (an A/B of webtier builds: webtier only)")
    ap.add_argument("--hold", type=float, default=15)
    ap.add_argument("--settle", type=float, default=60)
    args = ap.parse_args()
    unknown = sorted(set(args.servers.split(",")) - {"nginx", "webtier"})
    if unknown:
        sys.exit(f"connmem: --servers: unknown {', '.join(unknown)} (choose from nginx, webtier)")
    counts = [int(x) for x in args.n.split(",")]
    protos = args.proto.split(",")
    if any(p not in ("plain", "tls", "h2") for p in protos):
        sys.exit("connmem: --proto takes plain, tls and h2")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(counts) * 2 + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    if not os.access(args.webtier, os.X_OK):
        sys.exit(f"connmem: no webtier binary at {args.webtier} (cargo build --release, or --webtier)")
    for tool in ("nginx", "openssl"):
        if not shutil.which(tool):
            sys.exit(f"connmem: {tool} is missing — apt-get install -y {tool}")
    work = tempfile.mkdtemp(prefix="connmem-")
    # nginx's worker serves as nobody: the files must be readable by all.
    os.chmod(work, 0o755)
    www = os.path.join(work, "www")
    os.makedirs(www, mode=0o755)
    with open(os.path.join(www, "small"), "w") as f:
        f.write("x" * 1024)
    host, plain_host = "s.test", "p.test"
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-days", "2", "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    os.chmod(cert, 0o644)
    os.chmod(key, 0o644)
    tls_context = {}
    for proto, alpn in (("tls", "http/1.1"), ("h2", "h2")):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.set_alpn_protocols([alpn])
        ctx.options |= ssl.OP_NO_TICKET
        tls_context[proto] = ctx
    results = {}

    # nginx, one worker, keep-alive long enough to hold them.
    nport, nsport = free_port(), free_port()
    nconf = os.path.join(work, "nginx.conf")
    with open(nconf, "w") as f:
        f.write(
            f"worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
            f"events {{ worker_connections {want}; }}\n"
            f"http {{ access_log off; keepalive_timeout 300s; keepalive_requests 100000;\n"
            f"  server {{ listen 127.0.0.1:{nport}; listen 127.0.0.1:{nsport} ssl http2; server_name {host} {plain_host}; root {www};\n"
            f"    ssl_certificate {cert}; ssl_certificate_key {key}; ssl_protocols TLSv1.3;\n"
            f"    ssl_session_tickets off; ssl_session_cache off; }} }}\n"
        )

    # webtier's proxy, one worker, idle timeouts long enough to hold them.
    wport, wsport, aport = free_port(), free_port(), free_port()
    wconf = os.path.join(work, "proxy.toml")
    os.makedirs(os.path.join(work, "challenge"))
    with open(wconf, "w") as f:
        f.write(
            f'version = 1\nhttp_listen = ["127.0.0.1:{wport}"]\nhttps_listen = ["127.0.0.1:{wsport}"]\n'
            f'challenge_dir = "{work}/challenge"\nworkers = 1\nadmin_listen = "127.0.0.1:{aport}"\n'
            f"hsts_max_age = 0\ntls_session_resumption = false\n"
            f"[limits]\nmax_connections = {want}\n"
            f"[timeouts]\nheader_read_ms = 300000\nhttp2_idle_ms = 300000\n"
            f'[[site]]\nnames = ["{host}"]\ntls = {{ cert = "{cert}", key = "{key}" }}\n'
            f'[[site.route]]\npath = "/"\nroot = "{www}"\n'
            # plain HTTP to a TLS site is redirected: a plain site for it
            f'[[site]]\nnames = ["{plain_host}"]\n[[site.route]]\npath = "/"\nroot = "{www}"\n'
        )

    servers = {
        "nginx": (["nginx", "-c", nconf, "-p", work], nport, nsport),
        "webtier": ([args.webtier, "proxy", "run", "--file", wconf], wport, wsport),
    }
    # A fresh server for every measurement: what one left behind (glibc
    # keeps freed memory) is no part of the next.
    wanted = args.servers.split(",")
    for server, (command, port, tls_port) in servers.items():
        if server not in wanted:
            continue
        for proto in protos:
            port_, name = (port, plain_host) if proto == "plain" else (tls_port, host)
            for n in counts:
                proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    wait_port(port)
                    wait_port(tls_port)
                    # One request first, so that the baseline has what
                    # any first request sets up (TLS, caches).
                    one_request(port_, name, proto, tls_context).close()
                    time.sleep(1)
                    results[(server, proto, n)] = measure(
                        server, lambda: tree(proc.pid), port_, name, proto, tls_context, n, args.hold, args.settle
                    )
                finally:
                    proc.terminate()
                    proc.wait()

    if not {"nginx", "webtier"} <= set(wanted):
        # One server: its lines above are the result; no ratio to make.
        shutil.rmtree(work, ignore_errors=True)
        return
    print("\n| protocol | N | webtier B/conn | nginx B/conn | webtier ÷ nginx | webtier RSS after closing ÷ before |")
    print("|---|---|---|---|---|---|")
    for proto in protos:
        for n in counts:
            w, wb, wa = results[("webtier", proto, n)]
            g, _, _ = results[("nginx", proto, n)]
            print(f"| {proto} | {n} | {w:.0f} | {g:.0f} | {w / g if g > 0 else float('inf'):.1f}x | {wa / wb:.2f}x |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
