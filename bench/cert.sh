#!/usr/bin/env bash
# Benchmark: `webtier cert issue` / `webtier cert renew` against certbot and
# lego, all talking to the same local pebble ACME server over HTTP-01.
#
# Needs (installs nothing itself):
#   apt-get install -y pebble certbot lego time openssl curl python3
#   a release build of webtier (WEBTIER=/path/to/webtier, default
#   target/release/webtier next to this script's repo)
#
# Measures, for each client, wall time, CPU (user+sys) and peak RSS with
# /usr/bin/time:
#   (a) issuing a certificate for 1 name
#   (b) issuing one 10-name SAN certificate
#   (c) a no-op renewal check (nothing due): webtier with 50 certificates
#       (one `webtier cert renew`); certbot and lego with the 1 certificate of
#       their last 1-name issuance, and, unless PEER_RENEW50=0, also with 50
#       certificates each (certbot: one `certbot renew`; lego: 50 `lego renew`
#       invocations, as lego renews one certificate per run)
#   (d) robustness: pebble restarted with PEBBLE_WFE_NONCEREJECT=50 (half the
#       good nonces rejected as badNonce); ROBUST_N issuances per client,
#       successes counted
# Clients alternate round by round (order rotates each round); every
# issuance uses a fresh state/config directory (new account, new key) and
# fresh names; pebble runs with PEBBLE_AUTHZREUSE=0 and PEBBLE_VA_NOSLEEP=1.
# Each client binds the HTTP-01 port itself, so they run one at a time.
# Every command runs under `timeout $TIMEOUT` (default 120 s).
#
# Environment knobs: ROUNDS (default 5, minimum 3), ROBUST_N (5),
# RENEW_CERTS (50), RENEW_REPS (10: back-to-back runs per no-op renew
# measurement), PEER_RENEW50 (1), TIMEOUT (120), KEEP (1: keep the work
# dir with logs and raw rows; 0 deletes it),
# WORK (work directory, default a fresh mktemp -d), CLIENTS ("webtier certbot lego").
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WEBTIER=${WEBTIER:-$here/../target/release/webtier}
ROUNDS=${ROUNDS:-5}
ROBUST_N=${ROBUST_N:-5}
RENEW_CERTS=${RENEW_CERTS:-50}
RENEW_REPS=${RENEW_REPS:-10}
PEER_RENEW50=${PEER_RENEW50:-1}
TIMEOUT=${TIMEOUT:-120}
CLIENTS=${CLIENTS:-"webtier certbot lego"}
EMAIL=ops@example.com

die() { echo "cert.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%T)] $*" >&2; }

# ------------------------------------------------------------ prerequisites
missing=()
for b in pebble pebble-challtestsrv certbot lego openssl curl python3 timeout; do
  command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
[ -x /usr/bin/time ] || missing+=("/usr/bin/time (apt-get install -y time)")
[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} — apt-get install -y pebble certbot lego time openssl curl python3"
[ -x "$WEBTIER" ] || die "no webtier binary at $WEBTIER (build with cargo build --release, or set WEBTIER=)"
WEBTIER=$(cd "$(dirname "$WEBTIER")" && pwd)/$(basename "$WEBTIER")
[ "$ROUNDS" -ge 3 ] || die "ROUNDS must be at least 3"

WORK=${WORK:-$(mktemp -d /tmp/webtier-cert-bench.XXXXXX)}
mkdir -p "$WORK"
RESULTS=$WORK/results.tsv
: >"$RESULTS"
PIDS=()

