#!/usr/bin/env bash
# Benchmark (issue #16): CPU per authenticated proxied request as a ratio
# to the same request without auth, in one run. Target: session ÷ open
# ≤ 1.2×.
#
# Needs (installs nothing itself):
#   apt-get install -y nginx wrk openssl curl python3 nodejs npm
#   (cd tests/support/oidc && npm ci)     # oidc-provider, the OpenID provider
#   optional, for the profile: linux-perf
#   a release build of webtier (WEBTIER=/path/to/webtier, default
#   target/release/webtier of this script's repo)
#
# What runs (all on loopback):
#   - the fixed upstream of bench/proxy.sh's reverse-proxy scenario: nginx
#     on core CLIENT_CPU answering every path with a 64-byte body (`return
#     200`); it also echoes the identity it received in X-Seen-User /
#     X-Seen-Email response headers, so the client can check that the
#     identity reached the upstream;
#   - the OpenID provider of the tests (tests/support/oidc/provider.mjs,
#     oidc-provider from npm) with the proxy as a confidential client (its
#     exact redirect_uri registered) and a machine client for the
#     client-credentials grant; long token lifetimes, no refresh tokens
#     (so no refresh happens during the run);
#   - the release proxy, one worker pinned to core SERVER_CPU, started
#     once for the whole run, with one TLS site (bench.test, a certificate
#     from a test CA minted here) with `[site.auth]` and three routes to the
#     same upstream:
#       /pub/   no auth (a public route of a site with a login)
#       /sec/   [site.route.auth] allowed_emails = ["*@example.com"]
#       /api/   [site.route.auth] login = false, bearer_audience, bearer_scopes
#
# Then one real login through the provider (bench/auth_login.py: a cookie
# jar following the redirects, filling the provider's login and consent
# forms, like tests' `Agent`) gives the session cookie, and the
# client-credentials grant gives a bearer token (RFC 9068 JWT, RS256).
#
# Scenarios (wrk -t1 -cCONNS, HTTPS keep-alive, pinned to CLIENT_CPU, the
# Lua script bench/auth.lua on every one of them):
#   open     GET /pub/hello                      (the baseline, "a")
#   session  GET /sec/hello + the session cookie  ("b")
#   bearer   GET /api/hello + Authorization: Bearer <JWT>   ("c")
#   opencookie  GET /pub/hello + the same session cookie (no auth check;
#            the cookie is only removed before the upstream): splits the
#            cost of the larger request from the cost of opening it
# Every run: a curl check (200, the exact upstream body, the identity
# header as expected) before and after, a warm-up of WARMUP s, then
# DURATION s measured. A run is valid when wrk reports no socket errors,
# the Lua script counts 0 non-200 responses and 0 responses with the wrong
# identity (open: none; session and bearer: X-Seen-User on every one),
# both curl checks pass and the proxy is alive.
# Measured: proxy CPU (utime+stime of the proxy process from
# /proc/PID/stat, before/after) per request, req/s, p99; the scenarios
# alternate within each round (rotated each round, reversed every other
# cycle, as bench/proxy.sh does), and ratios are computed per round
# against that round's `open` run, then the median is taken.
#
# Environment knobs: ROUNDS (default 8: with 4 scenarios every scenario
# runs once in every position and after every other one), DURATION (8 s),
# WARMUP (1 s), CONNS (64), SERVER_CPU (0), CLIENT_CPU (1),
# SCENARIOS ("open session bearer opencookie"; must include open),
# LUA (1: bench/auth.lua counts every response; 0: no Lua, wrk is
# lighter and the checks are the curl ones, wrk's non-2xx/3xx count and
# the bytes per response, which tell a 302 or 401 from the upstream's 200),
# TARGET (1.2), PROFILE (auto: `perf record` the proxy under each
# scenario whose median ratio misses TARGET, and under open; 0: never; or
# a list of scenarios), PROFILE_S (8), KEEP (1: keep the work dir), WORK.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
WEBTIER=${WEBTIER:-$repo/target/release/webtier}
ROUNDS=${ROUNDS:-8}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SCENARIOS=${SCENARIOS:-"open session bearer opencookie"}
TARGET=${TARGET:-1.2}
PROFILE=${PROFILE:-auto}
PROFILE_S=${PROFILE_S:-8}
LUA=${LUA:-1}
OIDC_DIR=$repo/tests/support/oidc

die() { echo "auth.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%T)] $*" >&2; }

