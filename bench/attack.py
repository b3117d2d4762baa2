#!/usr/bin/env python3
"""Hostile-client attack on `webtier proxy run`, driven by bench/attack.sh.

Three attack classes run at once against a proxy that attack.sh started,
while a separate process (this file, `normal` sub-command) makes one normal
GET every ~100 ms:

  slowloris  plain HTTP: a request head trickled a few bytes at a time (one
             header line every ~2 s), never finished
  nonreader  plain HTTP: GET a large static file with SO_RCVBUF=4096 set
             before connect, and never read
  h2idle     TLS + ALPN h2: preface, empty SETTINGS, ACK the server's
             SETTINGS (and its PINGs), then no stream, only a PING a second

Every attack slot reconnects when its connection is closed, until the attack
window (--attack-s) ends; then the script waits (bounded) for the remaining
connections to be closed by the proxy. For each connection it records when
the proxy closed it, seen from both ends:

  * client side: EOF or RST on the socket (slowloris, h2idle); a non-reader
    cannot see the FIN, queued behind the response bytes the proxy's kernel
    still holds for it, until it reads: it is drained (read to EOF) as soon
    as the proxy released it, to confirm the close and the truncation;
  * proxy side: the proxy process no longer holding the socket (its inode
    from /proc/net/tcp is gone from /proc/PID/fd), sampled every 200 ms.

Standard library only. Prints a Markdown report; exit status 1 when a check
fails (see attack.sh), 2 on a setup error.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import struct
import sys
import threading
import time

NOW = time.monotonic


# --------------------------------------------------------------- helpers
def pct(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fd_inodes(pid):
    """(number of open fds, set of socket inodes) of a process."""
    d = f"/proc/{pid}/fd"
    names = os.listdir(d)
    inodes = set()
    for n in names:
        try:
            link = os.readlink(f"{d}/{n}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return len(names), inodes


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_stat():
    """Busy (not idle, not iowait) CPU seconds of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK


def proc_cpu_s(pid):
    """utime + stime of a process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def proc_fd_links(pid):
    """{target: count} of a process's fds, sockets and pipes by kind."""
    d = f"/proc/{pid}/fd"
    out = {}
    for n in os.listdir(d):
        try:
            link = os.readlink(f"{d}/{n}")
        except OSError:
            continue
        link = re.sub(r"^(socket|pipe|anon_inode:\[?[a-z_]+\]?).*", r"\1", link)
        out[link] = out.get(link, 0) + 1
    return out


def server_side_sockets(ports):
    """{(server port, client port): inode} of the sockets whose local port
    is one of `ports` (the proxy's listeners), not listening. (A client
    port alone is ambiguous: the kernel gives the same one to connections
    to different server ports.)"""
    wanted = {f"{p:04X}" for p in ports}
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, remote, st, inode = parts[1], parts[2], parts[3], parts[9]
            if st == "0A" or local[-4:] not in wanted:
                continue
            out[(int(local[-4:], 16), int(remote[-4:], 16))] = int(inode)
    return out


def sockstat():
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    v = line.split()[1:]
                    return {v[i]: int(v[i + 1]) for i in range(0, len(v), 2)}
    except OSError:
        pass
    return {}


def metric(admin_port, name):
    """One un-labelled sample from the admin listener's /metrics."""
    try:
        with socket.create_connection(("127.0.0.1", admin_port), timeout=2) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
    except OSError:
        return None
    m = re.search(rb"^" + re.escape(name.encode()) + rb" (\d+)", data, re.M)
    return int(m.group(1)) if m else None


async def http_get(host, port, path, hostname, ssl_ctx=None, timeout=5.0):
    """GET over a new connection (Connection: close); returns (status,
    body length, content-length, connected s, first byte s)."""
    t0 = NOW()

    async def go():
        r, w = await asyncio.open_connection(
            host, port, ssl=ssl_ctx, server_hostname=hostname if ssl_ctx else None
        )
        t_conn = NOW() - t0
        try:
            w.write(
                f"GET {path} HTTP/1.1\r\nHost: {hostname}\r\nUser-Agent: attack-normal\r\n"
                f"Connection: close\r\n\r\n".encode()
            )
            await w.drain()
            head = await r.readuntil(b"\r\n\r\n")
            t_head = NOW() - t0
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            clen = None
            for l in lines[1:]:
                if l.lower().startswith("content-length:"):
                    clen = int(l.split(":", 1)[1])
            body = await (r.readexactly(clen) if clen is not None else r.read())
            return status, len(body), clen, t_conn, t_head
        finally:
            w.close()
            try:
                await w.wait_closed()
            except (OSError, ssl.SSLError):
                pass

    return await asyncio.wait_for(go(), timeout)


