#!/usr/bin/env bash
# Hostile-client run against `webtier proxy run`, loopback only, bounded in
# time. See bench/README-attack.md.
#
# Starts the proxy (a private copy of $WEBTIER) with short timeouts, then at
# once: SLOWLORIS slowloris connections (plain HTTP, head trickled, never
# finished), NONREADERS clients that GET a BIG_MB MiB file with SO_RCVBUF=4096
# and never read, H2IDLE idle HTTP/2-over-TLS connections that only PING;
# every slot reconnects when closed, for ATTACK_S seconds. Meanwhile a
# normal client GETs a small file every ~100 ms (alternating HTTP and
# HTTPS). Prints a Markdown report (bench/attack.py): per attack class the
# time from connect to close by the proxy against the configured timeout,
# the count still open at the end, the normal client's 200s and latencies,
# and the proxy's RSS / open fds / webtier_connections at baseline, peak and
# after settling.
#
# Exit status: 0 pass; 1 when an attack connection was still open at the
# end, the normal client saw a non-200 or an error, fds did not return to
# baseline + 5 or RSS to 2x baseline, or the proxy died (and, with
# LATE_FAILS=1, when a connection was closed later than its timeout +
# SLACK_S; otherwise that is a warning); 2 on a setup error; 124 if the
# whole run hit RUN_TIMEOUT.
#
# Knobs (environment): WEBTIER (binary, default target/release/webtier of
# this repo; the script runs a copy), HEADER_READ_MS (3000), SEND_MS (3000),
# HTTP2_IDLE_MS (3000), MAX_CONNECTIONS (1000), WORKERS (1), SLOWLORIS
# (200), NONREADERS (50), H2IDLE (200), BIG_MB (50), ATTACK_S (15), SLACK_S
# (1.5), LATE_FAILS (0), HOLD_NONREADERS (0; 1: a non-reader the proxy
# released keeps its window shut until the attack window ends, instead of
# being drained at once), NORMAL_HTTPS (1: the normal client alternates
# HTTP and HTTPS; 0: HTTP only), SETTLE_MAX_S (60), SERVER_CPU (0),
# CLIENT_CPU (1), RUN_TIMEOUT (180), KEEP (1: keep the work dir with config,
# certs, proxy log, raw JSON), WORK (work dir).
set -uo pipefail

RUN_TIMEOUT=${RUN_TIMEOUT:-180}
if [ -z "${_ATTACK_BOUNDED:-}" ]; then
  # The whole run, cleanup included, is bounded; timeout signals the whole
  # process group (this shell, the proxy, every client) when it fires.
  export _ATTACK_BOUNDED=1
  exec timeout -k 10 "$RUN_TIMEOUT" bash "$0" "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WEBTIER=${WEBTIER:-$here/../target/release/webtier}
HEADER_READ_MS=${HEADER_READ_MS:-3000}
SEND_MS=${SEND_MS:-3000}
HTTP2_IDLE_MS=${HTTP2_IDLE_MS:-3000}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-1000}
WORKERS=${WORKERS:-1}
SLOWLORIS=${SLOWLORIS:-200}
NONREADERS=${NONREADERS:-50}
H2IDLE=${H2IDLE:-200}
BIG_MB=${BIG_MB:-50}
ATTACK_S=${ATTACK_S:-15}
SLACK_S=${SLACK_S:-1.5}
LATE_FAILS=${LATE_FAILS:-0}
HOLD_NONREADERS=${HOLD_NONREADERS:-0}
SETTLE_MAX_S=${SETTLE_MAX_S:-60}
RSS_RATIO=${RSS_RATIO:-1.25}
RSS_SETTLE_S=${RSS_SETTLE_S:-30}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NORMAL_HTTPS=${NORMAL_HTTPS:-1}

die() { echo "attack.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%T)] $*" >&2; }

missing=()
for b in python3 openssl curl taskset timeout; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (apt-get install -y python3 openssl curl util-linux coreutils)"
[ -x "$WEBTIER" ] || die "no webtier binary at $WEBTIER (cargo build --release, or set WEBTIER=)"
[ "$(nproc)" -ge 2 ] || { log "one core: server and clients share it"; SERVER_CPU=0; CLIENT_CPU=0; }

WORK=${WORK:-$(mktemp -d /tmp/webtier-attack.XXXXXX)}
mkdir -p "$WORK"/{www,challenge,pki}
PROXY_PID=""; ATTACK_PID=""