# ------------------------------------------------------------ prerequisites
missing=()
for b in nginx wrk taskset openssl curl python3 node timeout; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} — apt-get install -y nginx wrk openssl curl python3 nodejs"
[ -f "$OIDC_DIR/node_modules/oidc-provider/package.json" ] || die "oidc-provider is not installed: (cd tests/support/oidc && npm ci)"
[ -x "$WEBTIER" ] || die "no webtier binary at $WEBTIER (cargo build --release, or set WEBTIER=)"
[ "$ROUNDS" -ge 3 ] || die "ROUNDS must be at least 3"
case " $SCENARIOS " in *" open "*) ;; *) die "SCENARIOS must include open (the reference)";; esac
HAVE_PERF=0
command -v perf >/dev/null 2>&1 && HAVE_PERF=1
CLK_TCK=$(getconf CLK_TCK)

WORK=${WORK:-$(mktemp -d /tmp/webtier-auth-bench.XXXXXX)}
mkdir -p "$WORK/runs" "$WORK/pki" "$WORK/upstream" "$WORK/webtier" "$WORK/oidc"
chmod 755 "$WORK"
RESULTS=$WORK/results.tsv
: >"$RESULTS"
SPID=""; UPID=""; OPID=""

stop_pid() { # stop_pid PID: TERM, then KILL after 5 s
  local p=$1 i
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && { log "pid $p ignored SIGTERM for 5 s; killing"; kill -KILL "$p" 2>/dev/null; }
  wait "$p" 2>/dev/null
}
cleanup() {
  stop_pid "$SPID"; stop_pid "$UPID"; stop_pid "$OPID"
  if [ "${KEEP:-1}" = 1 ]; then log "work dir kept (configs, logs, wrk outputs, raw rows): $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port); UP_PORT=$(free_port); OIDC_PORT=$(free_port)
SITE=bench.test
ORIGIN=https://$SITE:$HTTPS_PORT
ISSUER=http://127.0.0.1:$OIDC_PORT
CLIENT_ID=webtier
SECRET=bench-secret-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
ROBOT=robot
ROBOT_SECRET=robot-secret-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
AUDIENCE=https://api.$SITE
LOGIN=alice   # alice@example.com, verified (the provider's default account)

# ------------------------------------------------------------------- files
UP_BODY=$WORK/upstream-body
printf 'hello from the fixed upstream: 64 bytes, the same for everyone.\n' >"$UP_BODY"
[ "$(wc -c <"$UP_BODY")" = 64 ] || die "upstream body is not 64 bytes"

mint_pki() { # a test CA and a P-256 leaf for the site signed by it
  local d=$WORK/pki
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=webtier auth bench CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null || die "openssl: cannot make the CA"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$SITE" \
    -keyout "$d/key.pem" -out "$d/leaf.csr" 2>/dev/null || die "openssl: cannot make the key"
  printf 'subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n' "$SITE" >"$d/leaf.ext"
  openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/leaf.ext" -out "$d/cert.pem" 2>/dev/null || die "openssl: cannot sign the leaf"
}
mint_pki
CA=$WORK/pki/ca.pem; CERT=$WORK/pki/cert.pem; KEY=$WORK/pki/key.pem

write_configs() {
  local d=$WORK/upstream
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
    location / {
      default_type text/plain;
      # empty values add no header: an anonymous request gets none
      add_header X-Seen-User \$http_x_auth_request_user;
      add_header X-Seen-Email \$http_x_auth_request_email;
      return 200 "$(head -c 63 "$UP_BODY")\n";
    }
  }
}
EOF

  cat >"$WORK/oidc/config.json" <<EOF
{
  "clients": [
    {"client_id": "$CLIENT_ID", "client_secret": "$SECRET",
     "token_endpoint_auth_method": "client_secret_basic",
     "redirect_uris": ["$ORIGIN/auth/callback"],
     "post_logout_redirect_uris": ["$ORIGIN/"],
     "grant_types": ["authorization_code"], "response_types": ["code"]},
    {"client_id": "$ROBOT", "client_secret": "$ROBOT_SECRET",
     "token_endpoint_auth_method": "client_secret_basic",
     "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": [],
     "scope": "read write admin"}
  ],
  "ttl": {"IdToken": 86400, "AccessToken": 86400, "Session": 86400},
  "refresh_tokens": false,
  "resource_scopes": "read write admin"
}
EOF

  d=$WORK/webtier
  mkdir -p "$d/challenge"
  printf '%s' "$SECRET" >"$d/client.secret"
  chmod 600 "$d/client.secret"
  cat >"$d/proxy.toml" <<EOF