# --------------------------------------------------- normal client (process)
def run_normal(a):
    """Runs until SIGTERM; writes JSON results to a.out."""
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    results = []  # (t since start, scheme, ok, status-or-error, latency s)
    stop = asyncio.Event()

    async def main():
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        i = 0
        while not stop.is_set():
            nxt = NOW() + a.interval
            tls = a.https and (i % 2 == 1)
            i += 1
            t = NOW()
            try:
                if tls:
                    st, n, clen, tc, th = await http_get("127.0.0.1", a.https_port, a.path, a.tls_host, ctx,
                                                         a.req_timeout)
                else:
                    st, n, clen, tc, th = await http_get("127.0.0.1", a.http_port, a.path, a.host, None,
                                                         a.req_timeout)
                ok = st == 200 and n == a.size
                what = st if n == a.size else f"{st} body {n}/{a.size}"
            except Exception as e:  # noqa: BLE001 - every failure is a result
                ok, what = False, f"{type(e).__name__}: {e}"[:120]
                tc = th = None
            results.append((t, "https" if tls else "http", ok, what, NOW() - t, tc, th))
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, nxt - NOW()))
            except asyncio.TimeoutError:
                pass

    asyncio.run(main())
    with open(a.out, "w") as f:
        json.dump(results, f)


# ------------------------------------------------------------- attack side
class Conn:
    __slots__ = (
        "kind", "slot", "t0", "t_up", "port", "t_client", "how", "t_srv",
        "srv_seen", "srv_gone", "goaway", "drained", "drain_eof", "err",
        "done", "sock", "note",
    )

    def __init__(self, kind, slot):
        self.kind, self.slot = kind, slot
        self.t0 = NOW()      # connect started
        self.t_up = None     # connected (TLS: handshake done)
        self.port = None     # (proxy's port, client's local port)
        self.t_client = None # client saw EOF / RST / write error
        self.how = None
        self.t_srv = None    # proxy no longer holds the socket (sampled)
        self.srv_seen = False
        self.srv_gone = asyncio.Event()
        self.goaway = None   # h2: when GOAWAY arrived
        self.drained = None  # nonreader: bytes read after release
        self.drain_eof = None
        self.err = None      # never connected / protocol surprise
        self.done = False
        self.sock = None
        self.note = None     # slowloris: what the proxy sent, if anything