cleanup() {
  stop_pebble
  if [ "${KEEP:-1}" = 1 ]; then log "work dir kept (logs, raw rows): $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ------------------------------------------------------------------- pebble
mint_certs() {
  local d=$WORK/pki
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=throw-away CA for the webtier cert bench" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null || die "openssl CA"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || die "openssl csr"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null || die "openssl sign"
  CA=$d/ca.pem
}

# start_pebble NONCE_REJECT_PERCENT
start_pebble() {
  local reject=$1 dns mgmt
  dns=$(free_port); mgmt=$(free_port)
  PORT=$(free_port); HTTP01=$(free_port); HTTPS_OTHER=$(free_port)
  cat >"$WORK/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$PORT",
 "managementListenAddress": "127.0.0.1:$(free_port)",
 "certificate": "$WORK/pki/server.pem", "privateKey": "$WORK/pki/server.key",
 "httpPort": $HTTP01, "tlsPort": $(free_port),
 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
  pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns" \
    -management "127.0.0.1:$mgmt" -http01 "" -https01 "" -tlsalpn01 "" \
    >"$WORK/challtestsrv.log" 2>&1 &
  PIDS+=($!)
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=$reject PEBBLE_AUTHZREUSE=0 \
    pebble -config "$WORK/pebble.json" -dnsserver "127.0.0.1:$dns" \
    >"$WORK/pebble-$reject.log" 2>&1 &
  PIDS+=($!)
  DIR_URL=https://127.0.0.1:$PORT/dir
  for _ in $(seq 100); do
    curl -fsS --cacert "$CA" "$DIR_URL" >/dev/null 2>&1 && { log "pebble up at $DIR_URL (badNonce $reject%, HTTP-01 port $HTTP01)"; return 0; }
    sleep 0.1
  done
  die "pebble did not come up; see $WORK/pebble-$reject.log"
}

stop_pebble() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
}

# ------------------------------------------------------------------ clients
# names PREFIX N -> N names, space separated
names() {
  local i out="$1.bench.test"
  for ((i = 1; i < $2; i++)); do out+=" n$i.$1.bench.test"; done
  echo "$out"
}

# webtier_config DIR "name1 name2 ..." (one site: domain + aliases)
webtier_site() {
  local first=$1; shift
  local aliases="" n
  for n in "$@"; do aliases+="\"$n\", "; done
  printf '[[site]]\ndomain = "%s"\naliases = [%s]\nupstreams = ["127.0.0.1:8000"]\n' "$first" "${aliases%, }"
}
webtier_config() {
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/webtier.toml" <<EOF
state_dir = "state"
[acme]
directory = "$DIR_URL"
ca_root = "$CA"
email = "$EMAIL"
[proxy]
config_file = "out/proxy.toml"
http_port = $HTTP01
https_port = $HTTPS_OTHER
EOF
}

# issue_cmd CLIENT DIR NAMES... -> sets CMD (array); DIR is fresh
issue_cmd() {
  local client=$1 dir=$2; shift 2
  local d n
  case $client in
    webtier)
      webtier_config "$dir"
      # shellcheck disable=SC2046
      webtier_site "$@" >>"$dir/webtier.toml"
      CMD=(env -C "$dir" "$WEBTIER" --config "$dir/webtier.toml" cert issue) ;;
    certbot)
      d=(); for n in "$@"; do d+=(-d "$n"); done
      CMD=(env REQUESTS_CA_BUNDLE="$CA" certbot certonly --standalone --http-01-port "$HTTP01"
        --server "$DIR_URL" --config-dir "$dir/config" --work-dir "$dir/work" --logs-dir "$dir/logs"
        --agree-tos -m "$EMAIL" --non-interactive --key-type ecdsa --elliptic-curve secp256r1
        "${d[@]}") ;;
    lego)
      d=(); for n in "$@"; do d+=(-d "$n"); done
      CMD=(env LEGO_CA_CERTIFICATES="$CA" lego --server "$DIR_URL" --email "$EMAIL" --accept-tos
        --path "$dir" --key-type ec256 --http --http.port ":$HTTP01" "${d[@]}" run) ;;
  esac
}

# issued CLIENT DIR FIRSTNAME NNAMES -> 0 when the certificate is there and
# carries NNAMES DNS names
issued() {
  local f
  case $1 in
    webtier) f=$2/state/live/$3/fullchain.pem ;;
    certbot) f=$2/config/live/$3/fullchain.pem ;;
    lego) f=$2/certificates/$3.crt ;;
  esac
  [ -s "$f" ] || return 1
  [ "$(openssl x509 -in "$f" -noout -ext subjectAltName 2>/dev/null | tr ',' '\n' | grep -c 'DNS:')" = "$4" ]
}

