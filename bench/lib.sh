# shellcheck shell=bash
# Shared harness of the benchmarks that drive one server at a time with wrk
# or h2load (bench/proxy.sh, bench/policy.sh). Sourced, not run. The script sets
# BENCH (its name, for messages) before sourcing, and uses the globals
# WORK, SPID, UPID, KEEP, SERVER_CPU, CLIENT_CPU and CLK_TCK as below.

die() { echo "${BENCH:-bench}: $*" >&2; exit 2; }
log() { echo "[$(date +%T)] $*" >&2; }

stop_pid() { # stop_pid PID: TERM, then KILL after 5 s
  local p=$1 i
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && { log "pid $p ignored SIGTERM for 5 s; killing"; kill -KILL "$p" 2>/dev/null; }
  wait "$p" 2>/dev/null
}
# cleanup: stop the measured server and the upstream; keep or drop WORK
cleanup() {
  stop_pid "${SPID:-}"; stop_pid "${UPID:-}"
  if [ "${KEEP:-1}" = 1 ]; then log "work dir kept (configs, logs, wrk outputs, raw rows): $WORK"; else rm -rf "$WORK"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# the server's processes: the main pid and its descendants (nginx's worker)
server_pids() {
  local p=$1 c
  echo "$p"
  for c in $(pgrep -P "$p"); do server_pids "$c"; done
}
cpu_ticks() { # utime+stime of the given pids, in clock ticks
  local p t=0 v
  for p in "$@"; do
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# core_ticks -> "busy0 nice0 total0 busy1 nice1 total1" for SERVER_CPU and
# CLIENT_CPU from /proc/stat (nice = other users' niced jobs, e.g. a build)
core_ticks() {
  awk -v a="cpu$SERVER_CPU" -v b="cpu$CLIENT_CPU" '
    $1 == a || $1 == b { busy = $2 + $3 + $4 + $7 + $8 + $9; tot = busy + $5 + $6; v[$1] = busy " " $3 " " tot }
    END { print v[a], v[b] }' /proc/stat
}
hwm_kib() {
  local p t=0 v
  for p in "$@"; do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# parse_wrk FILE -> "requests rps p99_ms bytes non2xx sockerr"
parse_wrk() {
  awk '
    function ms(v) { if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000;
                     if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0;
                     if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000;
                     if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000; return v + 0 }
    function bytes(v) { if (v ~ /GB$/) return substr(v, 1, length(v) - 2) * 1073741824;
                        if (v ~ /MB$/) return substr(v, 1, length(v) - 2) * 1048576;
                        if (v ~ /KB$/) return substr(v, 1, length(v) - 2) * 1024;
                        if (v ~ /B$/) return substr(v, 1, length(v) - 1) + 0; return v + 0 }
    / requests in / { req = $1; b = bytes($5) }
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { gsub(",", ""); se = $4 + $6 + $8 + $10 }
    END { printf "%d %.2f %.3f %.0f %d %d\n", req, rps, p99, b, non2xx, se }' "$1"
}

# h2_latency LOG -> "rows=N p50_ms=.. p90_ms=.. p99_ms=.. p99.9_ms=.. max_ms=.."
# over h2load's --log-file (tab-separated: start time in µs since the epoch,
# status (-1: a failed stream), µs until the end of the response; one line
# per request that ended in the measured duration). Nearest-rank percentiles.
h2_latency() {
  python3 - "$1" <<'PY'
import math, sys
t = []
try:
    with open(sys.argv[1]) as f:
        for line in f:
            p = line.split("\t")
            if len(p) >= 3:
                t.append(int(p[2]))
except OSError:
    pass
t.sort()
def q(x):
    return t[max(0, math.ceil(x * len(t)) - 1)] / 1000 if t else 0
print(f"rows={len(t)} p50_ms={q(0.5):.3f} p90_ms={q(0.9):.3f} p99_ms={q(0.99):.3f} p99.9_ms={q(0.999):.3f} max_ms={q(1):.3f}")
PY
}
# parse_h2load FILE [LATENCY] -> "requests rps p99_ms bytes non2xx errors
# protocol data_bytes log_rows": requests done, h2load's req/s over the main
# duration, p99 and log rows from an h2_latency summary (0 without one),
# total bytes read, requests done that were not 2xx, errored and timed-out
# requests, the ALPN protocol negotiated ("none" if none), DATA payload bytes.
parse_h2load() {
  local lat="" p99=0 rows=0
  [ -n "${2:-}" ] && [ -s "$2" ] && lat=$(cat "$2")
  if [ -n "$lat" ]; then
    p99=$(tr ' ' '\n' <<<"$lat" | awk -F= '$1 == "p99_ms" { print $2 }')
    rows=$(tr ' ' '\n' <<<"$lat" | awk -F= '$1 == "rows" { print $2 }')
  fi
  awk -v p99="${p99:-0}" -v rows="${rows:-0}" '
    BEGIN { proto = "none" }
    /^Application protocol:/ { proto = $3 }
    /^finished in / { rps = $4 }
    # requests: T total, S started, D done, OK succeeded, F failed, E errored, TO timeout
    /^requests: / { done = $6; errs = $12 + $14 }
    /^status codes: / { ok2 = $3 }
    # traffic: 1.2MB (N) total, 1KB (N) headers (space savings x%), 1MB (N) data
    /^traffic: / { k = 0; for (i = 2; i <= NF; i++) if ($i ~ /^\([0-9]+\)$/) v[++k] = substr($i, 2, length($i) - 2)
                   total = v[1]; data = v[3] }
    END { printf "%d %.2f %.3f %.0f %d %d %s %.0f %d\n", done, rps, p99, total, done - ok2, errs, proto, data, rows }' "$1"
}

rotate() { # rotate ROUND LIST... -> the list rotated by ROUND, reversed
  # every other cycle of rotations. A rotation alone keeps the cyclic
  # succession (a before b before c before a), so one server always ran
  # right after the same other one; that cost the server after nginx 10%
  # of its HTTPS p99 (bench/README-proxy.md, "Order bias"). With the
  # reversed cycles each server follows each other equally often.
  local r=$1; shift
  local -a c=("$@"); local n=${#c[@]} i out=()
  for ((i = 0; i < n; i++)); do out+=("${c[((r + i) % n)]}"); done
  if (((r / n) % 2 == 1)); then
    local -a rev=()
    for ((i = n - 1; i >= 0; i--)); do rev+=("${out[i]}"); done
    out=("${rev[@]}")
  fi
  echo "${out[@]}"
}

# ------------------------------------------------------------- perf reports
pct_lines() { grep -E '^ +[0-9.]+%' "$1" | head -n "$2" | cut -c1-150 | sed 's/[ -]*$//'; }
# by_crate FILE: the samples of a `--sort dso,symbol` report grouped by crate
by_crate() {
  python3 - "$1" <<'PY'
import re, sys, collections
g = collections.Counter()
for line in open(sys.argv[1]):
    m = re.match(r"\s+([0-9.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
    if not m: continue
    pct, dso, kind, sym = float(m[1]), m[2], m[3], m[4].strip()
    if kind == "k": key = "kernel"
    elif dso.startswith("libc"):
        key = "libc malloc/free" if re.search(r"malloc|free|_int_|unlink_chunk|realloc|calloc|tcache", sym) else \
              "libc memcpy/memset" if re.search(r"mem(move|cpy|set|cmp)", sym) else "libc other"
    elif dso == "[vdso]": key = "vdso (clock_gettime)"
    elif dso.startswith("libz"): key = "zlib (libz)"
    else:
        t = sym.lstrip("<&* ")
        t = re.sub(r"^(dyn |impl )", "", t)
        key = t.split("::")[0] if "::" in t else t.split("(")[0][:40]
        if re.search(r"aws_lc|nistz|curve25519|bignum_|sha512|sha256|aes_hw|gcm", t): key = "aws-lc (crypto)"
    g[key] += pct
print("  ".join(f"{k} {v:.1f}%" for k, v in g.most_common(14)))
PY
}
