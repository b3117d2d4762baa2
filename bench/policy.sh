#!/usr/bin/env bash
# Benchmark: issue #18's acceptance scenario. Proxied requests through a
# route with an allow list, a rewrite and a rate limit that never triggers,
# the bundled proxy daemon (`webtier proxy run`) against nginx with the same
# configuration, one worker each on the same core, driven by wrk, as ratios
# to nginx in one run. Target (#18): webtier >= 1.0x nginx's req/s and
# <= 1.0x its CPU per request.
#
# Needs (installs nothing itself):
#   apt-get install -y nginx wrk curl python3
#   optional, for profiling webtier where it misses a target: linux-perf
#   a release build of webtier (WEBTIER=/path/to/webtier, default
#   target/release/webtier next to this script's repo)
#
# The approach is bench/proxy.sh's `proxy` scenario (see bench/README-proxy.md):
# a fixed upstream (an extra nginx on core CLIENT_CPU answering `return 200`
# with a 64-byte body, and here 404 for every path but /hello, so that a
# wrong rewrite fails the checks), both servers pinned to core SERVER_CPU with
# one worker (nginx worker_processes 1, webtier --workers 1), wrk -t1
# -cCONNS -dDURATION --latency pinned to core CLIENT_CPU, upstream keep-alive
# on both.
#
# Scenarios:
#   policy  GET /api/v1/hello, Host bench.test. The route /api/ has
#           webtier:  access = { allow = ["127.0.0.0/8"] }
#                     rewrite = { from = "^/api/v1/(.*)$", to = "/$1" }
#                     rate_limit = { per_second = 1000000, burst = 1000000 }
#           nginx:    allow 127.0.0.0/8; deny all;
#                     limit_req zone=bench burst=1000000 nodelay;  (zone:
#                       $binary_remote_addr, 1m, rate=1000000r/s)
#                     rewrite ^/api/v1/(.*)$ /$1 break;
#           The upstream receives GET /hello.
#   bare    GET /hello, Host bare.test, proxied by a route "/" with no policy
#           (proxy.sh's `proxy` scenario on this script's upstream): the
#           baseline that shows what the three policy stages cost each server.
#
# Before the rounds a probe checks that each policy stage is really in force
# on both servers, with the same configuration templates: a path the rewrite
# does not match reaches the upstream unchanged (404); an allow list without
# 127.0.0.0/8 gives 403; a rate limit of 1/s (webtier burst 1, nginx no
# burst, limit_req_status 429) gives 200 then 429. The script stops if any
# probe fails.
#
# Every (scenario, round, server) run starts the server fresh from the same
# configuration file, checks one response (status 200 and the exact body)
# with curl, warms up for WARMUP s, measures, checks a response again, reads
# peak RSS and stops the server. The server order rotates round by round and
# reverses every other cycle (proxy.sh's rotate). Measured: wrk's req/s and
# p99 latency; server CPU (utime+stime of every server process from
# /proc/PID/stat, before/after the run) per request; peak RSS (VmHWM summed
# over the server's processes: nginx master + worker). A row is valid only
# when wrk reports 0 non-2xx/3xx responses (a 403 or 429 would count) and 0
# socket errors, both curl checks pass, bytes read per request are at least
# the body size and the server is still alive. Ratios are medians of the
# per-round ratios to the nginx run of the same round.
#
# Environment knobs: ROUNDS (default 5, minimum 3), DURATION (10 s),
# WARMUP (1 s), CONNS (64), SERVER_CPU (0), CLIENT_CPU (1),
# SCENARIOS ("policy bare"; policy is the one with the target),
# SERVERS ("webtier nginx"; nginx is the reference for ratios; "webtier-b"
# adds the binary WEBTIER_B with webtier's configuration, to compare two
# builds in the same rounds),
# PROFILE (auto: after the rounds, `perf record` webtier in every scenario
# where it missed a target; 0: never; or a list of scenarios; nginx is
# profiled the same way for comparison), PROFILE_S (5: seconds per profile),
# KEEP (1: keep the work dir with configs, logs, wrk outputs and raw rows;
# 0 deletes it), WORK (work directory, default a fresh mktemp -d).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WEBTIER=${WEBTIER:-$here/../target/release/webtier}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SCENARIOS=${SCENARIOS:-"policy bare"}
SERVERS=${SERVERS:-"webtier nginx"}
PROFILE=${PROFILE:-auto}
PROFILE_S=${PROFILE_S:-5}