version = 1
http_listen = ["127.0.0.1:$HTTP_PORT"]
https_listen = ["127.0.0.1:$HTTPS_PORT"]
challenge_dir = "$d/challenge"
workers = 1
hsts_max_age = 0
tls_session_resumption = false
session_key_file = "$d/session.keys"

[timeouts]
drain_ms = 2000

[[site]]
names = ["$SITE"]
tls = { cert = "$CERT", key = "$KEY" }

[site.auth]
issuer = "$ISSUER"
client_id = "$CLIENT_ID"
client_secret_file = "$d/client.secret"
scopes = ["openid", "email"]
session_lifetime_s = 86400

[[site.route]]
path = "/pub/"
upstreams = ["http://127.0.0.1:$UP_PORT"]

[[site.route]]
path = "/sec/"
upstreams = ["http://127.0.0.1:$UP_PORT"]
[site.route.auth]
allowed_emails = ["*@example.com"]

[[site.route]]
path = "/api/"
upstreams = ["http://127.0.0.1:$UP_PORT"]
[site.route.auth]
login = false
allowed_claims = { client_id = ["$ROBOT"] }
bearer_audience = "$AUDIENCE"
bearer_scopes = ["admin"]
EOF
}
write_configs

# ------------------------------------------------------------------ servers
start_upstream() {
  local d=$WORK/upstream
  taskset -c "$CLIENT_CPU" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" -g 'daemon off;' >"$d/stdout.log" 2>&1 &
  UPID=$!
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$UP_PORT/pub/hello")" = 200 ] && return 0
    sleep 0.1
  done
  die "the upstream nginx did not come up; see $d/error.log"
}
start_provider() {
  # node's own threads are idle during the measurement (the proxy keeps
  # the discovery and the keys); pinned with the client anyway
  (cd "$OIDC_DIR" && exec taskset -c "$CLIENT_CPU" node provider.mjs --port "$OIDC_PORT" --config "$WORK/oidc/config.json") \
    >"$WORK/oidc/provider.log" 2>&1 &
  OPID=$!
  for _ in $(seq 150); do
    grep -q '^ready ' "$WORK/oidc/provider.log" 2>/dev/null && return 0
    kill -0 "$OPID" 2>/dev/null || break
    sleep 0.1
  done
  die "the OpenID provider did not come up; see $WORK/oidc/provider.log"
}
start_proxy() {
  taskset -c "$SERVER_CPU" "$WEBTIER" proxy run --file "$WORK/webtier/proxy.toml" --workers 1 >"$WORK/webtier/proxy.log" 2>&1 &
  SPID=$!
  for _ in $(seq 150); do
    kill -0 "$SPID" 2>/dev/null || break
    [ "$(curl -sk -o /dev/null -w '%{http_code}' --resolve "$SITE:$HTTPS_PORT:127.0.0.1" "$ORIGIN/pub/hello")" = 200 ] && return 0
    sleep 0.1
  done
  die "the proxy did not come up; log: $(tail -n5 "$WORK/webtier/proxy.log")"
}

cpu_ticks() { # utime+stime of the process (all its threads), clock ticks
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'
}
# core_ticks -> "busy0 nice0 total0 busy1 nice1 total1" for SERVER_CPU and
# CLIENT_CPU from /proc/stat (nice = other users' niced jobs, e.g. a build)
core_ticks() {
  awk -v a="cpu$SERVER_CPU" -v b="cpu$CLIENT_CPU" '
    $1 == a || $1 == b { busy = $2 + $3 + $4 + $7 + $8 + $9; tot = busy + $5 + $6; v[$1] = busy " " $3 " " tot }
    END { print v[a], v[b] }' /proc/stat
}

