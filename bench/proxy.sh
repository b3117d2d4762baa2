#!/usr/bin/env bash
# Benchmark: the bundled proxy daemon (`webtier proxy run`) against nginx,
# HAProxy and Caddy, one worker thread each, on the same core, driven by wrk
# (HTTP/1.1) and h2load (HTTP/2).
#
# Needs (installs nothing itself):
#   apt-get install -y nginx caddy haproxy wrk nghttp2-client openssl curl python3
#   (nghttp2-client is h2load; curl must have HTTP2 among its features)
#   optional, for profiling webtier where it misses a target: linux-perf
#   a release build of webtier (WEBTIER=/path/to/webtier, default
#   target/release/webtier next to this script's repo)
#
# Scenarios (wrk -t1 -cCONNS -dDURATION --latency, pinned to core CLIENT_CPU;
# every server pinned to core SERVER_CPU with one worker: nginx
# worker_processes 1, haproxy nbthread 1, caddy GOMAXPROCS=1, webtier
# --workers 1):
#   static1k    GET a 1 KiB file over HTTP/1.1 keep-alive
#   static100k  GET a 100 KiB file over HTTP/1.1 keep-alive (no HAProxy: it
#               serves no files, and `http-request return` is one buffer)
#   proxy       GET /api/hello reverse-proxied over HTTP to one fixed
#               upstream (an extra nginx on core CLIENT_CPU answering a 64-byte
#               body with `return 200`), upstream keep-alive on every server
#   https1k     GET the 1 KiB file over HTTPS keep-alive (ECDSA P-256)
#   tlsnew      the same with `Connection: close`: one TLS handshake per
#               request. Session resumption is off on every server that can
#               turn it off; wrk resumes where the server allows it, so each
#               server's resumption is probed and reported, and a second
#               client (curl --no-sessionid, HTTP/1.1, CONNS in parallel)
#               makes HANDSHAKES full handshakes to read the server's CPU per
#               full handshake.
#   cache       (issue #19) GET /api/cached, a proxied GET answered from the
#               response cache: the upstream answers a 64-byte body with
#               `Cache-Control: max-age=600` and logs each request it gets.
#               webtier: route `cache = { }` (top-level [cache]
#               max_size_mb = 64); nginx: proxy_cache_path + proxy_cache,
#               key $host$request_uri, proxy_cache_valid 200 10m (the
#               upstream's max-age gives the same 10 min). A run is valid
#               only when the curl checks before and after it see a HIT
#               (webtier `X-Cache: HIT`, nginx `add_header X-Cache-Status
#               $upstream_cache_status`) and the upstream logged no request
#               during the measured run.
#   gzip20k     (issue #19) GET /api/data.json with `Accept-Encoding: gzip`:
#               the upstream serves a ~20 KiB JSON body (application/json,
#               no Cache-Control, no ETag / Last-Modified), not cached,
#               compressed by the proxy with gzip level 1. webtier: route
#               `compress = { encodings = ["gzip"], gzip_level = 1 }`;
#               nginx: gzip on; gzip_comp_level 1; gzip_types
#               application/json; gzip_proxied any; gzip_min_length 1024;
#               gzip_vary on (webtier always sends Vary). The curl checks
#               require `Content-Encoding: gzip` and a body that gunzips to
#               the upstream's; wrk's bytes per request must lie between the
#               compressed body and the uncompressed one. The report gives
#               each server's compressed body size.
#   gzip20k2    the same JSON at /api/data-l2.json, where webtier compresses
#               with gzip_level = 2 and nginx still with level 1: webtier's
#               zlib-rs makes level 1 with static Huffman codes (~30% larger
#               than zlib's level 1 here), its level 2 is the first no larger
#               than nginx's level 1. Not a target; it shows the speed at a
#               comparable output size.
#   h2static1k  (issue #21) GET the 1 KiB file over HTTP/2 over TLS (ALPN h2)
#               on the HTTPS port, site bench.test, driven by h2load -t1
#               -cH2_CONNS -mH2_STREAMS -D DURATION (one TLS connection per
#               client, H2_STREAMS requests in flight on each), pinned to
#               core CLIENT_CPU like wrk
#   h2proxy     (issue #21) GET /api/hello over HTTP/2 over TLS, reverse-
#               proxied (HTTP/1.1, upstream keep-alive) to the fixed upstream
#               of `proxy`: webtier's bench.test site has the same /api/
#               route as plain.test, nginx's TLS server the same location,
#               but with its own `upstream` block whose `keepalive` covers
#               the H2_CONNS x H2_STREAMS requests in flight (320; with
#               `proxy`'s keepalive 64 nginx opened a new upstream
#               connection for ~25% of the requests). webtier keeps up to
#               256 idle upstream connections per worker (a constant).
#   h2static1k and h2proxy run webtier (and webtier-b) and nginx only:
#   HAProxy serves no files and Caddy is far behind in every HTTP/1.1
#   scenario, so neither is measured over HTTP/2. The warm-up is a separate
#   WARMUP s h2load run, as with wrk (h2load's --warm-up-time is not used:
#   the server's CPU is read around the measured h2load process, and its
#   traffic counters include the warm-up's). p99 is computed from h2load's
#   --log-file (one line per request of the measured run). A run is valid
#   only when h2load negotiated h2, every request done was 2xx (its "status
#   codes" line), none errored or timed out, the log has one line per
#   request done, its DATA bytes per request are at least the body size,
#   both curl checks (--http2) get status 200 and the exact body over
#   HTTP/2, and the server is still alive.
#   cache and gzip20k(2) run webtier (and webtier-b) and nginx only. Before the
#   rounds a probe checks both servers: cache MISS then HIT with one upstream
#   request, gzip with the same decoded body on every server (and identity
#   without Accept-Encoding); the script stops if it fails.
# HAProxy's "static" file is `http-request return ... file` (read into
# memory at start), flagged in the table.
#
# Every (scenario, round, server) run starts the server fresh from the same
# configuration file, checks one response (status 200 and the exact body)
# with curl, warms up for WARMUP s, measures, checks a response again, reads
# peak RSS and stops the server. Servers alternate round by round (the order
# rotates, and reverses every other cycle). Measured: wrk's req/s and p99
# latency; server CPU (utime+stime of every server process from
# /proc/PID/stat, before/after the run) per request; peak RSS (VmHWM summed
# over the server's processes: nginx master + worker). A row is valid only
# when wrk reports 0 non-2xx/3xx responses and 0 socket errors, both curl
# checks pass, bytes read per request are at least the body size and the
# server is still alive.
#
# Environment knobs: ROUNDS (default 3, minimum 3), DURATION (10 s),
# WARMUP (1 s), CONNS (64: wrk's connections), H2_CONNS (32: h2load's
# clients, one connection each), H2_STREAMS (10: h2load's concurrent streams
# per connection), SERVER_CPU (0), CLIENT_CPU (1),
# HANDSHAKES (3000: curl full handshakes per server and round in tlsnew; 0 =
# skip), SCENARIOS ("static1k static100k proxy https1k tlsnew cache gzip20k
# gzip20k2 h2static1k h2proxy"),
# SERVERS ("webtier nginx haproxy caddy"; nginx is the reference for ratios;
# "webtier-b" adds the binary WEBTIER_B with webtier's configuration, to
# compare two builds in the same rounds),
# PROFILE (auto: after the rounds, `perf record` webtier in every scenario
# where it missed a target; 0: never; or a list of scenarios, where
# "tlsfull" means curl's full handshakes as the load; nginx is profiled
# the same way for comparison), PROFILE_S (5: seconds per profile),
# KEEP (1: keep the work dir with configs, logs, wrk and h2load outputs and
# raw rows; 0 deletes it), WORK (work directory, default a fresh mktemp -d).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WEBTIER=${WEBTIER:-$here/../target/release/webtier}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-64}
H2_CONNS=${H2_CONNS:-32}
H2_STREAMS=${H2_STREAMS:-10}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
HANDSHAKES=${HANDSHAKES:-3000}
SCENARIOS=${SCENARIOS:-"static1k static100k proxy https1k tlsnew cache gzip20k gzip20k2 h2static1k h2proxy"}
SERVERS=${SERVERS:-"webtier nginx haproxy caddy"}
PROFILE=${PROFILE:-auto}
PROFILE_S=${PROFILE_S:-5}