# measure TEST CLIENT ROUND LOGFILE CMD... -> sets LAST_RC and LAST_ROW
# row: test client round rc wall_s cpu_s rss_kib
# Peak RSS comes from /usr/bin/time -f %M. /usr/bin/time prints seconds with
# two decimals only, so wall and CPU (user+sys, the command and everything it
# waited for) are taken with bash's `time` keyword around it (ms precision);
# /usr/bin/time's own %e/%U/%S stay in the log's last line as a cross-check.
# With REPS=N (used for the no-op renew checks, which take milliseconds) the
# command runs N times back to back under one measurement (stopping at the
# first failure); wall and CPU are then per run, RSS the largest run.
measure() {
  local test=$1 client=$2 round=$3 logf=$4; shift 4
  local reps=${REPS:-1} tf=$WORK/time.$$ rc wall usr sys rss bw bu bs
  local -a run=("$@")
  if [ "$reps" -gt 1 ]; then
    run=(bash -c 'n=$1; shift; for ((i = 0; i < n; i++)); do "$@" || exit $?; done' _ "$reps" "$@")
  fi
  local TIMEFORMAT='%3R %3U %3S'
  { time /usr/bin/time -f '%e %U %S %M' -o "$tf" timeout "$TIMEOUT" "${run[@]}" >"$logf" 2>&1; } 2>"$tf.bash"
  rc=$?
  read -r wall usr sys rss < <(tail -n1 "$tf")
  read -r bw bu bs < <(tail -n1 "$tf.bash")
  echo "# /usr/bin/time: wall $wall user $usr sys $sys maxrss_kib $rss; bash time: $bw $bu $bs; reps $reps" >>"$logf.time"
  LAST_RC=$rc
  LAST_ROW="$test	$client	$round	$rc	$(awk -v w="$bw" -v u="$bu" -v s="$bs" -v n="$reps" 'BEGIN{printf "%.4f\t%.4f", w/n, (u+s)/n}')	$rss"
}

record() { # record OK(0/1)
  local ok=$1
  # replace the rc column with ok flag
  echo "$LAST_ROW" | awk -F'\t' -v ok="$ok" 'BEGIN{OFS="\t"} {$4=ok; print}' >>"$RESULTS"
}

rotate() { # rotate ROUND -> client order for that round
  local -a c=($CLIENTS); local n=${#c[@]} i out=()
  for ((i = 0; i < n; i++)); do out+=("${c[(($1 + i) % n)]}"); done
  echo "${out[@]}"
}

issue_once() { # issue_once TEST CLIENT ROUND NNAMES -> records, returns ok
  local test=$1 client=$2 round=$3 nn=$4
  local tag="${test}-r${round}-${client}" dir ok=0
  dir=$WORK/runs/$tag
  mkdir -p "$WORK/runs"
  rm -rf "$dir"
  # shellcheck disable=SC2046
  issue_cmd "$client" "$dir" $(names "$tag" "$nn")
  measure "$test" "$client" "$round" "$WORK/runs/$tag.log" "${CMD[@]}"
  if [ "$LAST_RC" -eq 0 ] && issued "$client" "$dir" "$tag.bench.test" "$nn"; then ok=1; fi
  record "$ok"
  [ $ok = 1 ] || log "FAILED: $tag (exit $LAST_RC) — log: $WORK/runs/$tag.log: $(tail -n2 "$WORK/runs/$tag.log" | tr '\n' ' ' | cut -c1-300)"
  LAST_DIR=$dir
  [ $ok = 1 ]
}

# ------------------------------------------------------------------- setup
VERSIONS="webtier $("$WEBTIER" --version 2>/dev/null | awk '{print $NF}'), $(certbot --version 2>&1 | tail -n1), lego $(dpkg-query -W -f='${Version}' lego 2>/dev/null || echo '?'), pebble $(dpkg-query -W -f='${Version}' pebble 2>/dev/null || echo '?')"
log "versions: $VERSIONS"
log "work dir: $WORK"
mint_certs
start_pebble 0

# (c) preparation: the 50-certificate webtier state, and peers' 50-cert dirs
RENEW_DIR=$WORK/renew
prep_renew() {
  local client=$1 i first
  case $client in
    webtier)
      webtier_config "$RENEW_DIR/webtier"
      for ((i = 1; i <= RENEW_CERTS; i++)); do webtier_site "s$i.renew.bench.test" >>"$RENEW_DIR/webtier/webtier.toml"; done
      log "issuing $RENEW_CERTS certificates with webtier for the renew check"
      timeout "$TIMEOUT" env -C "$RENEW_DIR/webtier" "$WEBTIER" --config "$RENEW_DIR/webtier/webtier.toml" cert issue \
        >"$RENEW_DIR/webtier-issue.log" 2>&1 || log "webtier $RENEW_CERTS-cert issue failed: see $RENEW_DIR/webtier-issue.log"
      ;;
    certbot|lego)
      log "issuing $RENEW_CERTS certificates with $client (one run each) for the renew check"
      for ((i = 1; i <= RENEW_CERTS; i++)); do
        first="s$i.$client.renew.bench.test"
        issue_cmd "$client" "$RENEW_DIR/$client" "$first"
        timeout "$TIMEOUT" "${CMD[@]}" >>"$RENEW_DIR/$client-issue.log" 2>&1 || log "$client renew-prep issue $i failed"
      done ;;
  esac
  local have=0
  for ((i = 1; i <= RENEW_CERTS; i++)); do
    if [ "$client" = webtier ]; then first="s$i.renew.bench.test"; else first="s$i.$client.renew.bench.test"; fi
    issued "$client" "$RENEW_DIR/$client" "$first" 1 && have=$((have + 1))
  done
  log "$client holds $have/$RENEW_CERTS certificates for the renew check"
}
renew_cmd() { # renew_cmd CLIENT DIR [NAMES...]
  local client=$1 dir=$2; shift 2
  case $client in
    webtier) CMD=(env -C "$dir" "$WEBTIER" --config "$dir/webtier.toml" cert renew) ;;
    certbot) CMD=(env REQUESTS_CA_BUNDLE="$CA" certbot renew --no-random-sleep-on-renew --non-interactive
                  --config-dir "$dir/config" --work-dir "$dir/work" --logs-dir "$dir/logs") ;;
    lego)
      # lego renews one certificate per invocation: one run per certificate
      local script="" n
      for n in "$@"; do
        script+="LEGO_CA_CERTIFICATES='$CA' lego --server '$DIR_URL' --email '$EMAIL' --accept-tos --path '$dir' --key-type ec256 --http --http.port ':$HTTP01' -d '$n' renew --days 30 || exit 1; "
      done
      CMD=(bash -c "$script") ;;
  esac
}