# scenario parameters: URLPATH, WANT_USER, HDR (extra header or empty)
scen() {
  HDR=()
  case $1 in
    open) URLPATH=/pub/hello WANT_USER=no ;;
    session) URLPATH=/sec/hello WANT_USER=yes HDR=(-H "Cookie: $COOKIE") ;;
    bearer) URLPATH=/api/hello WANT_USER=yes HDR=(-H "Authorization: Bearer $TOKEN") ;;
    opencookie) URLPATH=/pub/hello WANT_USER=no HDR=(-H "Cookie: $COOKIE") ;;
    *) die "unknown scenario $1" ;;
  esac
}
# check SCENARIO: one request with curl: 200, the exact body, the identity
# header as expected; RESP_BYTES = the size of the response (head + body)
check() {
  scen "$1"
  local code seen out
  out=$(curl -s --http1.1 --max-time 5 --cacert "$CA" --resolve "$SITE:$HTTPS_PORT:127.0.0.1" \
    -D "$WORK/check.head" -o "$WORK/check.body" -w '%{http_code} %{size_header}' "${HDR[@]}" "$ORIGIN$URLPATH" 2>/dev/null)
  read -r code RESP_BYTES <<<"$out"
  RESP_BYTES=$((${RESP_BYTES:-0} + $(wc -c <"$WORK/check.body")))
  seen=$(awk -F': ' 'tolower($1) == "x-seen-user" { sub(/\r$/, "", $2); print $2 }' "$WORK/check.head")
  CHECK="HTTP $code, user '${seen}'"
  [ "$code" = 200 ] && cmp -s "$WORK/check.body" "$UP_BODY" || return 1
  if [ "$WANT_USER" = yes ]; then [ -n "$seen" ]; else [ -z "$seen" ]; fi
}

# parse_wrk FILE -> "requests rps p99_ms bytes sockerr responses non200 wrong_identity non2xx3xx"
# (the last three from auth.lua: -1 without it)
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
    BEGIN { resp = -1; n200 = -1; wid = -1; n2 = 0 }
    /Non-2xx or 3xx responses:/ { n2 = $NF }
    / requests in / { req = $1; b = bytes($5) }
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ { p99 = ms($2) }
    /Socket errors:/ { gsub(",", ""); se = $4 + $6 + $8 + $10 }
    /^lua: responses/ { resp = $3; n200 = $5; wid = $7 }
    END { printf "%d %.2f %.3f %.0f %d %d %d %d %d\n", req, rps, p99, b, se, resp, n200, wid, n2 }' "$1"
}