BENCH=proxy.sh
# shellcheck source=bench/lib.sh
. "$here/lib.sh" # die, log, stop_pid, cleanup, free_port, server_pids, cpu/core ticks, hwm_kib, parse_wrk, parse_h2load, h2_latency, rotate, perf report helpers

# ------------------------------------------------------------ prerequisites
missing=()
for b in nginx caddy haproxy wrk h2load taskset openssl curl python3 timeout cmp gzip; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} — apt-get install -y nginx caddy haproxy wrk nghttp2-client openssl curl python3"
curl -V | grep -qw HTTP2 || die "this curl has no HTTP/2 (curl -V lists no HTTP2 feature); the h2 scenarios' checks need it"
[ -x "$WEBTIER" ] || die "no webtier binary at $WEBTIER (build with cargo build --release, or set WEBTIER=)"
WEBTIER=$(cd "$(dirname "$WEBTIER")" && pwd)/$(basename "$WEBTIER")
case " $SERVERS " in
  *" webtier-b "*) [ -x "${WEBTIER_B:-}" ] || die "SERVERS has webtier-b: set WEBTIER_B to a second webtier binary" ;;
esac
[ "$ROUNDS" -ge 3 ] || die "ROUNDS must be at least 3"
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 cores; server and client share a core"
case " $SERVERS " in *" nginx "*) ;; *) die "SERVERS must include nginx (the reference)";; esac
HAVE_PERF=0
command -v perf >/dev/null 2>&1 && HAVE_PERF=1
CLK_TCK=$(getconf CLK_TCK)

WORK=${WORK:-$(mktemp -d /tmp/webtier-proxy-bench.XXXXXX)}
mkdir -p "$WORK"
chmod 755 "$WORK" # nginx's worker runs as nobody and must read the files
RESULTS=$WORK/results.tsv
HSRESULTS=$WORK/handshakes.tsv
RESUME=$WORK/resumption.tsv
: >"$RESULTS"; : >"$HSRESULTS"; : >"$RESUME"
SPID=""; UPID=""

trap cleanup EXIT
trap 'exit 130' INT TERM

HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port); UP_PORT=$(free_port)