class Attack:
    def __init__(self, a):
        self.a = a
        self.conns = []
        self.by_port = {}
        self.lock = threading.Lock()
        self.stop_new = False
        self.samples = []  # (t, rss KiB, fds, webtier_connections, orphans, tcp mem pages, proxy CPU s)
        self.sampling = True
        self.t_attack = None
        self.ssl_ctx = ssl.create_default_context(cafile=a.ca)
        self.ssl_ctx.set_alpn_protocols(["h2"])

    # -- registry
    def register(self, c):
        with self.lock:
            self.conns.append(c)
            if c.port is not None:
                self.by_port[c.port] = c

    def closed(self, c, how):
        if c.t_client is None:
            c.t_client = NOW()
            c.how = how

    def unregister(self, c):
        with self.lock:
            if self.by_port.get(c.port) is c:
                del self.by_port[c.port]

    # -- proxy-side sampler (a thread: /proc reads block)
    def sampler(self, loop):
        a = self.a
        ports = (a.http_port, a.https_port)
        while self.sampling:
            t_start = NOW()
            try:
                srv = server_side_sockets(ports)
                nfd, inodes = proc_fd_inodes(a.pid)
                t = NOW()  # a socket missing from the listing was released before now
                rss = proc_rss_kib(a.pid)
                cpu = proc_cpu_s(a.pid)
            except (OSError, StopIteration):
                break  # the proxy is gone
            with self.lock:
                live = list(self.by_port.items())
            for port, c in live:
                ino = srv.get(port)
                held = ino is not None and ino != 0 and ino in inodes
                if held:
                    c.srv_seen = True
                elif c.srv_seen and c.t_srv is None:
                    c.t_srv = t
                    loop.call_soon_threadsafe(c.srv_gone.set)
            gauge = metric(a.admin_port, "webtier_connections")
            ss = sockstat()
            self.samples.append((t, rss, nfd, gauge, ss.get("orphan", 0), ss.get("mem", 0), cpu))
            time.sleep(max(0.0, a.sample_s - (NOW() - t_start)))

    # -- attack classes
    async def slowloris(self, slot):
        a = self.a
        head = (
            f"GET {a.small_path} HTTP/1.1\r\nHost: {a.host}\r\n"
            "User-Agent: Mozilla/5.0 (slowloris)\r\nAccept: */*\r\n"
        ).encode()
        c = Conn("slowloris", slot)
        try:
            r, w = await asyncio.open_connection("127.0.0.1", a.http_port)
        except OSError as e:
            c.err = f"connect: {e}"
            self.register(c)
            return
        c.t_up = NOW()
        c.port = (a.http_port, w.get_extra_info("sockname")[1])
        c.sock = w.transport
        self.register(c)

        async def reader():
            try:
                while True:
                    b = await r.read(4096)
                    if not b:
                        self.closed(c, "EOF")
                        return
                    c.note = c.note or b.split(b"\r\n", 1)[0].decode("latin-1")[:60]
            except (ConnectionResetError, BrokenPipeError):
                self.closed(c, "RST")
            except OSError as e:
                self.closed(c, type(e).__name__)

        rt = asyncio.ensure_future(reader())
        i, n = 0, 0
        try:
            while c.t_client is None:
                if i >= len(head):  # endless extra header lines
                    head += f"X-Pad-{n}: {'a' * 8}\r\n".encode()
                    n += 1
                w.write(head[i : i + a.trickle_bytes])
                i += a.trickle_bytes
                await w.drain()
                try:
                    await asyncio.wait_for(asyncio.shield(rt), a.trickle_s)
                except asyncio.TimeoutError:
                    pass
        except (ConnectionResetError, BrokenPipeError):
            self.closed(c, "RST(write)")
        except OSError as e:
            self.closed(c, type(e).__name__)
        await self.finish(c, w, rt)

    async def nonreader(self, slot):
        a = self.a
        c = Conn("nonreader", slot)
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        s.setblocking(False)
        try:
            await loop.sock_connect(s, ("127.0.0.1", a.http_port))
            c.t_up = NOW()
            c.port = (a.http_port, s.getsockname()[1])
            c.sock = s
            self.register(c)
            await loop.sock_sendall(
                s, f"GET {a.big_path} HTTP/1.1\r\nHost: {a.host}\r\nUser-Agent: nonreader\r\n\r\n".encode()
            )
        except OSError as e:
            c.err = c.err or f"connect/send: {e}"
            if c.port is None:
                self.register(c)
            s.close()
            c.done = True
            return
        # Never read. The FIN is queued behind the bytes the proxy's kernel
        # still holds for us, so the client sees nothing until it reads:
        # watch TCP_INFO (an RST would show) and the proxy side.
        while c.t_srv is None and c.t_client is None:
            try:
                await asyncio.wait_for(c.srv_gone.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
            st = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
            if st != 1:  # not ESTABLISHED: 7 CLOSE (RST), 8 CLOSE_WAIT (FIN)
                self.closed(c, {7: "RST", 8: "FIN"}.get(st, f"state {st}"))
            if self.stop_new and NOW() > self.deadline:
                break
        if a.hold_nonreaders and (c.t_srv is not None or c.t_client is not None):
            # The hostile variant: keep never reading, past the attack window.
            while not self.stop_new:
                await asyncio.sleep(0.2)
        if c.t_srv is not None or c.t_client is not None:
            # Released: read what is left to EOF (bounded), which proves the
            # close and that the response was cut short.
            got, t_end = 0, NOW() + a.drain_s
            # A 4 KiB window that opens by a few bytes at a time is left to
            # the sender's zero-window probes (backed off to seconds): open
            # it wide first.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            try:
                while NOW() < t_end:
                    b = await asyncio.wait_for(loop.sock_recv(s, 1 << 20), max(0.01, t_end - NOW()))
                    if not b:
                        c.drain_eof = "EOF"
                        break
                    got += len(b)
            except (ConnectionResetError, BrokenPipeError):
                c.drain_eof = "RST"
            except (asyncio.TimeoutError, OSError):
                pass
            c.drained = got
            self.closed(c, c.drain_eof or "drain timeout")
        self.unregister(c)
        s.close()
        c.done = True

    async def h2idle(self, slot):
        a = self.a
        c = Conn("h2idle", slot)
        try:
            r, w = await asyncio.open_connection(
                "127.0.0.1", a.https_port, ssl=self.ssl_ctx, server_hostname=a.tls_host
            )
        except (OSError, ssl.SSLError) as e:
            c.err = f"connect/TLS: {e}"
            self.register(c)
            return
        c.t_up = NOW()
        c.port = (a.https_port, w.get_extra_info("sockname")[1])
        c.sock = w.transport
        self.register(c)
        alpn = w.get_extra_info("ssl_object").selected_alpn_protocol()
        if alpn != "h2":
            c.err = f"ALPN {alpn!r}, not h2"

        def frame(ftype, flags, sid, payload=b""):
            return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload

        async def reader():
            try:
                while True:
                    h = await r.readexactly(9)
                    ln = int.from_bytes(h[:3], "big")
                    ftype, flags = h[3], h[4]
                    payload = await r.readexactly(ln) if ln else b""
                    if ftype == 4 and not flags & 1:
                        w.write(frame(4, 1, 0))  # SETTINGS ACK
                    elif ftype == 6 and not flags & 1:
                        w.write(frame(6, 1, 0, payload))  # PING ACK (a polite client)
                    elif ftype == 7 and c.goaway is None:
                        c.goaway = NOW()
            except asyncio.IncompleteReadError:
                self.closed(c, "GOAWAY+EOF" if c.goaway else "EOF")
            except (ConnectionResetError, BrokenPipeError):
                self.closed(c, "RST")
            except (OSError, ssl.SSLError) as e:
                self.closed(c, type(e).__name__)

        rt = asyncio.ensure_future(reader())
        try:
            w.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0))
            await w.drain()
            n = 0
            while c.t_client is None:
                try:
                    await asyncio.wait_for(asyncio.shield(rt), a.ping_s)
                except asyncio.TimeoutError:
                    pass
                if c.t_client is None:
                    n += 1
                    w.write(frame(6, 0, 0, struct.pack(">Q", n)))
                    await w.drain()
        except (ConnectionResetError, BrokenPipeError):
            self.closed(c, "RST(write)")
        except (OSError, ssl.SSLError) as e:
            self.closed(c, type(e).__name__)
        await self.finish(c, w, rt)

    async def finish(self, c, w, rt):
        # Bounded wait for the reader, then close our end.
        try:
            await asyncio.wait_for(rt, 2)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001
            rt.cancel()
        # Give the sampler a moment to see the proxy side go.
        if c.t_srv is None and c.srv_seen:
            try:
                await asyncio.wait_for(c.srv_gone.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
        self.unregister(c)
        w.transport.abort()
        c.done = True

    async def slot_loop(self, kind, slot, stagger):
        fn = getattr(self, kind)
        await asyncio.sleep(stagger)
        while not self.stop_new:
            t = NOW()
            await fn(slot)
            if NOW() - t < 0.2:  # connect failures: do not spin
                await asyncio.sleep(0.2)

    async def run(self):
        a = self.a
        loop = asyncio.get_running_loop()
        th = threading.Thread(target=self.sampler, args=(loop,), daemon=True)
        th.start()
        await asyncio.sleep(a.sample_s * 2)
        lag = asyncio.ensure_future(self.lag_monitor())
        self.t_attack = NOW()
        self.deadline = self.t_attack + a.attack_s + a.close_wait_s
        tasks = []
        for kind, n in (("slowloris", a.slowloris), ("nonreader", a.nonreaders), ("h2idle", a.h2idle)):
            for i in range(n):
                # Spread the connects over the first `ramp_s` seconds.
                tasks.append(asyncio.ensure_future(self.slot_loop(kind, i, a.ramp_s * i / max(1, n))))
        await asyncio.sleep(a.attack_s)
        self.stop_new = True
        self.t_stop = NOW()
        # Wait (bounded) for every open attack connection to be closed.
        pending = [t for t in tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(0.1, self.deadline - NOW()))
        self.t_end = NOW()
        still = [c for c in self.conns if not c.done]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Close our end of whatever is left, so that what follows measures
        # whether the proxy frees it.
        for c in self.conns:
            if not c.done and c.sock is not None:
                try:
                    c.sock.abort() if hasattr(c.sock, "abort") else c.sock.close()
                except Exception:  # noqa: BLE001
                    pass
        lag.cancel()
        return still

    async def lag_monitor(self):
        """How late the attack's own event loop runs (a measuring error)."""
        self.lag = []
        while True:
            t = NOW()
            await asyncio.sleep(0.05)
            self.lag.append((t, NOW() - t - 0.05))


# ------------------------------------------------------------------ report
def fmt_s(x):
    return "—" if x is None or x != x else f"{x:.2f}"


def summarize(vals):
    if not vals:
        return "—", "—", "—"
    return fmt_s(min(vals)), fmt_s(statistics.median(vals)), fmt_s(max(vals))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("normal")
    n.add_argument("--http-port", type=int, required=True)
    n.add_argument("--https-port", type=int, required=True)
    n.add_argument("--https", type=int, default=1, help="1: alternate HTTP and HTTPS requests")
    n.add_argument("--host", default="s.test")
    n.add_argument("--tls-host", default="a.test")
    n.add_argument("--ca", required=True)
    n.add_argument("--path", default="/small.html")
    n.add_argument("--size", type=int, required=True)
    n.add_argument("--interval", type=float, default=0.1)
    n.add_argument("--req-timeout", type=float, default=5.0)
    n.add_argument("--out", required=True)

    t = sub.add_parser("attack")
    t.add_argument("--pid", type=int, required=True)
    t.add_argument("--http-port", type=int, required=True)
    t.add_argument("--https-port", type=int, required=True)
    t.add_argument("--admin-port", type=int, required=True)
    t.add_argument("--host", default="s.test")
    t.add_argument("--tls-host", default="a.test")
    t.add_argument("--ca", required=True)
    t.add_argument("--small-path", default="/small.html")
    t.add_argument("--small-size", type=int, required=True)
    t.add_argument("--big-path", default="/big.bin")
    t.add_argument("--big-size", type=int, required=True)
    t.add_argument("--header-read-ms", type=int, required=True)
    t.add_argument("--send-ms", type=int, required=True)
    t.add_argument("--http2-idle-ms", type=int, required=True)
    t.add_argument("--slowloris", type=int, default=200)
    t.add_argument("--nonreaders", type=int, default=50)
    t.add_argument("--h2idle", type=int, default=200)
    t.add_argument("--rcvbuf", type=int, default=4096)
    t.add_argument("--trickle-bytes", type=int, default=4)
    t.add_argument("--trickle-s", type=float, default=0.4)
    t.add_argument("--ping-s", type=float, default=1.0)
    t.add_argument("--attack-s", type=float, default=15)
    t.add_argument("--ramp-s", type=float, default=1.0)
    t.add_argument("--close-wait-s", type=float, default=None)
    t.add_argument("--slack-s", type=float, default=1.5)
    t.add_argument("--late-fails", type=int, default=0,
                   help="1: a connection closed later than its timeout + slack fails the run")
    t.add_argument("--drain-s", type=float, default=5.0)
    t.add_argument("--hold-nonreaders", type=int, default=0,
                   help="1: a released non-reader is drained only after the attack window, not at once")
    t.add_argument("--sample-s", type=float, default=0.2)
    t.add_argument("--settle-max-s", type=float, default=60)
    t.add_argument("--rss-ratio", type=float, default=1.25,
                   help="RSS is back when at most this times the baseline")
    t.add_argument("--rss-settle-s", type=float, default=30,
                   help="longest wait for RSS to come back once the connections have")
    t.add_argument("--normal-out", required=True, help="where the normal client writes its results")
    t.add_argument("--normal-pid-file", default=None)
    t.add_argument("--normal-https", type=int, default=1)
    t.add_argument("--title", default="")
    t.add_argument("--json", default=None)
    a = p.parse_args()

    if a.cmd == "normal":
        run_normal(a)
        return 0

    timeouts = {"slowloris": a.header_read_ms / 1000, "nonreader": a.send_ms / 1000,
                "h2idle": a.http2_idle_ms / 1000}
    # What the proxy promises, from the connection's start: the head within
    # header_read_ms; no progress for send_ms (filling the buffers takes
    # milliseconds); http2_idle_ms after the handshake, then GOAWAY and the
    # close within the 1 s GOAWAY grace (src/proxy/drain.rs).
    bound = {"slowloris": timeouts["slowloris"], "nonreader": timeouts["nonreader"],
             "h2idle": timeouts["h2idle"] + 1.0}
    if a.close_wait_s is None:
        a.close_wait_s = max(bound.values()) + a.slack_s + a.drain_s + 5

    # ---- baseline (attack.sh made one warm-up request per scheme already)
    time.sleep(0.5)
    base_rss = proc_rss_kib(a.pid)
    base_fds, _ = proc_fd_inodes(a.pid)
    base_links = proc_fd_links(a.pid)
    base_conns = metric(a.admin_port, "webtier_connections")
    base_refused = metric(a.admin_port, "webtier_refused_connections_total")
    base_ss = sockstat()
    base_load = open("/proc/loadavg").read().split()[:3]
    base_stat = cpu_stat()
    base_cpu = proc_cpu_s(a.pid)
    base_self = time.process_time()

    # ---- the normal client: its own process (same CPU), started after the
    # baseline so that its connections are not in it, ~1 s before the attack
    normal_proc = subprocess.Popen([
        sys.executable, os.path.abspath(__file__), "normal", "--http-port", str(a.http_port),
        "--https-port", str(a.https_port), "--https", str(a.normal_https), "--host", a.host,
        "--tls-host", a.tls_host, "--ca", a.ca, "--path", a.small_path, "--size", str(a.small_size),
        "--out", a.normal_out])
    a.normal_pid = normal_proc.pid
    if a.normal_pid_file:
        with open(a.normal_pid_file, "w") as f:
            f.write(f"{normal_proc.pid}\n")
    time.sleep(1.0)
    t_base = NOW()

    att = Attack(a)
    still = asyncio.run(att.run())
    att.sampling = False
    time.sleep(a.sample_s * 2)

    # ---- the normal client: stopped once the attack is over, so that its
    # own connections are not counted in the "after" figures
    try:
        normal_cpu = proc_cpu_s(a.normal_pid)
    except OSError:
        normal_cpu = 0.0
    normal_proc.terminate()
    try:
        normal_proc.wait(10)
    except subprocess.TimeoutExpired:
        normal_proc.kill()
    for _ in range(100):
        if os.path.exists(a.normal_out):
            try:
                with open(a.normal_out) as f:
                    normal = json.load(f)
                break
            except ValueError:
                pass
        time.sleep(0.1)
    else:
        normal = None

    # ---- settle: back to the baseline connection count (max settle_max_s)
    t_settle0 = NOW()
    settled = False
    while NOW() - t_settle0 < a.settle_max_s:
        g = metric(a.admin_port, "webtier_connections")
        if g is not None and base_conns is not None and g <= base_conns:
            settled = True
            break
        time.sleep(0.25)
    settle_s = NOW() - t_settle0
    # ---- then RSS: an allocator gives freed memory back over seconds (a
    # purge on a timer), so poll for it, up to rss_settle_s
    t_rss0 = NOW()
    rss_trace = []  # (s after the connections settled, RSS KiB)
    while True:
        alive = os.path.exists(f"/proc/{a.pid}")
        after_rss = proc_rss_kib(a.pid) if alive else 0
        rss_trace.append((NOW() - t_rss0, after_rss))
        if not alive or after_rss <= a.rss_ratio * base_rss or NOW() - t_rss0 >= a.rss_settle_s:
            break
        time.sleep(0.5)
    rss_s = NOW() - t_rss0
    after_fds = proc_fd_inodes(a.pid)[0] if alive else 0
    after_links = proc_fd_links(a.pid) if alive else {}
    after_conns = metric(a.admin_port, "webtier_connections")
    refused = metric(a.admin_port, "webtier_refused_connections_total")
    after_ss = sockstat()
    after_load = open("/proc/loadavg").read().split()[:3]
    after_stat = cpu_stat()
    after_cpu = proc_cpu_s(a.pid) if alive else base_cpu
    elapsed = NOW() - t_base

    # ---- report
    out = []
    fail = []
    warn = []
    P = out.append
    P(f"## webtier attack run{(' — ' + a.title) if a.title else ''}\n")
    P(f"Attack window {a.attack_s:g} s (every slot reconnects when closed), then up to "
      f"{a.close_wait_s:g} s for the last connections to be closed. Timeouts: "
      f"header_read_ms={a.header_read_ms}, send_ms={a.send_ms}, http2_idle_ms={a.http2_idle_ms}. "
      f"Slots: {a.slowloris} slowloris, {a.nonreaders} non-readers (SO_RCVBUF={a.rcvbuf}, "
      f"{a.big_size // (1 << 20)} MiB file), {a.h2idle} idle h2.\n")

    peak = lambda i: max((s[i] for s in att.samples if s[i] is not None), default=None)  # noqa: E731
    P("### Proxy resources\n")
    P("| | RSS MiB | open fds | webtier_connections |")
    P("|---|---|---|---|")
    P(f"| baseline (after start + warm-up) | {base_rss / 1024:.1f} | {base_fds} | {base_conns} |")
    P(f"| peak during the attack | {(peak(1) or 0) / 1024:.1f} | {peak(2)} | {peak(3)} |")
    P(f"| after (settled in {settle_s:.1f} s{'' if settled else ', NOT settled'}) | "
      f"{after_rss / 1024:.1f} | {after_fds} | {after_conns} |")
    P("")
    # the first and last samples, and one every ~5 s between
    marks = [x for k, x in enumerate(rss_trace) if k in (0, len(rss_trace) - 1) or k % 10 == 0]
    back = "back" if after_rss <= a.rss_ratio * base_rss else "not back"
    P(f"RSS once the connections had settled, polled until at most {a.rss_ratio:g}x baseline "
      f"(up to {a.rss_settle_s:g} s): " + ", ".join(f"{t:.1f} s {r / 1024:.1f} MiB" for t, r in marks)
      + f"; {back} after {rss_s:.1f} s.\n")
    P(f"Refused at max_connections during the run: {(refused or 0) - (base_refused or 0)}. "
      f"Kernel (whole machine, /proc/net/sockstat): peak orphaned TCP sockets {peak(4)} "
      f"(baseline {base_ss.get('orphan', 0)}, after {after_ss.get('orphan', 0)}), peak TCP memory "
      f"{(peak(5) or 0) * 4 / 1024:.1f} MiB (after {after_ss.get('mem', 0) * 4 / 1024:.1f} MiB).\n")

    cpus = [(s[0], s[6]) for s in att.samples if s[6] is not None]
    win = [x for x in cpus if att.t_attack <= x[0] <= att.t_end]
    if len(win) >= 2:
        busy = [(b[1] - a_[1]) / (b[0] - a_[0]) for a_, b in zip(win, win[1:]) if b[0] > a_[0]]
        P(f"Proxy CPU from the attack's start to the last close: {win[-1][1] - win[0][1]:.1f} s over "
          f"{win[-1][0] - win[0][0]:.1f} s ({100 * (win[-1][1] - win[0][1]) / (win[-1][0] - win[0][0]):.0f}% "
          f"of a core; busiest {a.sample_s:g} s sample {100 * max(busy):.0f}%).\n")
    gaps = [b[0] - a_[0] for a_, b in zip(att.samples, att.samples[1:])]
    lags = [x[1] for x in getattr(att, "lag", [])]
    P(f"Measuring error: the attack client's event loop ran up to {1000 * max(lags, default=0):.0f} ms late "
      f"(median {1000 * statistics.median(lags or [0]):.0f} ms); proxy-side samples every {a.sample_s:g} s, "
      f"largest gap {max(gaps, default=0):.2f} s; attack client CPU {time.process_time():.1f} s.\n")
    others = (after_stat - base_stat) - (after_cpu - base_cpu) - (time.process_time() - base_self) - normal_cpu
    P(f"Machine noise: load average {' '.join(base_load)} before, {' '.join(after_load)} after; other "
      f"processes (builds) used {others / elapsed:.2f} of the {os.cpu_count()} cores during the run "
      f"(machine busy {(after_stat - base_stat) / elapsed:.2f} cores).\n")
    if after_links != base_links:
        diff = {k: after_links.get(k, 0) - base_links.get(k, 0)
                for k in set(base_links) | set(after_links) if after_links.get(k, 0) != base_links.get(k, 0)}
        P("Open fds after vs baseline, by target: " + ", ".join(f"{k} {v:+d}" for k, v in sorted(diff.items())) + "\n")

    P("### Attack connections: time from connect to close by the proxy (s)\n")
    P("| class | timeout | connections | closed | client saw close: min / median / max | how (client) | "
      "proxy released socket: min / median / max | later than timeout + slack | still open at end | errors |")
    P("|---|---|---|---|---|---|---|---|---|---|")
    late_total = 0
    for kind in ("slowloris", "nonreader", "h2idle"):
        cs = [c for c in att.conns if c.kind == kind]
        up = [c for c in cs if c.t_up is not None]
        cl = [c.t_client - c.t0 for c in up if c.t_client is not None]
        sv = [c.t_srv - c.t0 for c in up if c.t_srv is not None]
        # The time the proxy closed it: what the client saw, except for
        # non-readers, which see it only when they read.
        eff = [(c.t_srv if kind == "nonreader" and c.t_srv is not None else c.t_client) for c in up]
        eff = [t - c.t0 for t, c in zip(eff, up) if t is not None]
        late = [x for x in eff if x > bound[kind] + a.slack_s]
        late_total += len(late)
        open_end = [c for c in up if not c.done or (c.t_client is None and c.t_srv is None)]
        hows = {}
        for c in up:
            hows[c.how or "open"] = hows.get(c.how or "open", 0) + 1
        errs = [c.err for c in cs if c.err]
        P(f"| {kind} | {timeouts[kind]:g} s{' (+1 s GOAWAY grace)' if kind == 'h2idle' else ''} | {len(up)} "
          f"| {len(eff)} | {' / '.join(summarize(cl))} | "
          f"{', '.join(f'{k} {v}' for k, v in sorted(hows.items()))} | {' / '.join(summarize(sv))} | "
          f"{len(late)} | {len(open_end)} | {len(errs)} |")
        if open_end:
            fail.append(f"{len(open_end)} {kind} connection(s) still open at the end")
        if late:
            (fail if a.late_fails else warn).append(f"{len(late)} {kind} connection(s) closed later than {bound[kind] + a.slack_s:g} s "
                        f"(max {max(late):.2f} s)")
        if errs:
            uniq = sorted(set(errs))
            P(f"\n{kind} errors ({len(errs)}): " + "; ".join(uniq[:5]) + "\n")
            fail.append(f"{len(errs)} {kind} connection(s) with errors")
        if kind == "nonreader":
            dr = [c for c in up if c.drained is not None]
            eofs = sum(1 for c in dr if c.drain_eof)
            cut = sum(1 for c in dr if c.drain_eof and c.drained < a.big_size)
            mx = max((c.drained for c in dr), default=0)
            nonreader_note = (f"Non-readers, drained after the proxy released them: {eofs}/{len(dr)} ended in "
                              f"EOF/RST, {cut} of them with a truncated response (at most "
                              f"{mx / (1 << 20):.2f} MiB read of {a.big_size / (1 << 20):.0f} MiB).")
            if dr and eofs < len(dr):
                fail.append(f"{len(dr) - eofs} non-reader(s) saw no EOF/RST within {a.drain_s:g} s of draining")
        if kind == "slowloris":
            notes = {}
            for c in up:
                if c.note:
                    notes[c.note] = notes.get(c.note, 0) + 1
            slow_note = ("Slowloris connections that got a response before the close: "
                         + (", ".join(f"{v} x {k!r}" for k, v in notes.items()) if notes else "none") + ".")
        if kind == "h2idle":
            ga = sum(1 for c in up if c.goaway is not None)
            hs = [c.t_up - c.t0 for c in up]
            h2_note = (f"h2 idles that got a GOAWAY before the close: {ga}/{len(up)}; their TCP + TLS "
                       f"handshake took {' / '.join(summarize(hs))} s (min / median / max).")
    P("")
    P(slow_note + " " + nonreader_note + " " + h2_note)
    P("")

    P("### Normal client (one GET every ~100 ms, new connection each, alternating HTTP and HTTPS)\n")
    if normal is None:
        P("no results from the normal client\n")
        fail.append("the normal client reported nothing")
    else:
        P("| scheme | requests | 200 | non-200 / errors | p50 ms | p99 ms | max ms |")
        P("|---|---|---|---|---|---|---|")
        phases = [("http", lambda r: r[1] == "http"), ("https", lambda r: r[1] == "https"),
                  ("all, before the attack", lambda r: r[0] < att.t_attack),
                  ("all, during the attack", lambda r: att.t_attack <= r[0] <= att.t_end), ("all", lambda r: True)]
        for scheme, sel in phases:
            rs = [r for r in normal if sel(r)]
            if not rs:
                continue
            lat = [r[4] * 1000 for r in rs]
            good = sum(1 for r in rs if r[2])
            P(f"| {scheme} | {len(rs)} | {good} | {len(rs) - good} | {pct(lat, 50):.1f} | "
              f"{pct(lat, 99):.1f} | {max(lat):.1f} |")
        P("\n(\"during\": from the attack's start to the last attack connection's close.)")
        slow = sorted(normal, key=lambda r: -r[4])[:5]
        def phases_of(r):
            if r[5] is None:
                return ""
            return (f"; connected{' + TLS' if r[1] == 'https' else ''} {r[5] * 1000:.0f} ms, "
                    f"response head {r[6] * 1000:.0f} ms")
        P("Slowest: " + ", ".join(f"{r[4] * 1000:.0f} ms ({r[1]}, {r[0] - att.t_attack:+.1f} s into the attack"
                                  f"{phases_of(r)})" for r in slow) + ".")
        bad = [r for r in normal if not r[2]]
        if bad:
            P("\nFailures (time into the attack, scheme, what, latency):\n")
            for r in bad[:20]:
                P(f"- {r[0] - att.t_attack:+.2f} s {r[1]}: {r[3]} ({r[4] * 1000:.0f} ms)")
            fail.append(f"the normal client saw {len(bad)} non-200/error(s)")
        P("")

    if not alive:
        fail.append("the proxy died")
    if not settled:
        fail.append(f"webtier_connections did not return to {base_conns} within {a.settle_max_s:g} s")
    if after_fds > base_fds + 5:
        fail.append(f"fds {after_fds} > baseline {base_fds} + 5")
    if after_rss > a.rss_ratio * base_rss:
        fail.append(f"RSS {after_rss / 1024:.1f} MiB > {a.rss_ratio:g} x baseline {base_rss / 1024:.1f} MiB "
                    f"{a.rss_settle_s:g} s after the connections closed")
    P("### Verdict\n")
    P(f"- fds after vs baseline: {after_fds} vs {base_fds} (limit baseline + 5)")
    P(f"- RSS after vs baseline: {after_rss / 1024:.1f} vs {base_rss / 1024:.1f} MiB "
      f"({after_rss / max(1, base_rss):.2f}x; limit {a.rss_ratio:g}x)")
    for w_ in warn:
        P(f"- WARNING: {w_}")
    if fail:
        P("- **FAIL**: " + "; ".join(fail))
    else:
        P("- **PASS**: no attack connection open at the end, every normal request a 200, fds and RSS back"
          + (" (but see the warnings)." if warn else ", every attack connection closed within its timeout + slack."))
    print("\n".join(out))
    sys.stdout.flush()

    if a.json:
        with open(a.json, "w") as f:
            json.dump({
                "samples": att.samples,
                "conns": [{k: (getattr(c, k) if k != "srv_gone" and k != "sock" else None)
                           for k in Conn.__slots__ if k not in ("srv_gone", "sock")} for c in att.conns],
                "t_attack": att.t_attack,
            }, f)
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