run_wrk() { # run_wrk SCENARIO SECONDS OUT [--latency]; wrk's user+sys s in OUT.cpu
  scen "$1"
  local lua=()
  [ "$LUA" = 1 ] && lua=(-s "$here/auth.lua")
  local TIMEFORMAT='%U %S'
  { time WANT_USER=$WANT_USER taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$2s" ${4:+"$4"} "${lua[@]}" \
    -H "Host: $SITE" "${HDR[@]}" "https://127.0.0.1:$HTTPS_PORT$URLPATH" >"$3" 2>&1; } 2>"$3.cpu"
}

# ticks of our other processes: the upstream nginx (master and worker)
upstream_ticks() {
  local t=0 p v
  for p in $UPID $(pgrep -P "$UPID"); do
    v=$(cpu_ticks "$p"); t=$((t + ${v:-0}))
  done
  echo "$t"
}

# one_run SCENARIO ROUND
one_run() {
  local sc=$1 r=$2 tag="r$2-$1" ok=1 why=() c0 c1 u0 u1 k0 k1 wout=$WORK/runs/r$2-$1.wrk expect
  if ! check "$sc"; then
    log "INVALID: $tag — pre-run check: $CHECK"
    printf '%s\t%s\t0\t0\t0\t0\t0\t0\t0\t0\t0\tpre-run check: %s\t0\t0\t0\n' "$sc" "$r" "$CHECK" >>"$RESULTS"
    return
  fi
  expect=$RESP_BYTES
  run_wrk "$sc" "$WARMUP" "$wout.warmup"
  k0=$(core_ticks); u0=$(upstream_ticks); c0=$(cpu_ticks "$SPID")
  run_wrk "$sc" "$DURATION" "$wout" --latency
  c1=$(cpu_ticks "$SPID"); u1=$(upstream_ticks); k1=$(core_ticks)
  read -r req rps p99 bytes sockerr resp non200 wrongid n2 < <(parse_wrk "$wout")
  kill -0 "$SPID" 2>/dev/null || { ok=0; why+=("proxy died"); }
  check "$sc" || { ok=0; why+=("post-run check: $CHECK"); }
  [ "${req:-0}" -gt 0 ] || { ok=0; why+=("no requests"); }
  [ "${sockerr:-1}" = 0 ] || { ok=0; why+=("socket errors $(grep 'Socket errors' "$wout" | sed 's/^ *//')"); }
  [ "${n2:-1}" = 0 ] || { ok=0; why+=("$n2 non-2xx/3xx (wrk)"); }
  if [ "$LUA" = 1 ]; then
    [ "${resp:--1}" -ge "${req:-0}" ] || { ok=0; why+=("auth.lua counted $resp responses of $req"); }
    [ "${non200:-1}" = 0 ] || { ok=0; why+=("$non200 non-200 ($(grep '^lua:' "$wout" | sed 's/.*statuses//'))"); }
    [ "${wrongid:-1}" = 0 ] || { ok=0; why+=("$wrongid with the wrong identity upstream"); }
  fi
  local cpu_us util bpr other wrk_s
  cpu_us=$(awk -v a="$c0" -v b="$c1" -v n="$req" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", n ? (b-a)*1e6/hz/n : 0}')
  util=$(awk -v a="$c0" -v b="$c1" -v d="$DURATION" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/hz/d}')
  bpr=$(awk -v b="$bytes" -v n="$req" 'BEGIN{printf "%.1f", n ? b/n : 0}')
  # wrk's reported bytes per response are the exact response size (the
  # Date header is fixed-width): a 302 or 401 would not be
  awk -v b="$bpr" -v e="$expect" 'BEGIN{exit !(b >= e - 1 && b <= e + 1)}' ||
    { ok=0; why+=("$bpr bytes per response, expected $expect"); }
  # CPU not ours on the two cores (other work on the machine), as a share
  # of the two cores: busy ticks - proxy - upstream - wrk
  wrk_s=$(awk '{print $1 + $2}' "$wout.cpu" 2>/dev/null)
  other=$(echo "$k0 $k1" | awk -v p=$((c1 - c0)) -v u=$((u1 - u0)) -v w="${wrk_s:-0}" -v hz="$CLK_TCK" \
    '{ busy = ($7 - $1) + ($10 - $4); tot = ($9 - $3) + ($12 - $6); printf "%.3f", (busy - p - u - w * hz) / (tot + 1e-9) }')
  [ $ok = 1 ] || log "INVALID: $tag — ${why[*]}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$r" "$ok" "$rps" "$cpu_us" "$p99" "$req" \
    "$resp" "$non200" "$wrongid" "$util" "${why[*]:-}" \
    "$(echo "$k0 $k1" | awk '{ printf "%.2f\t%.2f", ($8 - $2) / ($9 - $3 + 1e-9), ($11 - $5) / ($12 - $6 + 1e-9) }')" "$other" >>"$RESULTS"
  log "  $sc: $rps req/s, $cpu_us µs CPU/req (proxy core $util busy), p99 $p99 ms, $bpr B/resp, $([ "$LUA" = 1 ] && echo "lua: $resp responses, $non200 non-200, $wrongid wrong identity, ")others' CPU $other of 2 cores$([ $ok = 1 ] || echo ' [INVALID]')"
}

rotate() { # rotate ROUND LIST... -> rotated by ROUND, reversed every other cycle
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

# ------------------------------------------------------------------- setup
VERSIONS="webtier $("$WEBTIER" --version 2>/dev/null | awk '{print $NF}') ($(cd "$repo" && git rev-parse --short HEAD 2>/dev/null)), oidc-provider $(node -p "require('$OIDC_DIR/node_modules/oidc-provider/package.json').version"), node $(node --version), $(nginx -v 2>&1 | sed 's/^nginx version: //'), wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}')"
log "versions: $VERSIONS"
log "work dir: $WORK; ports https $HTTPS_PORT upstream $UP_PORT provider $OIDC_PORT; load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_upstream
start_provider
start_proxy
log "proxy pid $SPID ($(awk '/^Threads:/ {print $2}' "/proc/$SPID/status") threads)"

# the login (the protected route answers 503 until discovery is done; the
# login script needs it done: wait for a 302 on a browser request)
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" --resolve "$SITE:$HTTPS_PORT:127.0.0.1" \
    -H 'Accept: text/html' "$ORIGIN/sec/hello")
  [ "$code" = 302 ] && break
  sleep 0.1
done
[ "$code" = 302 ] || die "the protected route does not redirect a browser to the login (HTTP $code); log: $(tail -n5 "$WORK/webtier/proxy.log")"
python3 "$here/auth_login.py" "$ORIGIN" /sec/hello "$LOGIN" "$CA" "$WORK/cookie" \
  "$ISSUER" "$ROBOT" "$ROBOT_SECRET" admin "$AUDIENCE" "$WORK/token" 2>"$WORK/login.log"
rc=$?
sed 's/^/  /' "$WORK/login.log" >&2
[ $rc = 0 ] || die "the login failed"
COOKIE=$(cat "$WORK/cookie"); TOKEN=$(cat "$WORK/token")

# the responses without credentials, to show the routes are protected
for p in /sec/hello /api/hello; do
  log "  without credentials: GET $p -> $(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" --resolve "$SITE:$HTTPS_PORT:127.0.0.1" "$ORIGIN$p") (API), $(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" --resolve "$SITE:$HTTPS_PORT:127.0.0.1" -H 'Accept: text/html' "$ORIGIN$p") (browser)"
done
for sc in $SCENARIOS; do
  check "$sc" || die "scenario $sc: the check fails before the rounds: $CHECK"
  log "  check $sc: $CHECK"
done

# ------------------------------------------------------------------ rounds
read -r -a scen_list <<<"$SCENARIOS"
t_start=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
  order=$(rotate "$r" "${scen_list[@]}")
  log "round $r/$ROUNDS: $order"
  for sc in $order; do one_run "$sc" "$r"; done
done
log "rounds took $(($(date +%s) - t_start)) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
warnings=$(grep -ciE 'warn|error' "$WORK/webtier/proxy.log")
log "proxy log: $warnings warning/error line(s)$([ "$warnings" = 0 ] || echo ": $(grep -iE 'warn|error' "$WORK/webtier/proxy.log" | sort | uniq -c | sort -rn | head -n3 | cut -c1-200 | tr '\n' ' ')")"

# ------------------------------------------------------------------ report
REPORT=$WORK/report.md
python3 "$here/auth_report.py" "$RESULTS" "$VERSIONS" "$ROUNDS" "$DURATION" "$CONNS" "$SCENARIOS" "$TARGET" \
  "$WORK/missed" "${#COOKIE}" "${#TOKEN}" >"$REPORT"
cat "$REPORT"

# --------------------------------------------------------------- profiling
# perf_profile SCENARIO: perf record the proxy for PROFILE_S s under wrk
perf_profile() {
  local sc=$1 base=$WORK/perf-$1 ppid
  run_wrk "$sc" "$WARMUP" "$base.warmup"
  # DWARF call graphs (the release build has no frame pointers; its
  # .eh_frame unwinds), at 499 Hz to keep the data small
  perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$SPID" -o "$base.data" -- sleep "$PROFILE_S" >"$base.perf.log" 2>&1 &
  ppid=$!
  sleep 0.3
  run_wrk "$sc" "$PROFILE_S" "$base.wrk"
  wait "$ppid"
  perf report -i "$base.data" --no-children --sort dso --stdio 2>/dev/null >"$base.dso.txt"
  perf report -i "$base.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null >"$base.sym.txt"
  # inclusive shares (a function and what it calls), for the auth path
  perf report -i "$base.data" --children --sort symbol --stdio -g none 2>/dev/null >"$base.children.txt"
}
pct_lines() { grep -E '^ +[0-9.]+%' "$1" | head -n "$2" | cut -c1-160 | sed 's/[ -]*$//'; }
to_profile=""
case $PROFILE in
  0) ;;
  auto) to_profile=$(cat "$WORK/missed" 2>/dev/null) ;;
  *) to_profile=$PROFILE ;;
esac
if [ -n "$to_profile" ]; then
  if [ $HAVE_PERF = 0 ]; then
    log "no perf: not profiling ($to_profile)"
  else
    log "profiling the proxy (perf record -e cpu-clock --call-graph dwarf, $PROFILE_S s each): open $to_profile"
    for sc in open $to_profile; do
      perf_profile "$sc"
      read -r req _ < <(parse_wrk "$WORK/perf-$sc.wrk")
      echo
      echo "### perf: $sc ($req requests in ${PROFILE_S} s; $WORK/perf-$sc.data)"
      echo
      echo '```'
      pct_lines "$WORK/perf-$sc.dso.txt" 6
      echo '---'
      pct_lines "$WORK/perf-$sc.sym.txt" 40
      echo '--- inclusive (children), auth and crypto frames'
      grep -E '^ +[0-9.]+%' "$WORK/perf-$sc.children.txt" |
        grep -iE 'auth::|aes|gcm|aead|serde_json|base64|rsa|bigint|num_|openidconnect|verify|sha2|cookie' |
        head -n 40 | cut -c1-160 | sed 's/[ -]*$//'
      echo '```'
    done
  fi
fi