# ------------------------------------------------------------------- files
WWW=$WORK/www
mkdir -p "$WWW" "$WORK/pki" "$WORK/runs"
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 >"$WWW/1k.bin"
head -c 102400 /dev/urandom >"$WWW/100k.bin"
UP_BODY=$WORK/upstream-body
printf 'hello from the fixed upstream: 64 bytes, the same for everyone.\n' >"$UP_BODY"
[ "$(wc -c <"$UP_BODY")" = 64 ] || die "upstream body is not 64 bytes"
chmod 644 "$WWW"/* "$UP_BODY"
# the gzip20k upstream body: ~20 KiB of JSON records, always the same bytes
# (a fixed seed), so that compressed sizes compare across runs
UPWWW=$WORK/upstream-www
mkdir -p "$UPWWW"
JSON=$UPWWW/data.json
python3 - "$JSON" <<'PY'
import json, random, sys
rnd = random.Random(19)
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split()
recs, out = [], ""
while True:
    i = len(recs) + 1
    recs.append({"id": i, "name": f"user-{i:05d}", "email": f"user{i}@example.test",
                 "active": rnd.random() < 0.7, "score": round(rnd.uniform(0, 100), 3),
                 "tags": rnd.sample(words, 3),
                 "created": f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:00Z",
                 "token": "%032x" % rnd.getrandbits(128)})
    text = json.dumps({"items": recs, "count": len(recs)}, separators=(",", ":")) + "\n"
    if len(text) > 20480: break
    out = text
open(sys.argv[1], "w").write(out)
PY
chmod 755 "$UPWWW"; chmod 644 "$JSON"
JSON_SIZE=$(wc -c <"$JSON")
[ "$JSON_SIZE" -gt 19000 ] && [ "$JSON_SIZE" -le 20480 ] || die "the JSON body is $JSON_SIZE bytes, not ~20 KiB"

mint_cert() {
  local d=$WORK/pki
  printf 'subjectAltName=DNS:bench.test,DNS:plain.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test,DNS:plain.test,IP:127.0.0.1" \
    -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null || die "openssl: cannot make the P-256 certificate"
  cat "$d/cert.pem" "$d/key.pem" >"$d/combined.pem"
  chmod 644 "$d"/*.pem
}
mint_cert
CERT=$WORK/pki/cert.pem; KEY=$WORK/pki/key.pem

# ----------------------------------------------------------------- configs
write_configs() {
  local d
  # the fixed upstream (not measured): nginx on the client core
  d=$WORK/upstream; mkdir -p "$d"
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
    location / { default_type text/plain; return 200 "$(head -c 63 "$UP_BODY")\n"; }
    # cache: the same body, fresh for 10 min; every request it gets is logged
    location = /api/cached {
      access_log $d/cached.log;
      add_header Cache-Control "max-age=600";
      default_type text/plain; return 200 "$(head -c 63 "$UP_BODY")\n";
    }
    # gzip20k: the JSON, with no validators and no ranges (a plain API answer)
    location = /api/data.json {
      alias $JSON;
      types { } default_type application/json;
      etag off; add_header Last-Modified ""; max_ranges 0;
    }
    location = /api/data-l2.json {
      alias $JSON;
      types { } default_type application/json;
      etag off; add_header Last-Modified ""; max_ranges 0;
    }
  }
}
EOF

  # nginx: Debian's defaults (sendfile, tcp_nopush) plus what TESTBED.md asks
  d=$WORK/nginx; mkdir -p "$d"
  # the /api/ location's proxying, for the cache and gzip20k locations and
  # the TLS server's /api/ (h2proxy)
  local ngx_fwd='proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;'
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  keepalive_requests 1000000;
  client_body_temp_path $d/tmp-body; proxy_temp_path $d/tmp-proxy;
  fastcgi_temp_path $d/tmp-fcgi; uwsgi_temp_path $d/tmp-uwsgi; scgi_temp_path $d/tmp-scgi;
  upstream fixed { server 127.0.0.1:$UP_PORT; keepalive 64; }
  # h2proxy: up to H2_CONNS x H2_STREAMS requests in flight, each on its own
  # upstream connection; with keepalive 64 nginx closed the connections
  # beyond 64 idle ones and opened a new one for ~25% of the requests
  upstream fixed_h2 { server 127.0.0.1:$UP_PORT; keepalive $((H2_CONNS * H2_STREAMS > 64 ? H2_CONNS * H2_STREAMS : 64)); }
  # cache: in memory keys, bodies in files (nginx's only kind of cache)
  proxy_cache_path $d/cache levels=1:2 keys_zone=bench:10m max_size=64m inactive=60m use_temp_path=off;
  server {
    listen 127.0.0.1:$HTTP_PORT;
    server_name plain.test;
    root $WWW;
    location /api/ {
      proxy_pass http://fixed;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # The forwarding headers webtier always sets (and Caddy by default).
      proxy_set_header Host \$host;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
    }
    location = /api/cached {
      proxy_pass http://fixed;
      $ngx_fwd
      proxy_cache bench;
      proxy_cache_key \$host\$request_uri;
      proxy_cache_valid 200 10m;
      add_header X-Cache-Status \$upstream_cache_status;
    }
    location ~ ^/api/data(-l2)?\\.json\$ {
      proxy_pass http://fixed;
      $ngx_fwd
      gzip on;
      gzip_comp_level 1;
      gzip_types application/json;
      gzip_proxied any;
      gzip_min_length 1024;
      gzip_vary on;
    }
  }
  server {
    listen 127.0.0.1:$HTTPS_PORT ssl http2;
    server_name bench.test;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    # nginx 1.22's default stops at TLS 1.2 (1.23.4 added 1.3): with 1.3
    # every server here negotiates TLS 1.3 and TLS_AES_256_GCM_SHA384 with
    # wrk and h2load, so the TLS scenarios compare the same cryptography
    # (before 2026-12-05 nginx ran TLS 1.2 with AES-128-GCM here)
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    root $WWW;
    # h2proxy: the plain server's /api/ (upstream keep-alive, the same
    # forwarding headers), here behind HTTP/2 over TLS
    location /api/ {
      proxy_pass http://fixed_h2;
      $ngx_fwd
    }
  }
}
EOF

  # HAProxy: no files; the 1 KiB "file" is an in-memory `return`
  d=$WORK/haproxy; mkdir -p "$d"
  cat >"$d/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
  tune.ssl.cachesize 0
  ssl-default-bind-options no-tls-tickets
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
  option http-keep-alive
  http-reuse always
frontend plain
  bind 127.0.0.1:$HTTP_PORT
  http-request return status 200 content-type application/octet-stream file $WWW/1k.bin if { path /1k.bin }
  http-request deny deny_status 404 unless { path_beg /api/ }
  default_backend fixed
frontend tls
  bind 127.0.0.1:$HTTPS_PORT ssl crt $WORK/pki/combined.pem alpn h2,http/1.1
  http-request return status 200 content-type application/octet-stream file $WWW/1k.bin if { path /1k.bin }
  http-request deny deny_status 404
backend fixed
  option forwardfor
  http-request set-header X-Real-IP %[src]
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  server s1 127.0.0.1:$UP_PORT maxconn 64
EOF

  # Caddy: admin API, automatic HTTPS and HTTP/3 off; session tickets off
  d=$WORK/caddy; mkdir -p "$d/home" "$d/data" "$d/config"
  local routes
  routes=$(cat <<EOF
[{"match": [{"path": ["/api/*"]}],
  "handle": [{"handler": "reverse_proxy",
              "transport": {"protocol": "http", "keep_alive": {"max_idle_conns_per_host": 64}},
              "upstreams": [{"dial": "127.0.0.1:$UP_PORT"}]}]},
 {"handle": [{"handler": "file_server", "root": "$WWW"}]}]
EOF
)
  cat >"$d/caddy.json" <<EOF
{"admin": {"disabled": true},
 "logging": {"logs": {"default": {"level": "WARN"}}},
 "storage": {"module": "file_system", "root": "$d/data"},
 "apps": {
  "http": {"servers": {
    "plain": {"listen": ["127.0.0.1:$HTTP_PORT"], "protocols": ["h1"],
              "automatic_https": {"disable": true}, "routes": $routes},
    "tls": {"listen": ["127.0.0.1:$HTTPS_PORT"], "protocols": ["h1", "h2"],
            "automatic_https": {"disable": true},
            "tls_connection_policies": [{"certificate_selection": {"any_tag": ["bench"]}}],
            "routes": [{"handle": [{"handler": "file_server", "root": "$WWW"}]}]}}},
  "tls": {"certificates": {"load_files": [{"certificate": "$CERT", "key": "$KEY", "tags": ["bench"]}]},
          "session_tickets": {"disabled": true}}}}
EOF

  # webtier: one TLS site (files, and /api/ for h2proxy), one plain site;
  # HSTS off like the others
  d=$WORK/webtier; mkdir -p "$d/challenge"
  cat >"$d/proxy.toml" <<EOF
version = 1
http_listen = ["127.0.0.1:$HTTP_PORT"]
https_listen = ["127.0.0.1:$HTTPS_PORT"]
challenge_dir = "$d/challenge"
workers = 1
hsts_max_age = 0
tls_session_resumption = false

[timeouts]
drain_ms = 2000

# the response cache's store (the defaults, spelled out)
[cache]
max_size_mb = 64
max_entry_kb = 1024

[[site]]
names = ["bench.test"]
tls = { cert = "$CERT", key = "$KEY" }
[[site.route]]
path = "/"
root = "$WWW"
[[site.route]]
path = "/api/"
upstreams = ["http://127.0.0.1:$UP_PORT"]

[[site]]
names = ["plain.test"]
[[site.route]]
path = "/"
root = "$WWW"
[[site.route]]
path = "/api/"
upstreams = ["http://127.0.0.1:$UP_PORT"]
[[site.route]]
path = "/api/cached"
upstreams = ["http://127.0.0.1:$UP_PORT"]
cache = { }
[[site.route]]
path = "/api/data.json"
upstreams = ["http://127.0.0.1:$UP_PORT"]
compress = { encodings = ["gzip"], gzip_level = 1 }
[[site.route]]
path = "/api/data-l2.json"
upstreams = ["http://127.0.0.1:$UP_PORT"]
compress = { encodings = ["gzip"], gzip_level = 2 }
EOF
}
write_configs
"$WEBTIER" proxy validate --file "$WORK/webtier/proxy.toml" >"$WORK/webtier/validate.log" 2>&1 ||
  die "webtier proxy validate refuses $WORK/webtier/proxy.toml: $(tr '\n' ' ' <"$WORK/webtier/validate.log")"
nginx -t -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/test.log" 2>&1 ||
  die "nginx -t refuses $WORK/nginx/nginx.conf: $(tr '\n' ' ' <"$WORK/nginx/test.log")"

# ------------------------------------------------------------------ servers
# start_server NAME LOG: foreground, pinned, one worker; sets SPID
start_server() {
  local name=$1 logf=$2 d=$WORK/$1
  case $name in
    webtier) taskset -c "$SERVER_CPU" "$WEBTIER" proxy run --file "$d/proxy.toml" --workers 1 >"$logf" 2>&1 & ;;
    webtier-b) taskset -c "$SERVER_CPU" "$WEBTIER_B" proxy run --file "$WORK/webtier/proxy.toml" --workers 1 >"$logf" 2>&1 & ;;
    nginx) rm -rf "$d/cache" # an empty cache at every start, like webtier's
           taskset -c "$SERVER_CPU" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" -g 'daemon off;' >"$logf" 2>&1 & ;;
    haproxy) taskset -c "$SERVER_CPU" haproxy -db -f "$d/haproxy.cfg" >"$logf" 2>&1 & ;;
    caddy) taskset -c "$SERVER_CPU" env HOME="$d/home" XDG_DATA_HOME="$d/data" XDG_CONFIG_HOME="$d/config" \
             GOMAXPROCS=1 caddy run --config "$d/caddy.json" >"$logf" 2>&1 & ;;
  esac
  SPID=$!
}
start_upstream() {
  local d=$WORK/upstream
  taskset -c "$CLIENT_CPU" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" -g 'daemon off;' >"$d/stdout.log" 2>&1 &
  UPID=$!
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$UP_PORT/api/hello")" = 200 ] && return 0
    sleep 0.1
  done
  die "the upstream nginx did not come up; see $d/error.log"
}

# scenario parameters: URL, HOST, EXPECT (file with the exact body), EXTRA
scen() {
  EXTRA=()
  case $1 in
    static1k) URL=http://127.0.0.1:$HTTP_PORT/1k.bin HOST=plain.test EXPECT=$WWW/1k.bin ;;
    static100k) URL=http://127.0.0.1:$HTTP_PORT/100k.bin HOST=plain.test EXPECT=$WWW/100k.bin ;;
    proxy) URL=http://127.0.0.1:$HTTP_PORT/api/hello HOST=plain.test EXPECT=$UP_BODY ;;
    https1k) URL=https://127.0.0.1:$HTTPS_PORT/1k.bin HOST=bench.test EXPECT=$WWW/1k.bin ;;
    tlsnew) URL=https://127.0.0.1:$HTTPS_PORT/1k.bin HOST=bench.test EXPECT=$WWW/1k.bin EXTRA=(-H 'Connection: close') ;;
    cache) URL=http://127.0.0.1:$HTTP_PORT/api/cached HOST=plain.test EXPECT=$UP_BODY ;;
    gzip20k) URL=http://127.0.0.1:$HTTP_PORT/api/data.json HOST=plain.test EXPECT=$JSON EXTRA=(-H 'Accept-Encoding: gzip') ;;
    gzip20k2) URL=http://127.0.0.1:$HTTP_PORT/api/data-l2.json HOST=plain.test EXPECT=$JSON EXTRA=(-H 'Accept-Encoding: gzip') ;;
    h2static1k) URL=https://127.0.0.1:$HTTPS_PORT/1k.bin HOST=bench.test EXPECT=$WWW/1k.bin ;;
    h2proxy) URL=https://127.0.0.1:$HTTPS_PORT/api/hello HOST=bench.test EXPECT=$UP_BODY ;;
  esac
}
is_h2() { case $1 in h2static1k | h2proxy) return 0 ;; esac; return 1; } # is_h2 SCENARIO: HTTP/2, h2load
applies() { # applies SCENARIO SERVER
  [ "$2" = haproxy ] && [ "$1" = static100k ] && return 1
  case $1 in cache | gzip20k | gzip20k2 | h2static1k | h2proxy) case $2 in webtier | webtier-b | nginx) ;; *) return 1 ;; esac ;; esac
  return 0
}
# drive SCENARIO SECONDS OUT [measure]: the scenario's load (scen must have
# set URL, HOST, EXTRA) from core CLIENT_CPU for SECONDS s, its output in
# OUT. HTTP/1.1: wrk -t1 -cCONNS (--latency when measuring). HTTP/2: h2load
# -t1 -cH2_CONNS -mH2_STREAMS -D SECONDS, h2load's default ALPN list
# (h2 first; parse_h2load reports what was negotiated), :authority HOST (h2load
# sends a -H 'Host:' as a second, conflicting authority); when measuring,
# one line per request in OUT.log (h2load appends, so it is removed first).
drive() {
  local sc=$1 secs=$2 outf=$3 measure=${4:-}
  if is_h2 "$sc"; then
    local lg=()
    if [ -n "$measure" ]; then rm -f "$outf.log"; lg=(--log-file="$outf.log"); fi
    taskset -c "$CLIENT_CPU" timeout -k 5 $((secs + 30)) h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D "$secs" \
      -H ":authority: $HOST" "${lg[@]}" "${EXTRA[@]}" "$URL" >"$outf" 2>&1
  else
    local lat=()
    [ -n "$measure" ] && lat=(--latency)
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" "${lat[@]}" -H "Host: $HOST" "${EXTRA[@]}" "$URL" >"$outf" 2>&1
  fi
}
# load_requests SCENARIO OUT: the requests a drive run completed
load_requests() {
  if is_h2 "$1"; then parse_h2load "$2" | awk '{print $1}'; else parse_wrk "$2" | awk '{print $1}'; fi
}
# header FILE NAME...: the value of the first of the named headers in a
# curl -D dump (names in lower case), without the CR
header() {
  local f=$1; shift
  awk -v names=" $* " '{ sub(/\r$/, "") }
    { i = index($0, ":"); if (!i) next; n = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1); sub(/^ +/, "", v)
      if (index(names, " " n " ") && !(n in seen)) { seen[n] = v; order[++k] = n } }
    END { for (j = 1; j <= k; j++) { print seen[order[j]]; exit } }' "$f"
}
# check SCENARIO: one request with curl, status 200 and the exact body
# (HTTP/1.1; h2static1k and h2proxy: --http2, and the answer must be HTTP/2).
# cache: CHECK_XCACHE is the cache status the server reported (webtier
# X-Cache, nginx X-Cache-Status). gzip20k: the body must be gzip
# (Content-Encoding) and gunzip to the upstream's; CHECK_SIZE is its size
# as sent (compressed).
check() {
  scen "$1"
  local code out ver http=(--http1.1)
  is_h2 "$1" && http=(--http2)
  rm -f "$WORK/check.head"
  out=$(curl -sk "${http[@]}" --max-time 5 -D "$WORK/check.head" -o "$WORK/check.body" -w '%{http_code} %{http_version}' -H "Host: $HOST" "${EXTRA[@]}" "$URL" 2>/dev/null)
  code=${out%% *} ver=${out#* }
  CHECK_CODE=$code CHECK_XCACHE="" CHECK_CE="" CHECK_SIZE=$(wc -c <"$WORK/check.body" 2>/dev/null || echo 0)
  [ "$code" = 200 ] || return 1
  # h2static1k, h2proxy: the answer came over HTTP/2
  if is_h2 "$1" && [ "$ver" != 2 ]; then CHECK_CODE="$code over HTTP/$ver, not HTTP/2"; return 1; fi
  case $1 in
    cache) CHECK_XCACHE=$(header "$WORK/check.head" x-cache x-cache-status) ;;
    gzip20k | gzip20k2)
      CHECK_CE=$(header "$WORK/check.head" content-encoding)
      [ "$CHECK_CE" = gzip ] || { CHECK_CODE="$code, Content-Encoding '$CHECK_CE'"; return 1; }
      gzip -dc <"$WORK/check.body" >"$WORK/check.decoded" 2>/dev/null || { CHECK_CODE="$code, body not gzip"; return 1; }
      cmp -s "$WORK/check.decoded" "$EXPECT" || { CHECK_CODE="$code, decoded body differs"; return 1; }
      return 0 ;;
  esac
  cmp -s "$WORK/check.body" "$EXPECT"
}
# check_hit: the cache check, answered from the cache
check_hit() { check cache && [ "$CHECK_XCACHE" = HIT ]; }
upstream_cached_count() { wc -l <"$WORK/upstream/cached.log" 2>/dev/null || echo 0; }
wait_ready() { # wait_ready SCENARIO: until the server answers 200 (10 s)
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SPID" 2>/dev/null || return 1
    check "$1" && return 0
    sleep 0.1
  done
  return 1
}

# resumption SERVER: does the server resume a TLS 1.3 / TLS 1.2 session?
probe_resumption() {
  local s=$1 v out res=()
  for v in tls1_3 tls1_2; do
    rm -f "$WORK/sess.pem"
    # keep the connection open a moment, so the TLS 1.3 ticket arrives
    (sleep 0.5) | timeout 5 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername bench.test \
      "-$v" -sess_out "$WORK/sess.pem" >/dev/null 2>&1
    if [ -s "$WORK/sess.pem" ]; then
      out=$(timeout 5 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername bench.test \
        "-$v" -sess_in "$WORK/sess.pem" </dev/null 2>/dev/null | grep -E '^(Reused|New),' | head -n1)
    else
      out="no session"
    fi
    case $out in Reused*) res+=("$v=yes") ;; *) res+=("$v=no") ;; esac
  done
  printf '%s\t%s\n' "$s" "${res[*]}" >>"$RESUME"
}

# full handshakes with curl (no session cache), server CPU per handshake
curl_handshakes() { # curl_handshakes SERVER ROUND PIDS...
  local s=$1 r=$2; shift 2
  local c0 c1 t0 t1 n200 n cfg=$WORK/curl-handshakes.cfg out=$WORK/runs/tlsnew-r$r-$s.curl
  c0=$(cpu_ticks "$@"); t0=$(date +%s.%N)
  taskset -c "$CLIENT_CPU" curl -Z --parallel-max "$CONNS" --http1.1 --no-sessionid -sk \
    -H "Host: bench.test" -H 'Connection: close' -w '%{http_code}\n' -K "$cfg" >"$out" 2>"$out.err"
  t1=$(date +%s.%N); c1=$(cpu_ticks "$@")
  n=$(wc -l <"$out"); n200=$(grep -c '^200$' "$out")
  local ok=0
  [ "$n200" = "$HANDSHAKES" ] && ok=1
  [ $ok = 1 ] || log "curl handshakes against $s: $n200/$HANDSHAKES answered 200 ($(sort "$out" | uniq -c | tr '\n' ' '))"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$r" "$ok" "$n200" "$HANDSHAKES" \
    "$(awk -v a="$c0" -v b="$c1" -v n="$n200" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", n ? (b-a)*1e6/hz/n : 0}')" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')" >>"$HSRESULTS"
}

# one_run SCENARIO SERVER ROUND
one_run() {
  local sc=$1 s=$2 r=$3 tag="$1-r$3-$2" ok=1 why=() pids c0 c1 rss wout
  wout=$WORK/runs/$tag.wrk
  is_h2 "$sc" && wout=$WORK/runs/$tag.h2load
  start_server "$s" "$WORK/runs/$tag.log"
  if ! wait_ready "$sc"; then
    log "FAILED: $tag — server not ready or wrong answer (HTTP $CHECK_CODE); log: $WORK/runs/$tag.log: $(tail -n3 "$WORK/runs/$tag.log" | tr '\n' ' ' | cut -c1-300)"
    printf '%s\t%s\t%s\t0\t0\t0\t0\t0\t0\t0\t0\t0\t%s\n' "$sc" "$s" "$r" "not-ready" >>"$RESULTS"
    stop_pid "$SPID"; SPID=""
    return
  fi
  # extra: cache, upstream requests during the measured run; gzip20k, the
  # compressed body's size from the check before the run
  local extra="" body u0 u1
  body=$(wc -c <"$EXPECT")
  case $sc in gzip20k*) body=$CHECK_SIZE extra=$CHECK_SIZE ;; esac
  if [ "$sc" = cache ] && ! check_hit; then
    ok=0; why+=("pre-run check: not a cache hit (HTTP $CHECK_CODE, cache status '$CHECK_XCACHE')")
  fi
  sleep 0.2
  mapfile -t pids < <(server_pids "$SPID")
  scen "$sc"
  drive "$sc" "$WARMUP" "$wout.warmup"
  local k0 k1
  u0=$(upstream_cached_count)
  k0=$(core_ticks)
  c0=$(cpu_ticks "${pids[@]}")
  drive "$sc" "$DURATION" "$wout" measure
  c1=$(cpu_ticks "${pids[@]}")
  k1=$(core_ticks)
  u1=$(upstream_cached_count)
  # dbytes: the body bytes read per request are checked against the body;
  # wrk counts the whole responses, h2load the DATA frames' payload
  local req rps p99 bytes non2xx sockerr proto="" dbytes lrows=""
  if is_h2 "$sc"; then
    # the per-request log (~25 bytes a request) is summed up and dropped
    h2_latency "$wout.log" >"$wout.latency"; rm -f "$wout.log"
    read -r req rps p99 bytes non2xx sockerr proto dbytes lrows < <(parse_h2load "$wout" "$wout.latency")
    [ "$proto" = h2 ] || { ok=0; why+=("h2load negotiated '$proto', not h2"); }
    [ "${lrows:-0}" = "${req:-0}" ] || { ok=0; why+=("h2load's log has ${lrows:-0} lines for ${req:-0} requests done"); }
  else
    read -r req rps p99 bytes non2xx sockerr < <(parse_wrk "$wout")
    dbytes=$bytes
  fi
  kill -0 "$SPID" 2>/dev/null || { ok=0; why+=("server died"); }
  check "$sc" || { ok=0; why+=("post-run check: HTTP $CHECK_CODE or wrong body"); }
  if [ "$sc" = cache ]; then
    extra=$((u1 - u0))
    [ "$CHECK_XCACHE" = HIT ] || { ok=0; why+=("post-run check: not a cache hit (cache status '$CHECK_XCACHE')"); }
    [ "$extra" = 0 ] || { ok=0; why+=("the upstream got $extra requests during the measured run"); }
  fi
  if is_h2 "$sc"; then
    [ "${non2xx:-1}" = 0 ] || { ok=0; why+=("$non2xx not 2xx: $(grep '^status codes:' "$wout")"); }
    [ "${sockerr:-1}" = 0 ] || { ok=0; why+=("h2load $(grep '^requests:' "$wout")"); }
  else
    [ "${non2xx:-1}" = 0 ] || { ok=0; why+=("$non2xx non-2xx/3xx"); }
    [ "${sockerr:-1}" = 0 ] || { ok=0; why+=("socket errors $(grep 'Socket errors' "$wout" | sed 's/^ *//')"); }
  fi
  [ "${req:-0}" -gt 0 ] || { ok=0; why+=("no requests"); }
  if [ "${req:-0}" -gt 0 ] && [ "$(awk -v b="$dbytes" -v n="$req" -v e="$body" 'BEGIN{print (b/n >= e) ? 1 : 0}')" != 1 ]; then
    ok=0; why+=("only $(awk -v b="$dbytes" -v n="$req" 'BEGIN{printf "%.0f", b/n}') body bytes read per request (body $body)")
  fi
  # gzip20k: wrk cannot look at the bodies; fewer bytes than the JSON per
  # response shows that they were compressed throughout
  if [[ $sc == gzip20k* ]] && [ "${req:-0}" -gt 0 ] && [ "$(awk -v b="$bytes" -v n="$req" -v e="$JSON_SIZE" 'BEGIN{print (b/n < e) ? 1 : 0}')" != 1 ]; then
    ok=0; why+=("$(awk -v b="$bytes" -v n="$req" 'BEGIN{printf "%.0f", b/n}') bytes read per request: not compressed (JSON $JSON_SIZE)")
  fi
  rss=$(hwm_kib "${pids[@]}")
  local cpu_us util
  cpu_us=$(awk -v a="$c0" -v b="$c1" -v n="$req" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", n ? (b-a)*1e6/hz/n : 0}')
  util=$(awk -v a="$c0" -v b="$c1" -v d="$DURATION" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/hz/d}')
  [ $ok = 1 ] || log "INVALID: $tag — ${why[*]}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$s" "$r" "$ok" "$rps" "$cpu_us" "$p99" "$rss" \
    "$non2xx" "$sockerr" "$(awk -v b="$bytes" -v n="$req" 'BEGIN{printf "%.0f", n ? b/n : 0}')" "$util" "${why[*]:-}" \
    "$(echo "$k0 $k1" | awk '{ printf "%.2f\t%.2f", ($8 - $2) / ($9 - $3 + 1e-9), ($11 - $5) / ($12 - $6 + 1e-9) }')" "$extra" >>"$RESULTS"
  log "  $s: $rps req/s, $cpu_us µs CPU/req (core $util busy), p99 $p99 ms, peak RSS $((rss / 1024)) MiB$(
    case $sc in cache) echo ", upstream requests during the run: $extra" ;; gzip20k*) echo ", gzip body $extra bytes" ;; esac
  )$([ $ok = 1 ] || echo ' [INVALID]')"
  if [ "$sc" = tlsnew ] && [ "$HANDSHAKES" -gt 0 ] && [ $ok = 1 ]; then
    curl_handshakes "$s" "$r" "${pids[@]}"
    log "  $s: curl full handshakes: $(tail -n1 "$HSRESULTS" | awk -F'\t' '{print $6 " µs server CPU per handshake, " $4 "/" $5 " OK"}')"
  fi
  kill -0 "$SPID" 2>/dev/null || log "$s (pid $SPID) is gone before the stop; log: $WORK/runs/$tag.log"
  stop_pid "$SPID"; SPID=""
}