prep_renew webtier
if [ "$PEER_RENEW50" = 1 ]; then
  for c in $CLIENTS; do [ "$c" = webtier ] || prep_renew "$c"; done
fi
renew50_names=()
for ((i = 1; i <= RENEW_CERTS; i++)); do renew50_names+=("s$i.lego.renew.bench.test"); done

# ------------------------------------------------------------------ rounds
for ((r = 1; r <= ROUNDS; r++)); do
  order=$(rotate "$r")
  log "round $r/$ROUNDS: $order"
  for c in $order; do
    issue_once one "$c" "$r" 1
    eval "ONE_DIR_$c=\$LAST_DIR"
  done
  for c in $order; do issue_once san10 "$c" "$r" 10; done
  for c in $order; do
    case $c in
      webtier)
        renew_cmd webtier "$RENEW_DIR/webtier"
        REPS=$RENEW_REPS measure "renew_noop_${RENEW_CERTS}" webtier "$r" "$WORK/renew-webtier-$r.log" "${CMD[@]}"
        # no-op: exit 0 and no output at all
        if [ "$LAST_RC" -eq 0 ] && [ ! -s "$WORK/renew-webtier-$r.log" ]; then record 1; else record 0; log "webtier renew not a silent no-op: $(head -c300 "$WORK/renew-webtier-$r.log")"; fi
        ;;
      certbot|lego)
        eval "d=\$ONE_DIR_$c"
        renew_cmd "$c" "$d" "one-r$r-$c.bench.test"
        REPS=$RENEW_REPS measure renew_noop_1 "$c" "$r" "$WORK/renew1-$c-$r.log" "${CMD[@]}"
        if [ "$LAST_RC" -eq 0 ]; then record 1; else record 0; log "$c renew (1 cert) failed: $(tail -n2 "$WORK/renew1-$c-$r.log")"; fi
        if [ "$PEER_RENEW50" = 1 ]; then
          renew_cmd "$c" "$RENEW_DIR/$c" "${renew50_names[@]//lego/$c}"
          REPS=$RENEW_REPS measure "renew_noop_${RENEW_CERTS}" "$c" "$r" "$WORK/renew50-$c-$r.log" "${CMD[@]}"
          if [ "$LAST_RC" -eq 0 ]; then record 1; else record 0; log "$c renew ($RENEW_CERTS certs) failed: $(tail -n2 "$WORK/renew50-$c-$r.log")"; fi
        fi ;;
    esac
  done