stop_pid() { # TERM, then KILL after 5 s
  local p=$1 i
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
}
cleanup() {
  stop_pid "$ATTACK_PID"
  # The normal client is the attack process's child; stop it by its pid.
  local np
  np=$(cat "$WORK/normal.pid" 2>/dev/null)
  if [ -n "$np" ] && { tr "\\0" " " <"/proc/$np/cmdline"; } 2>/dev/null | grep -q "attack.py normal"; then
    kill -TERM "$np" 2>/dev/null
  fi
  stop_pid "$PROXY_PID"
  if [ "${KEEP:-1}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free ports below the ephemeral range, so no outgoing connection of the
# run (there are thousands) can hold one.
read -r HTTP_PORT HTTPS_PORT ADMIN_PORT < <(python3 - <<'EOF'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
got = []
while len(got) < 3:
    p = random.randint(10000, max(10001, lo - 1))
    if p in got:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        got.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*got)
EOF
)

# ------------------------------------------------------------------ files
BIN=$WORK/webtier
cp "$WEBTIER" "$BIN" || die "cannot copy $WEBTIER"
printf '<!doctype html><title>ok</title><p>%s</p>\n' "$(head -c 600 /dev/zero | tr '\0' 'x')" >"$WORK/www/small.html"
SMALL_SIZE=$(wc -c <"$WORK/www/small.html")
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom >"$WORK/www/big.bin"
BIG_SIZE=$((BIG_MB * 1024 * 1024))
touch -d '-1 minute' "$WORK/www/small.html" "$WORK/www/big.bin" # settled: the small file may be cached

P=$WORK/pki
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=webtier attack throw-away CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign" -keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null ||
  die "openssl: cannot make the CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=a.test" \
  -keyout "$P/a.key" -out "$P/a.csr" 2>/dev/null || die "openssl: cannot make the key"
printf 'subjectAltName=DNS:a.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n' >"$P/a.ext"
openssl x509 -req -in "$P/a.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
  -extfile "$P/a.ext" -out "$P/a.crt" 2>/dev/null || die "openssl: cannot sign the leaf"

cat >"$WORK/proxy.toml" <<EOF
version = 1
http_listen = ["127.0.0.1:$HTTP_PORT"]
https_listen = ["127.0.0.1:$HTTPS_PORT"]
challenge_dir = "$WORK/challenge"
pid_file = "$WORK/proxy.pid"
admin_listen = "127.0.0.1:$ADMIN_PORT"
workers = $WORKERS
hsts_max_age = 0

[limits]
max_connections = $MAX_CONNECTIONS

[timeouts]
header_read_ms = $HEADER_READ_MS
send_ms = $SEND_MS
http2_idle_ms = $HTTP2_IDLE_MS
drain_ms = 2000

[[site]]
names = ["a.test"]
tls = { cert = "$P/a.crt", key = "$P/a.key" }
[[site.route]]
path = "/"
root = "$WORK/www"

[[site]]
names = ["s.test"]
[[site.route]]
path = "/"
root = "$WORK/www"
EOF

# ------------------------------------------------------------------ proxy
log "proxy: $WEBTIER (copied), http $HTTP_PORT, https $HTTPS_PORT, admin $ADMIN_PORT, work $WORK"
taskset -c "$SERVER_CPU" "$BIN" proxy run --file "$WORK/proxy.toml" >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
ready=0
for ((i = 0; i < 100; i++)); do
  kill -0 "$PROXY_PID" 2>/dev/null || { cat "$WORK/proxy.log" >&2; die "the proxy exited at start"; }
  if curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/metrics" 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ $ready = 1 ] || { cat "$WORK/proxy.log" >&2; die "the proxy did not answer /metrics in 10 s"; }
# The warm-up: one request per scheme, checked.
code=$(curl -sS -o "$WORK/warm.http" -w '%{http_code}' -H 'Host: s.test' "http://127.0.0.1:$HTTP_PORT/small.html") || true
[ "$code" = 200 ] && cmp -s "$WORK/warm.http" "$WORK/www/small.html" || die "warm-up over HTTP: status $code"
code=$(curl -sS -o "$WORK/warm.https" -w '%{http_code}' --cacert "$P/ca.crt" \
  --resolve "a.test:$HTTPS_PORT:127.0.0.1" "https://a.test:$HTTPS_PORT/small.html") || true
[ "$code" = 200 ] && cmp -s "$WORK/warm.https" "$WORK/www/small.html" || die "warm-up over HTTPS: status $code"

# ---------------------------------------------------------------- clients
rm -f "$WORK/normal.json" "$WORK/normal.pid"
{
  echo "# webtier proxy under attack"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), kernel $(uname -r); binary $WEBTIER ($(date -u -r "$WEBTIER" '+%Y-%m-%d %H:%M UTC'), $(($(stat -c %s "$WEBTIER") / 1048576)) MiB); proxy pinned to CPU $SERVER_CPU with workers = $WORKERS, clients to CPU $CLIENT_CPU; max_connections = $MAX_CONNECTIONS."
  echo
} 

taskset -c "$CLIENT_CPU" python3 "$here/attack.py" attack --pid "$PROXY_PID" \
  --http-port "$HTTP_PORT" --https-port "$HTTPS_PORT" --admin-port "$ADMIN_PORT" --ca "$P/ca.crt" \
  --small-size "$SMALL_SIZE" --big-size "$BIG_SIZE" \
  --header-read-ms "$HEADER_READ_MS" --send-ms "$SEND_MS" --http2-idle-ms "$HTTP2_IDLE_MS" \
  --slowloris "$SLOWLORIS" --nonreaders "$NONREADERS" --h2idle "$H2IDLE" \
  --hold-nonreaders "$HOLD_NONREADERS" --attack-s "$ATTACK_S" --slack-s "$SLACK_S" --late-fails "$LATE_FAILS" --settle-max-s "$SETTLE_MAX_S" --rss-ratio "$RSS_RATIO" --rss-settle-s "$RSS_SETTLE_S" \
  --normal-https "$NORMAL_HTTPS" --normal-out "$WORK/normal.json" --normal-pid-file "$WORK/normal.pid" \
  --json "$WORK/attack.json" &
ATTACK_PID=$!
wait "$ATTACK_PID"
rc=$?
ATTACK_PID=""
if ! kill -0 "$PROXY_PID" 2>/dev/null; then
  log "the proxy is not running any more; its log:"; tail -n 20 "$WORK/proxy.log" >&2
  [ $rc = 0 ] && rc=1
fi
if grep -qiE 'panic|error' "$WORK/proxy.log"; then
  log "the proxy log has errors or panics (first lines):"; grep -iE 'panic|error' "$WORK/proxy.log" | head -n 5 >&2
fi
exit $rc