# ------------------------------------------------------------------- setup
VERSIONS="webtier $("$WEBTIER" --version 2>/dev/null | awk '{print $NF}'), $(nginx -v 2>&1 | sed 's/^nginx version: //'), HAProxy $(haproxy -v | awk 'NR==1{print $3}'), Caddy $(caddy version | awk '{print $1}'), wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}'), h2load $(h2load --version | awk '{print $2}'), $(openssl version | awk '{print $1, $2}')"
log "versions: $VERSIONS"
log "work dir: $WORK; ports http $HTTP_PORT https $HTTPS_PORT upstream $UP_PORT; load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_upstream
# the curl batch (also the load of a "tlsfull" profile, hence never empty)
for ((i = 0; i < (HANDSHAKES > 0 ? HANDSHAKES : 3000); i++)); do
  printf 'url = "https://127.0.0.1:%s/1k.bin"\noutput = "/dev/null"\n' "$HTTPS_PORT"
done >"$WORK/curl-handshakes.cfg"

# TLS session resumption, per server (not timed)
for s in $SERVERS; do
  start_server "$s" "$WORK/resumption-$s.log"
  if wait_ready https1k; then probe_resumption "$s"; else log "$s did not come up for the resumption probe"; printf '%s\t?\n' "$s" >>"$RESUME"; fi
  stop_pid "$SPID"; SPID=""