done

# ---------------------------------------------------------- (d) robustness
stop_pebble
start_pebble 50
for ((i = 1; i <= ROBUST_N; i++)); do
  for c in $(rotate "$i"); do issue_once robust50 "$c" "$i" 1; done
done
stop_pebble

# ------------------------------------------------------------------ report
python3 - "$RESULTS" "$VERSIONS" "$ROUNDS" "$ROBUST_N" "$RENEW_CERTS" <<'PY'
import sys, statistics as st
path, versions, rounds, robust_n, renew_certs = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
data = {}
for test, client, rnd, ok, wall, cpu, rss in rows:
    data.setdefault((test, client), []).append((int(ok), float(wall), float(cpu), int(rss)))

def med(test, client, i):
    v = [r[i] for r in data.get((test, client), []) if r[0] == 1]
    return st.median(v) if v else None

def fmt(x, unit):
    if x is None: return "—"
    if unit == "s": return f"{x*1000:.1f} ms" if x < 0.1 else (f"{x:.3f}" if x < 10 else f"{x:.1f}")
    if unit == "MiB": return f"{x/1024:.1f}"
    return str(x)

def ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a/b:.2f}"

tests = [("one", "(a) issue 1 name"), ("san10", "(b) issue 10-name SAN"),
         (f"renew_noop_{renew_certs}", f"(c) no-op renew, {renew_certs} certs"),
         ("renew_noop_1", "(c') no-op renew, 1 cert")]
clients = ["webtier", "certbot", "lego"]
print(f"\nversions: {versions}")
print(f"medians of {rounds} alternating rounds (successful runs only); ratios are of the medians;")
print("wall and CPU from bash `time` (ms), peak RSS from /usr/bin/time %M; no-op renew rows are per run, averaged over RENEW_REPS back-to-back runs\n")
print("| test | client | ok/runs | wall s | CPU s (user+sys) | peak RSS MiB | wall webtier/x | CPU webtier/x | RSS webtier/x |")
print("|---|---|---|---|---|---|---|---|---|")
for t, label in tests:
    for c in clients:
        runs = data.get((t, c))
        if not runs: continue
        okc = sum(r[0] for r in runs)
        w, cpu, rss = med(t, c, 1), med(t, c, 2), med(t, c, 3)
        if c == "webtier" or t == "renew_noop_1":
            # webtier's renew is compared against the peers' 50-cert rows
            rw = rc = rr = ""
            if t == "renew_noop_1":
                wb = med(f"renew_noop_{renew_certs}", "webtier", 1)
                cb = med(f"renew_noop_{renew_certs}", "webtier", 2)
                rb = med(f"renew_noop_{renew_certs}", "webtier", 3)
                rw, rc, rr = ratio(wb, w) + " *", ratio(cb, cpu) + " *", ratio(rb, rss) + " *"
        else:
            rw = ratio(med(t, "webtier", 1), w)
            rc = ratio(med(t, "webtier", 2), cpu)
            rr = ratio(med(t, "webtier", 3), rss)
        print(f"| {label} | {c} | {okc}/{len(runs)} | {fmt(w,'s')} | {fmt(cpu,'s')} | {fmt(rss,'MiB')} | {rw} | {rc} | {rr} |")
print(f"\n* webtier with {renew_certs} certs against the peer with 1 cert.")
print(f"\n(d) robustness, PEBBLE_WFE_NONCEREJECT=50, {robust_n} one-name issuances each:\n")
print("| client | successes | median wall s (successful) |")
print("|---|---|---|")
for c in clients:
    runs = data.get(("robust50", c))
    if not runs: continue
    print(f"| {c} | {sum(r[0] for r in runs)}/{len(runs)} | {fmt(med('robust50', c, 1), 's')} |")
PY
log "raw rows: $RESULTS"