BENCH=policy.sh
# shellcheck source=bench/lib.sh
. "$here/lib.sh" # die, log, stop_pid, cleanup, free_port, server_pids, cpu/core ticks, hwm_kib, parse_wrk, rotate, perf report helpers

# ------------------------------------------------------------ prerequisites
missing=()
for b in nginx wrk taskset curl python3 timeout cmp; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} — apt-get install -y nginx wrk curl python3"
[ -x "$WEBTIER" ] || die "no webtier binary at $WEBTIER (build with cargo build --release, or set WEBTIER=)"
WEBTIER=$(cd "$(dirname "$WEBTIER")" && pwd)/$(basename "$WEBTIER")
case " $SERVERS " in
  *" webtier-b "*) [ -x "${WEBTIER_B:-}" ] || die "SERVERS has webtier-b: set WEBTIER_B to a second webtier binary" ;;
esac
[ "$ROUNDS" -ge 3 ] || die "ROUNDS must be at least 3"
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 cores; server and client share a core"
case " $SERVERS " in *" nginx "*) ;; *) die "SERVERS must include nginx (the reference)";; esac
for sc in $SCENARIOS; do
  case $sc in policy | bare) ;; *) die "unknown scenario $sc (policy, bare)";; esac
done
HAVE_PERF=0
command -v perf >/dev/null 2>&1 && HAVE_PERF=1
CLK_TCK=$(getconf CLK_TCK)

WORK=${WORK:-$(mktemp -d /tmp/webtier-policy-bench.XXXXXX)}
mkdir -p "$WORK"
chmod 755 "$WORK" # nginx's worker runs as nobody and must read the files
RESULTS=$WORK/results.tsv
: >"$RESULTS"
SPID=""; UPID=""

trap cleanup EXIT
trap 'exit 130' INT TERM

HTTP_PORT=$(free_port); UP_PORT=$(free_port)

# ------------------------------------------------------------------- files
mkdir -p "$WORK/runs"
UP_BODY=$WORK/upstream-body
printf 'hello from the fixed upstream: 64 bytes, the same for everyone.\n' >"$UP_BODY"
[ "$(wc -c <"$UP_BODY")" = 64 ] || die "upstream body is not 64 bytes"
chmod 644 "$UP_BODY"

# ----------------------------------------------------------------- configs
# the fixed upstream (not measured): nginx on the client core; 200 with the
# 64-byte body for /hello only, 404 for anything else
write_upstream() {
  local d=$WORK/upstream; mkdir -p "$d"
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $d/tmp-body; proxy_temp_path $d/tmp-proxy;
  fastcgi_temp_path $d/tmp-fcgi; uwsgi_temp_path $d/tmp-uwsgi; scgi_temp_path $d/tmp-scgi;
  server {
    listen 127.0.0.1:$UP_PORT;
    location = /hello { default_type text/plain; return 200 "$(head -c 63 "$UP_BODY")\n"; }
    location / { return 404; }
  }
}
EOF
}