done
log "session resumption: $(tr '\t\n' ': ' <"$RESUME")"

# issue #19's scenarios: before the rounds, each server really answers
# /api/cached from its cache (MISS, then HIT, one upstream request between
# them) and compresses /api/data.json (Content-Encoding gzip, decoded body
# the upstream's; identity without Accept-Encoding); the decoded bodies of
# all servers are compared. One row per server in $PROBE19.
PROBE19=$WORK/probe19.tsv
: >"$PROBE19"
probe19() {
  local s=$1 fail=0 n0 n1 n2 first second ce="" size=0 vary="" plain_ce
  expect() { # expect WHAT WANT GOT
    if [ "$2" = "$3" ]; then log "  probe $s: $1: $3"; else log "  PROBE FAILED $s: $1: got '$3', want '$2'"; fail=1; fi
  }
  start_server "$s" "$WORK/probe19-$s.log"
  if ! wait_ready proxy; then
    log "  PROBE FAILED $s: the server did not come up (HTTP $CHECK_CODE)"; stop_pid "$SPID"; SPID=""; return 1
  fi
  if [[ " $SCENARIOS " == *" cache "* ]]; then
    n0=$(upstream_cached_count)
    check cache; expect "cache: first GET /api/cached, status and body" 200 "$CHECK_CODE$(cmp -s "$WORK/check.body" "$UP_BODY" || echo ', wrong body')"
    first=$CHECK_XCACHE; expect "cache: first GET, cache status" MISS "$first"
    n1=$(upstream_cached_count); expect "cache: upstream requests for the first GET" 1 "$((n1 - n0))"
    check cache; expect "cache: second GET, status and body" 200 "$CHECK_CODE$(cmp -s "$WORK/check.body" "$UP_BODY" || echo ', wrong body')"
    second=$CHECK_XCACHE; expect "cache: second GET, cache status" HIT "$second"
    n2=$(upstream_cached_count); expect "cache: upstream requests for the second GET" 0 "$((n2 - n1))"
  fi
  local sc suf
  for sc in gzip20k gzip20k2; do
    [[ " $SCENARIOS " == *" $sc "* ]] || continue
    suf=${sc#gzip20k}
    if check "$sc"; then
      ce=$CHECK_CE size=$CHECK_SIZE vary=$(header "$WORK/check.head" vary)
      cp "$WORK/check.body" "$WORK/probe19-$s$suf.json.gz"; cp "$WORK/check.decoded" "$WORK/probe19-$s$suf.json"
      log "  probe $s: $sc: Content-Encoding $ce, $size bytes (of $JSON_SIZE), decodes to the upstream's body; Vary: $vary"
    else
      expect "$sc: GET $URL with Accept-Encoding: gzip" "200, gzip, the upstream's body after gunzip" "$CHECK_CODE"
    fi
    plain_ce=$(curl -s --http1.1 --max-time 5 -D - -o "$WORK/probe19-$s$suf.identity" -H "Host: plain.test" \
      "$URL" | tr -d '\r' | awk 'tolower($0) ~ /^content-encoding:/ { print $2 }')
    expect "$sc: without Accept-Encoding, Content-Encoding" "" "$plain_ce"
    expect "$sc: without Accept-Encoding, the upstream's body" same "$(cmp -s "$WORK/probe19-$s$suf.identity" "$JSON" && echo same || echo different)"
  done
  stop_pid "$SPID"; SPID=""
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "${first:-}" "${second:-}" "$(( ${n2:-0} - ${n1:-0} ))" "$ce" "$size" "$vary" >>"$PROBE19"
  return $fail
}
if [[ " $SCENARIOS " == *" cache "* || " $SCENARIOS " == *" gzip20k"* ]]; then
  probe_failed=0
  for s in $SERVERS; do
    applies cache "$s" || continue
    probe19 "$s" || probe_failed=1
  done
  if [ $probe_failed = 0 ]; then
    for f in "$WORK"/probe19-*.json; do
      [ -e "$f" ] || continue
      if cmp -s "$f" "$WORK/probe19-nginx.json"; then
        log "  probe: gzip: the decoded body in $(basename "$f") equals nginx's"
      else log "  PROBE FAILED: gzip: the decoded body in $(basename "$f") differs from nginx's"; probe_failed=1; fi
    done
  fi
  [ $probe_failed = 0 ] || die "an issue #19 probe failed (see above); the configurations are in $WORK/{nginx,webtier}"
fi

# ------------------------------------------------------------------ rounds
read -r -a server_list <<<"$SERVERS"
t_start=$(date +%s)
for sc in $SCENARIOS; do
  for ((r = 1; r <= ROUNDS; r++)); do
    order=$(rotate "$r" "${server_list[@]}")
    log "$sc round $r/$ROUNDS: $order"
    for s in $order; do
      applies "$sc" "$s" && one_run "$sc" "$s" "$r"
    done
  done
done
log "rounds took $(( $(date +%s) - t_start )) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------ report
REPORT=$WORK/report.md
python3 - "$RESULTS" "$HSRESULTS" "$RESUME" "$VERSIONS" "$ROUNDS" "$DURATION" "$CONNS" "$SERVERS" "$SCENARIOS" "$WORK/missed" \
  "$PROBE19" "$JSON_SIZE" "$H2_CONNS" "$H2_STREAMS" >"$REPORT" <<'PY'
import sys, statistics as st
res, hs, resume, versions, rounds, duration, conns, servers, scenarios, missed_path, probe19, json_size, h2c, h2m = sys.argv[1:]
servers = servers.split(); scenarios = scenarios.split()
rows = {}
noise = []
for l in open(res):
    f = l.rstrip("\n").split("\t")
    if len(f) < 12: continue
    sc, s, r, ok = f[0], f[1], int(f[2]), int(f[3])
    rows.setdefault((sc, s), {})[r] = dict(ok=ok, rps=float(f[4]), cpu=float(f[5]), p99=float(f[6]),
                                         rss=int(f[7]), bpr=float(f[10]), util=float(f[11]),
                                         extra=f[15] if len(f) > 15 else "")
    if len(f) >= 15:
        noise.append((float(f[13]), float(f[14])))
res_map = dict(l.rstrip("\n").split("\t", 1) for l in open(resume) if "\t" in l)
label = {"static1k": "1. static 1 KiB, HTTP keep-alive",
         "static100k": "2. static 100 KiB, HTTP keep-alive",
         "proxy": "3. reverse proxy, HTTP, fixed upstream",
         "https1k": "4. HTTPS static 1 KiB, keep-alive",
         "tlsnew": "5. TLS, new connection per request (wrk)",
         "cache": "6. cache hit, proxied GET (64-byte body)",
         "gzip20k": "7. gzip level 1, proxied 20 KiB JSON",
         "gzip20k2": "7b. gzip, webtier level 2 vs nginx level 1 (not a target)",
         "h2static1k": "8. HTTP/2 over TLS, 1 KiB static (h2load)",
         "h2proxy": "9. HTTP/2 over TLS, reverse proxy (h2load)"}
# issue #19's and issue #21's HTTP/2 scenarios are held to req/s and CPU only;
# the HTTP/2 ones to CPU/request <= 0.9x nginx
issue19 = ("cache", "gzip20k", "gzip20k2")
h2 = ("h2static1k", "h2proxy")
cpu_limit = {sc: 0.9 for sc in h2}
def med(sc, s, k):
    v = [x[k] for x in rows.get((sc, s), {}).values() if x["ok"]]
    return st.median(v) if v else None
def ratio(sc, s, k):
    """median over rounds of the per-round ratio server/nginx (both valid)"""
    a, b = rows.get((sc, s), {}), rows.get((sc, "nginx"), {})
    v = [a[r][k] / b[r][k] for r in a if r in b and a[r]["ok"] and b[r]["ok"] and b[r][k]]
    return st.median(v) if v else None
def f(x, d=1):
    return "—" if x is None else f"{x:,.{d}f}"
def fr(x):
    return "—" if x is None else f"{x:.2f}"
print(f"versions: {versions}  ")
h2load = f" (HTTP/2: h2load -t1 -c{h2c} -m{h2m} -D {duration})" if any(sc in scenarios for sc in h2) else ""
print(f"one worker each on one core, wrk -t1 -c{conns} -d{duration}s{h2load}; medians of {rounds} alternating rounds (valid runs only);")
print("ratios x/nginx are medians of the per-round ratios; CPU = server utime+stime per request; RSS = peak (VmHWM) summed over the server's processes;")
print("core busy = server CPU time / wall time (below 1: the loop is latency-bound, not server-bound)")
if noise:
    print(f"niced background jobs (e.g. a build) took a median {st.median(n[0] for n in noise):.0%} of the server core "
          f"and {st.median(n[1] for n in noise):.0%} of the client core during the runs (max {max(n[0] for n in noise):.0%} / {max(n[1] for n in noise):.0%})")
print()
print("| scenario | server | valid | req/s | req/s range | CPU µs/req | p99 ms | peak RSS MiB | core busy | req/s ÷ nginx | CPU ÷ nginx | p99 ÷ nginx | RSS ÷ nginx | webtier target |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
missed = []
for sc in scenarios:
    for s in servers:
        runs = rows.get((sc, s))
        if not runs:
            if sc == "static100k" and s == "haproxy":
                print(f"| {label[sc]} | haproxy | n/a | — | — | — | — | — | — | — | — | — | — | serves no files |")
            continue
        valid = [x for x in runs.values() if x["ok"]]
        rng = f"{min(x['rps'] for x in valid):,.0f}–{max(x['rps'] for x in valid):,.0f}" if valid else "—"
        name = s + (" *" if s == "haproxy" and sc in ("static1k", "https1k", "tlsnew") else "")
        if sc == "tlsnew" and "=yes" in res_map.get(s, ""):
            name += " †"
        target = ""
        if s == "webtier" and sc == "gzip20k2":
            target = "(size-matched comparison)"
        elif s == "webtier":
            rr, rc, rp, rm = (ratio(sc, s, k) for k in ("rps", "cpu", "p99", "rss"))
            miss = []
            if rr is None or rr < 1.0: miss.append(f"req/s {rr:.3f}" if rr is not None else "req/s")
            if rc is None or rc > cpu_limit.get(sc, 1.0): miss.append(f"CPU {rc:.3f}" if rc is not None else "CPU")
            if sc not in issue19 + h2:
                if rp is None or rp > 1.0: miss.append(f"p99 {rp:.3f}" if rp is not None else "p99")
                if rm is None or rm > 2.0: miss.append(f"RSS {rm:.3f}" if rm is not None else "RSS")
            target = "met" if not miss else "missed: " + ", ".join(miss)
            if miss: missed.append(sc)
        if s == "nginx":
            rs = ["1.00"] * 4
        else:
            rs = [fr(ratio(sc, s, k)) for k in ("rps", "cpu", "p99", "rss")]
        rss = med(sc, s, "rss")
        print(f"| {label[sc]} | {name} | {len(valid)}/{len(runs)} | {f(med(sc, s, 'rps'), 0)} | {rng} | {f(med(sc, s, 'cpu'))} | "
              f"{f(med(sc, s, 'p99'), 2)} | {f(None if rss is None else rss / 1024)} | {f(med(sc, s, 'util'), 2)} | "
              f"{' | '.join(rs)} | {target} |")
if any(sc in scenarios for sc in issue19):
    print("\nScenarios 6 and 7 (issue #19) run webtier and nginx only; their target is req/s ≥ 1.0× and CPU/request ≤ 1.0× nginx "
          "(p99 and RSS are shown, not judged).  ")
    p19 = {}
    for l in open(probe19):
        p = l.rstrip("\n").split("\t")
        if len(p) >= 7: p19[p[0]] = p
    ss = [s for s in servers if any((sc, s) in rows for sc in issue19) or s in p19]
    if "cache" in scenarios:
        print("\nCache hit: the probe's cache status for two GETs, and the upstream's requests during the measured runs "
              "(all rounds; a valid run needs 0):\n")
        print("| server | probe: 1st GET | probe: 2nd GET | upstream requests in measured runs | valid runs |")
        print("|---|---|---|---|---|")
        for s in ss:
            runs = rows.get(("cache", s), {})
            up = sum(int(x["extra"]) for x in runs.values() if x["extra"].lstrip("-").isdigit())
            p = p19.get(s, [s, "?", "?"])
            print(f"| {s} | {p[1] or '?'} | {p[2] or '?'} | {up} | {sum(x['ok'] for x in runs.values())}/{len(runs)} |")
    if "gzip20k" in scenarios or "gzip20k2" in scenarios:
        print(f"\nCompressed output of the {int(json_size):,}-byte JSON (gzip level 1; in 7b webtier at level 2): body bytes of one response (curl, before each run), "
              "and wrk's bytes read per response (headers and chunked framing included), medians:\n")
        print("| scenario | server | Content-Encoding (probe) | Vary (probe) | body bytes | ratio to the JSON | bytes/response on the wire | body ÷ nginx |")
        print("|---|---|---|---|---|---|---|---|")
        def gz(sc, s):
            v = [int(x["extra"]) for x in rows.get((sc, s), {}).values() if x["ok"] and x["extra"].isdigit()]
            return st.median(v) if v else None
        for sc in ("gzip20k", "gzip20k2"):
            if sc not in scenarios: continue
            for s in ss:
                p = p19.get(s, [s] + [""] * 6)
                b = gz(sc, s); n = gz(sc, "nginx")
                w = [x["bpr"] for x in rows.get((sc, s), {}).values() if x["ok"]]
                print(f"| {label[sc]} | {s} | {p[4] or '?'} | {p[6] or '—'} | {f(b, 0)} | {fr(b / int(json_size)) if b else '—'} | "
                      f"{f(st.median(w), 0) if w else '—'} | {fr(b / n) if b and n else '—'} |")
if any(sc in scenarios for sc in h2):
    print(f"\nScenarios 8 and 9 (issue #21) are HTTP/2 over TLS (ALPN h2, `Host` bench.test) driven by h2load -t1 -c{h2c} -m{h2m} "
          f"({h2c} connections, {h2m} streams in flight on each), webtier and nginx only; 9 proxies /api/hello to the fixed upstream "
          "over HTTP/1.1 with keep-alive. Their target is req/s ≥ 1.0× and CPU/request ≤ 0.9× nginx "
          "(p99, from h2load's per-request log, and RSS are shown, not judged).  ")
print("\n\\* HAProxy's 1 KiB \"file\" is `http-request return ... file` (read into memory at start); it serves no files from disk.  ")
print("† this server cannot turn TLS session resumption off (see the probe below), so wrk resumes its sessions: "
      "these are mostly abbreviated handshakes; compare full handshakes in the next table.")
hsrows = {}
for l in open(hs):
    p = l.rstrip("\n").split("\t")
    hsrows.setdefault(p[0], {})[int(p[1])] = dict(ok=int(p[2]), cpu=float(p[5]), wall=float(p[6]), n=int(p[4]))
print("\nTLS session resumption as offered by each server (openssl s_client -sess_out, then -sess_in), and "
      "server CPU per *full* handshake from curl --no-sessionid (HTTP/1.1, Connection: close, "
      f"{conns} in parallel, 1 KiB response), medians of {rounds} rounds:\n")
print("| server | resumes (probe) | curl full handshakes valid | server CPU µs / full handshake | ÷ nginx | webtier target |")
print("|---|---|---|---|---|---|")
for s in servers:
    h = hsrows.get(s, {})
    v = [x["cpu"] for x in h.values() if x["ok"]]
    n = hsrows.get("nginx", {})
    rat = [h[r]["cpu"] / n[r]["cpu"] for r in h if r in n and h[r]["ok"] and n[r]["ok"] and n[r]["cpu"]]
    target = ""
    if s == "webtier" and h:
        if rat and st.median(rat) <= 1.0:
            target = "met"
        else:
            target = "missed: CPU"; missed.append("tlsfull")
    print(f"| {s} | {res_map.get(s, '?')} | {sum(x['ok'] for x in h.values())}/{len(h)} | "
          f"{f(st.median(v)) if v else '—'} | {fr(st.median(rat)) if rat else '—'} | {target} |")
open(missed_path, "w").write(" ".join(missed))
PY
cat "$REPORT"

# --------------------------------------------------------------- profiling
# syscall_profile SCENARIO SERVER: system calls per request under the
# scenario's load (wrk, or h2load)
syscall_profile() {
  local sc=$1 srv=$2 tp req out=$WORK/syscalls-$1-$2.txt
  start_server "$srv" "$WORK/syscalls-$sc-$srv.log"
  if ! wait_ready "$sc"; then log "syscall profile $sc $srv: not ready"; stop_pid "$SPID"; SPID=""; return; fi
  scen "$sc"
  drive "$sc" "$WARMUP" /dev/null
  perf trace -s -p "$(server_pids "$SPID" | paste -sd,)" -o "$out" &
  tp=$!
  sleep 0.5
  drive "$sc" 3 "$out.load"
  kill -INT "$tp" 2>/dev/null; wait "$tp" 2>/dev/null
  stop_pid "$SPID"; SPID=""
  req=$(load_requests "$sc" "$out.load")
  [ "${req:-0}" -gt 0 ] || { echo "$srv: no requests"; return; }
  local total list
  total=$(awk '$2 ~ /^[0-9]+$/ && $1 ~ /^[a-z_0-9]+$/ && NF >= 8 { t += $2 } END { print t + 0 }' "$out")
  list=$(awk -v n="$req" '$2 ~ /^[0-9]+$/ && $1 ~ /^[a-z_0-9]+$/ && NF >= 8 { c[$1] += $2 }
           END { for (k in c) if (c[k] / n >= 0.02) printf "%.3f %s\n", c[k] / n, k }' "$out" |
         sort -rn | awk '{ printf " %s %.2f", $2, $1 }')
  printf '%-8s %5.2f syscalls/request:%s\n' "$srv" "$(awk -v t="$total" -v n="$req" 'BEGIN { print t / n }')" "$list"
}
# perf_profile SCENARIO SERVER: perf record -e cpu-clock for PROFILE_S s under
# load (wrk or h2load; for "tlsfull", curl's full handshakes); leaves
# $WORK/perf-SC-SRV.*
perf_profile() {
  local sc=$1 srv=$2 base=$WORK/perf-$1-$2 ppid end
  start_server "$srv" "$base.log"
  if ! wait_ready "${sc/tlsfull/tlsnew}"; then log "profile $sc $srv: not ready"; stop_pid "$SPID"; SPID=""; return 1; fi
  scen "${sc/tlsfull/tlsnew}"
  drive "${sc/tlsfull/tlsnew}" "$WARMUP" /dev/null
  perf record -e cpu-clock -F 2000 -p "$(server_pids "$SPID" | paste -sd,)" -o "$base.data" -- sleep "$PROFILE_S" >"$base.perf.log" 2>&1 &
  ppid=$!
  sleep 0.3
  if [ "$sc" = tlsfull ]; then
    # full handshakes: curl without a session cache, for the whole profile
    end=$(($(date +%s) + PROFILE_S))
    while [ "$(date +%s)" -lt "$end" ]; do
      taskset -c "$CLIENT_CPU" curl -Z --parallel-max "$CONNS" --http1.1 --no-sessionid -sk \
        -H "Host: bench.test" -H 'Connection: close' -w '%{http_code}\n' -K "$WORK/curl-handshakes.cfg" >>"$base.curl" 2>&1
    done
  else
    drive "$sc" "$PROFILE_S" "$base.load"
  fi
  wait "$ppid"
  stop_pid "$SPID"; SPID=""
  perf report -i "$base.data" --no-children --sort dso --stdio 2>/dev/null >"$base.dso.txt"
  perf report -i "$base.data" --no-children --sort symbol --stdio 2>/dev/null >"$base.sym.txt"
  perf report -i "$base.data" --no-children --sort dso,symbol --stdio 2>/dev/null >"$base.dsosym.txt"
}

if [ "$PROFILE" != 0 ]; then
  if [ "$PROFILE" = auto ]; then prof=$(cat "$WORK/missed" 2>/dev/null); else prof=$PROFILE; fi
  if [ -n "$prof" ] && [ "$HAVE_PERF" = 0 ]; then
    log "webtier missed a target in: $prof — perf is not installed (apt-get install -y linux-perf); no profile"
  elif [ -n "$prof" ]; then
    log "profiling webtier (and nginx for comparison) in: $prof"
    echo; echo "### Profiles (perf record -e cpu-clock -F 2000, $PROFILE_S s under load; percentages of the server's samples)"
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
      echo '```'; echo "#### $sc — webtier, top user-space symbols (self)"; echo '```'
      grep -E '^ +[0-9.]+%' "$WORK/perf-$sc-webtier.sym.txt" | grep -F '[.]' | head -n 25 | cut -c1-150 | sed 's/ *$//'
      echo '```'; echo "#### $sc — nginx, top symbols (self, all objects)"; echo '```'
      pct_lines "$WORK/perf-$sc-nginx.sym.txt" 12
      echo '```'
      if [ "$sc" != tlsfull ]; then
        echo "#### $sc — system calls per request (perf trace -s, 3 s of $(is_h2 "$sc" && echo h2load || echo wrk))"; echo '```'
        for srv in webtier nginx; do syscall_profile "$sc" "$srv"; done
        echo '```'
      fi
    done
  fi
fi
log "report: $REPORT; raw rows: $RESULTS, $HSRESULTS, $RESUME"