# write_configs SET ALLOW RATE BURST: $WORK/SET/{nginx,webtier}; the bench
# set is (127.0.0.0/8, 1000000/s, 1000000), the probes change one of them.
# BURST is webtier's burst (requests at once) and nginx's burst=BURST
# (nginx counts the requests beyond the first, so it admits one more at once:
# the same "never triggers" for the bench); BURST 1 gives nginx no burst, so
# that both refuse a second request at once in the rate-limit probe.
write_configs() {
  local set=$1 allow=$2 rate=$3 burst=$4 d ngx_burst=""
  [ "$burst" -gt 1 ] && ngx_burst=" burst=$burst"
  # the forwarding headers webtier always sets, as in proxy.sh
  local fwd='proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;'

  # nginx: Debian's defaults (sendfile, tcp_nopush) plus what TESTBED.md asks
  d=$WORK/$set/nginx; mkdir -p "$d"
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  keepalive_requests 1000000;
  client_body_temp_path $d/tmp-body; proxy_temp_path $d/tmp-proxy;
  fastcgi_temp_path $d/tmp-fcgi; uwsgi_temp_path $d/tmp-uwsgi; scgi_temp_path $d/tmp-scgi;
  limit_req_zone \$binary_remote_addr zone=bench:1m rate=${rate}r/s;
  limit_req_status 429;
  upstream up { server 127.0.0.1:$UP_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$HTTP_PORT;
    server_name bench.test;
    location /api/ {
      allow $allow;
      deny all;
      limit_req zone=bench$ngx_burst nodelay;
      rewrite ^/api/v1/(.*)\$ /\$1 break;
      proxy_pass http://up;
      $fwd
    }
  }
  server {
    listen 127.0.0.1:$HTTP_PORT;
    server_name bare.test;
    location / {
      proxy_pass http://up;
      $fwd
    }
  }
}
EOF

  # webtier: the daemon's own format (src/proxy/config/mod.rs); HSTS off
  d=$WORK/$set/webtier; mkdir -p "$d/challenge"
  cat >"$d/proxy.toml" <<EOF
version = 1
http_listen = ["127.0.0.1:$HTTP_PORT"]
https_listen = []
challenge_dir = "$d/challenge"
workers = 1
hsts_max_age = 0
trusted_proxies = []

[timeouts]
drain_ms = 2000

[[site]]
names = ["bench.test"]
[[site.route]]
path = "/api/"
upstreams = ["http://127.0.0.1:$UP_PORT"]
access = { allow = ["$allow"] }
rewrite = { from = "^/api/v1/(.*)\$", to = "/\$1" }
rate_limit = { per_second = $rate, burst = $burst }

[[site]]
names = ["bare.test"]
[[site.route]]
path = "/"
upstreams = ["http://127.0.0.1:$UP_PORT"]
EOF

  # both must accept it
  "$WEBTIER" proxy validate --file "$WORK/$set/webtier/proxy.toml" >"$WORK/$set/webtier/validate.log" 2>&1 ||
    die "webtier proxy validate refuses $WORK/$set/webtier/proxy.toml: $(tr '\n' ' ' <"$WORK/$set/webtier/validate.log")"
  nginx -t -p "$WORK/$set/nginx" -e "$WORK/$set/nginx/error.log" -c "$WORK/$set/nginx/nginx.conf" >"$WORK/$set/nginx/test.log" 2>&1 ||
    die "nginx -t refuses $WORK/$set/nginx/nginx.conf: $(tr '\n' ' ' <"$WORK/$set/nginx/test.log")"
}
write_upstream
write_configs bench 127.0.0.0/8 1000000 1000000
write_configs probe-deny 192.0.2.0/24 1000000 1000000
write_configs probe-limit 127.0.0.0/8 1 1

# ------------------------------------------------------------------ servers
# start_server NAME LOG [SET]: foreground, pinned, one worker; sets SPID
start_server() {
  local name=$1 logf=$2 set=${3:-bench} d
  case $name in
    webtier) taskset -c "$SERVER_CPU" "$WEBTIER" proxy run --file "$WORK/$set/webtier/proxy.toml" --workers 1 >"$logf" 2>&1 & ;;
    webtier-b) taskset -c "$SERVER_CPU" "$WEBTIER_B" proxy run --file "$WORK/$set/webtier/proxy.toml" --workers 1 >"$logf" 2>&1 & ;;
    nginx) d=$WORK/$set/nginx
           taskset -c "$SERVER_CPU" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" -g 'daemon off;' >"$logf" 2>&1 & ;;
  esac
  SPID=$!
}
start_upstream() {
  local d=$WORK/upstream
  taskset -c "$CLIENT_CPU" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" -g 'daemon off;' >"$d/stdout.log" 2>&1 &
  UPID=$!
  for _ in $(seq 100); do
    if [ "$(curl -s -o "$WORK/up.body" -w '%{http_code}' "http://127.0.0.1:$UP_PORT/hello")" = 200 ]; then
      cmp -s "$WORK/up.body" "$UP_BODY" || die "the upstream answers /hello with the wrong body"
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$UP_PORT/api/v1/hello")" = 404 ] ||
        die "the upstream does not answer 404 for /api/v1/hello (an unrewritten path)"
      return 0
    fi
    sleep 0.1
  done
  die "the upstream nginx did not come up; see $d/error.log"
}

# scenario parameters: URL, HOST, EXPECT (file with the exact body)
scen() {
  case $1 in
    policy) URL=http://127.0.0.1:$HTTP_PORT/api/v1/hello HOST=bench.test EXPECT=$UP_BODY ;;
    bare) URL=http://127.0.0.1:$HTTP_PORT/hello HOST=bare.test EXPECT=$UP_BODY ;;
  esac
}
# check SCENARIO: one request with curl, status 200 and the exact body
check() {
  scen "$1"
  local code
  code=$(curl -s --http1.1 --max-time 5 -o "$WORK/check.body" -w '%{http_code}' -H "Host: $HOST" "$URL" 2>/dev/null)
  CHECK_CODE=$code
  [ "$code" = 200 ] && cmp -s "$WORK/check.body" "$EXPECT"
}
wait_ready() { # wait_ready SCENARIO: until the server answers 200 (10 s)
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SPID" 2>/dev/null || return 1
    check "$1" && return 0
    sleep 0.1
  done
  return 1
}
# wait_up: until the server answers anything on its port (10 s)
wait_up() {
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SPID" 2>/dev/null || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Host: bare.test' "http://127.0.0.1:$HTTP_PORT/hello")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

# ------------------------------------------------------------------- probe
# probe SERVER: each policy stage is in force (see the header); 0 if all pass
probe() {
  local s=$1 fail=0 got
  code_of() { curl -s --http1.1 --max-time 5 -o /dev/null -w '%{http_code}' -H "Host: bench.test" "http://127.0.0.1:$HTTP_PORT$1"; }
  expect() { # expect WHAT WANT GOT
    if [ "$2" = "$3" ]; then log "  probe $s: $1: $3"; else log "  PROBE FAILED $s: $1: got $3, want $2"; fail=1; fi
  }
  start_server "$s" "$WORK/probe-bench-$s.log" bench
  if wait_ready policy; then
    expect "GET /api/v1/hello (rewritten to /hello)" 200 200
    expect "GET /api/v2/hello (no rewrite: the upstream's 404)" 404 "$(code_of /api/v2/hello)"
  else
    expect "GET /api/v1/hello with the bench configuration" 200 "$CHECK_CODE"
  fi
  stop_pid "$SPID"; SPID=""
  start_server "$s" "$WORK/probe-deny-$s.log" probe-deny
  if wait_up; then expect "allow 192.0.2.0/24 only, from 127.0.0.1" 403 "$(code_of /api/v1/hello)"
  else expect "the deny probe configuration starts" up down; fi
  stop_pid "$SPID"; SPID=""
  start_server "$s" "$WORK/probe-limit-$s.log" probe-limit
  if wait_up; then
    got="$(code_of /api/v1/hello) $(code_of /api/v1/hello)"
    expect "rate 1/s without burst, two requests at once" "200 429" "$got"
  else expect "the rate-limit probe configuration starts" up down; fi
  stop_pid "$SPID"; SPID=""
  return $fail
}

# one_run SCENARIO SERVER ROUND
one_run() {
  local sc=$1 s=$2 r=$3 tag="$1-r$3-$2" ok=1 why=() pids c0 c1 rss wout
  wout=$WORK/runs/$tag.wrk
  start_server "$s" "$WORK/runs/$tag.log"
  if ! wait_ready "$sc"; then
    log "FAILED: $tag — server not ready or wrong answer (HTTP $CHECK_CODE); log: $WORK/runs/$tag.log: $(tail -n3 "$WORK/runs/$tag.log" | tr '\n' ' ' | cut -c1-300)"
    printf '%s\t%s\t%s\t0\t0\t0\t0\t0\t0\t0\t0\t0\t%s\n' "$sc" "$s" "$r" "not-ready" >>"$RESULTS"
    stop_pid "$SPID"; SPID=""
    return
  fi
  sleep 0.2
  mapfile -t pids < <(server_pids "$SPID")
  scen "$sc"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" -H "Host: $HOST" "$URL" >"$wout.warmup" 2>&1
  local k0 k1
  k0=$(core_ticks)
  c0=$(cpu_ticks "${pids[@]}")
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "Host: $HOST" "$URL" >"$wout" 2>&1
  c1=$(cpu_ticks "${pids[@]}")
  k1=$(core_ticks)
  read -r req rps p99 bytes non2xx sockerr < <(parse_wrk "$wout")
  kill -0 "$SPID" 2>/dev/null || { ok=0; why+=("server died"); }
  check "$sc" || { ok=0; why+=("post-run check: HTTP $CHECK_CODE or wrong body"); }
  [ "${non2xx:-1}" = 0 ] || { ok=0; why+=("$non2xx non-2xx/3xx"); }
  [ "${sockerr:-1}" = 0 ] || { ok=0; why+=("socket errors $(grep 'Socket errors' "$wout" | sed 's/^ *//')"); }
  [ "${req:-0}" -gt 0 ] || { ok=0; why+=("no requests"); }
  local body
  body=$(wc -c <"$EXPECT")
  if [ "${req:-0}" -gt 0 ] && [ "$(awk -v b="$bytes" -v n="$req" -v e="$body" 'BEGIN{print (b/n >= e) ? 1 : 0}')" != 1 ]; then
    ok=0; why+=("only $(awk -v b="$bytes" -v n="$req" 'BEGIN{printf "%.0f", b/n}') bytes read per request (body $body)")
  fi
  rss=$(hwm_kib "${pids[@]}")
  local cpu_us util
  cpu_us=$(awk -v a="$c0" -v b="$c1" -v n="$req" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", n ? (b-a)*1e6/hz/n : 0}')
  util=$(awk -v a="$c0" -v b="$c1" -v d="$DURATION" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/hz/d}')
  [ $ok = 1 ] || log "INVALID: $tag — ${why[*]}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$s" "$r" "$ok" "$rps" "$cpu_us" "$p99" "$rss" \
    "$non2xx" "$sockerr" "$(awk -v b="$bytes" -v n="$req" 'BEGIN{printf "%.0f", n ? b/n : 0}')" "$util" "${why[*]:-}" \
    "$(echo "$k0 $k1" | awk '{ printf "%.2f\t%.2f", ($8 - $2) / ($9 - $3 + 1e-9), ($11 - $5) / ($12 - $6 + 1e-9) }')" >>"$RESULTS"
  log "  $s: $rps req/s, $cpu_us µs CPU/req (core $util busy), p99 $p99 ms, peak RSS $((rss / 1024)) MiB$([ $ok = 1 ] || echo ' [INVALID]')"
  kill -0 "$SPID" 2>/dev/null || log "$s (pid $SPID) is gone before the stop; log: $WORK/runs/$tag.log"
  stop_pid "$SPID"; SPID=""
}

# ------------------------------------------------------------------- setup
VERSIONS="webtier $("$WEBTIER" --version 2>/dev/null | awk '{print $NF}'), $(nginx -v 2>&1 | sed 's/^nginx version: //'), wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}')"
log "versions: $VERSIONS"
log "work dir: $WORK; ports http $HTTP_PORT upstream $UP_PORT; load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_upstream

probe_failed=0
for s in $SERVERS; do probe "$s" || probe_failed=1; done
[ $probe_failed = 0 ] || die "a policy probe failed (see above); the configurations are in $WORK/{bench,probe-deny,probe-limit}"

# ------------------------------------------------------------------ rounds
read -r -a server_list <<<"$SERVERS"
t_start=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
  for sc in $SCENARIOS; do
    order=$(rotate "$r" "${server_list[@]}")
    log "$sc round $r/$ROUNDS: $order"
    for s in $order; do one_run "$sc" "$s" "$r"; done
  done
done
log "rounds took $(( $(date +%s) - t_start )) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------ report
REPORT=$WORK/report.md
python3 - "$RESULTS" "$VERSIONS" "$ROUNDS" "$DURATION" "$CONNS" "$SERVERS" "$SCENARIOS" "$WORK/missed" >"$REPORT" <<'PY'
import sys, statistics as st
res, versions, rounds, duration, conns, servers, scenarios, missed_path = sys.argv[1:]
servers = servers.split(); scenarios = scenarios.split()
rows = {}
noise = []
for l in open(res):
    f = l.rstrip("\n").split("\t")
    if len(f) < 12: continue
    sc, s, r, ok = f[0], f[1], int(f[2]), int(f[3])
    rows.setdefault((sc, s), {})[r] = dict(ok=ok, rps=float(f[4]), cpu=float(f[5]), p99=float(f[6]),
                                         rss=int(f[7]), util=float(f[11]))
    if len(f) >= 15:
        noise.append((float(f[13]), float(f[14])))
label = {"policy": "policy: allow + rewrite + rate limit (#18)",
         "bare": "bare proxy, no policy (baseline)"}
def med(sc, s, k):
    v = [x[k] for x in rows.get((sc, s), {}).values() if x["ok"]]
    return st.median(v) if v else None
def ratio(sc, s, k, ref=None):
    """median over rounds of the per-round ratio (both runs valid): server/nginx
    in the same scenario, or with ref=(sc2, s2) against another row"""
    sc2, s2 = ref or (sc, "nginx")
    a, b = rows.get((sc, s), {}), rows.get((sc2, s2), {})
    v = [a[r][k] / b[r][k] for r in a if r in b and a[r]["ok"] and b[r]["ok"] and b[r][k]]
    return st.median(v) if v else None
def f(x, d=1):
    return "—" if x is None else f"{x:,.{d}f}"
def fr(x):
    return "—" if x is None else f"{x:.2f}"
print(f"versions: {versions}  ")
print(f"one worker each on one core, wrk -t1 -c{conns} -d{duration}s; medians of {rounds} alternating rounds (valid runs only);")
print("ratios x/nginx are medians of the per-round ratios; CPU = server utime+stime per request; RSS = peak (VmHWM) summed over the server's processes;")
print("core busy = server CPU time / wall time (below 1: the loop is latency-bound, not server-bound)")
if noise:
    print(f"niced background jobs (e.g. a build) took a median {st.median(n[0] for n in noise):.0%} of the server core "
          f"and {st.median(n[1] for n in noise):.0%} of the client core during the runs (max {max(n[0] for n in noise):.0%} / {max(n[1] for n in noise):.0%})")
print()
print("| scenario | server | valid | req/s | req/s range | CPU µs/req | p99 ms | peak RSS MiB | core busy | req/s ÷ nginx | CPU ÷ nginx | p99 ÷ nginx | #18 target (policy) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
missed = []
for sc in scenarios:
    for s in servers:
        runs = rows.get((sc, s))
        if not runs: continue
        valid = [x for x in runs.values() if x["ok"]]
        rng = f"{min(x['rps'] for x in valid):,.0f}–{max(x['rps'] for x in valid):,.0f}" if valid else "—"
        target = ""
        if s == "webtier" and sc == "policy":
            rr, rc = ratio(sc, s, "rps"), ratio(sc, s, "cpu")
            miss = []
            if rr is None or rr < 1.0: miss.append(f"req/s {rr:.3f}" if rr is not None else "req/s")
            if rc is None or rc > 1.0: miss.append(f"CPU {rc:.3f}" if rc is not None else "CPU")
            target = "met" if not miss else "missed: " + ", ".join(miss)
            if miss: missed.append(sc)
        rs = ["1.00"] * 3 if s == "nginx" else [fr(ratio(sc, s, k)) for k in ("rps", "cpu", "p99")]
        rss = med(sc, s, "rss")
        print(f"| {label[sc]} | {s} | {len(valid)}/{len(runs)} | {f(med(sc, s, 'rps'), 0)} | {rng} | {f(med(sc, s, 'cpu'))} | "
              f"{f(med(sc, s, 'p99'), 2)} | {f(None if rss is None else rss / 1024)} | {f(med(sc, s, 'util'), 2)} | "
              f"{' | '.join(rs)} | {target} |")
if "policy" in scenarios and "bare" in scenarios:
    print("\nWhat the policy stages cost each server: policy ÷ bare, medians of the per-round ratios:\n")
    print("| server | req/s | CPU µs/req | CPU µs/req added |")
    print("|---|---|---|---|")
    for s in servers:
        a, b = rows.get(("policy", s), {}), rows.get(("bare", s), {})
        d = [a[r]["cpu"] - b[r]["cpu"] for r in a if r in b and a[r]["ok"] and b[r]["ok"]]
        print(f"| {s} | {fr(ratio('policy', s, 'rps', ('bare', s)))} | {fr(ratio('policy', s, 'cpu', ('bare', s)))} | "
              f"{f(st.median(d), 2) if d else '—'} |")
open(missed_path, "w").write(" ".join(missed))
PY
cat "$REPORT"

# --------------------------------------------------------------- profiling
# perf_profile SCENARIO SERVER: perf record -g -e cpu-clock for PROFILE_S s
# under wrk load; leaves $WORK/perf-SC-SRV.*
perf_profile() {
  local sc=$1 srv=$2 base=$WORK/perf-$1-$2 ppid
  start_server "$srv" "$base.log"
  if ! wait_ready "$sc"; then log "profile $sc $srv: not ready"; stop_pid "$SPID"; SPID=""; return 1; fi
  scen "$sc"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" -H "Host: $HOST" "$URL" >/dev/null 2>&1
  perf record -g -e cpu-clock -F 2000 -p "$(server_pids "$SPID" | paste -sd,)" -o "$base.data" -- sleep "$PROFILE_S" >"$base.perf.log" 2>&1 &
  ppid=$!
  sleep 0.3
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${PROFILE_S}s" -H "Host: $HOST" "$URL" >"$base.wrk" 2>&1
  wait "$ppid"
  stop_pid "$SPID"; SPID=""
  perf report -i "$base.data" --no-children --sort dso --stdio -g none 2>/dev/null >"$base.dso.txt"
  perf report -i "$base.data" --no-children --sort symbol --stdio -g none 2>/dev/null >"$base.sym.txt"
  perf report -i "$base.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null >"$base.dsosym.txt"
  perf report -i "$base.data" --children --sort symbol --stdio -g none 2>/dev/null >"$base.children.txt"
}

if [ "$PROFILE" != 0 ]; then
  if [ "$PROFILE" = auto ]; then prof=$(cat "$WORK/missed" 2>/dev/null); else prof=$PROFILE; fi
  if [ -n "$prof" ] && [ "$HAVE_PERF" = 0 ]; then
    log "webtier missed a target in: $prof — perf is not installed (apt-get install -y linux-perf); no profile"
  elif [ -n "$prof" ]; then
    log "profiling webtier (and nginx for comparison) in: $prof"
    {
      echo; echo "### Profiles (perf record -g -e cpu-clock -F 2000, $PROFILE_S s under load; percentages of the server's samples)"
      for sc in $prof; do
        perf_profile "$sc" webtier || continue
        perf_profile "$sc" nginx
        echo; echo "#### $sc — by object: webtier | nginx"; echo '```'
        paste -d'|' <(pct_lines "$WORK/perf-$sc-webtier.dso.txt" 5 | awk '{printf "%-40s\n", $0}') \
                    <(pct_lines "$WORK/perf-$sc-nginx.dso.txt" 5)
        echo '```'; echo "#### $sc — webtier, samples by crate / area"; echo '```'
        by_crate "$WORK/perf-$sc-webtier.dsosym.txt"
        echo '```'; echo "#### $sc — webtier, top symbols (self, all objects)"; echo '```'
        pct_lines "$WORK/perf-$sc-webtier.sym.txt" 25
        echo '```'; echo "#### $sc — webtier, policy stages (inclusive: children counted)"; echo '```'
        grep -E '^ +[0-9.]+%' "$WORK/perf-$sc-webtier.children.txt" |
          grep -iE 'policy|access|rewrite|rate_limit|governor|regex|client_ip' | head -n 15 | cut -c1-150 | sed 's/ *$//'
        echo '```'; echo "#### $sc — nginx, top symbols (self, all objects)"; echo '```'
        pct_lines "$WORK/perf-$sc-nginx.sym.txt" 12
        echo '```'
      done
    } | tee -a "$REPORT"
  fi
fi
log "report: $REPORT; raw rows: $RESULTS"
