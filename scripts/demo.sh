#!/usr/bin/env bash
# webtier's job end to end on this machine, with nothing from AWS or a real
# CA: `webtier init` takes an app on 127.0.0.1:8000 to an HTTPS site, then
# `webtier status`, a request through the proxy, `webtier cert renew
# --force` and `webtier destroy`.
#
#   sudo scripts/demo.sh               (Debian; builds target/release/webtier)
#   sudo WEBTIER=path/to/webtier scripts/demo.sh
#
# Stand-ins, each on loopback: moto_server for the AWS APIs (an instance
# with a public address, its security group, the Route 53 zone demo.test),
# pebble for the ACME CA, the FastAPI app of tests/apps under uvicorn.
# webtier is not told it is a demo: it gets the AWS endpoint
# (AWS_ENDPOINT_URL), the ACME directory URL and pebble's HTTPS root
# (--ca-root), as a user passes them.
#
# It needs root: it runs in network and mount namespaces of its own
# (unshare), so ports 80 and 443 are free whatever this machine runs, the
# instance's public address can sit on the loopback interface (the name
# reaches this machine as it would on EC2), and /etc and /var/lib are
# overlaid: webtier's proxy user, /etc/webtier, /var/lib/webtier, the cron
# entry and the /etc/hosts line that stands in for public DNS vanish when
# the demo ends, with every process it started. Installs with apt what is
# missing (pebble, openssl, curl, iproute2, passwd, python3-venv) and the
# Python services into .venv (as scripts/test.sh does).
#
# Exit 0 when every stage passed, 1 otherwise (the stage and the stand-ins'
# last log lines are printed).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
# shellcheck source=scripts/lib/setup.sh
. scripts/lib/setup.sh

DOMAIN=app.demo.test
ZONE=demo.test
EMAIL=ops@demo.test
# Fixed ports: nothing else lives in the demo's network namespace.
MOTO_PORT=5000
PEBBLE_PORT=14000
PEBBLE_MGMT_PORT=15000
PEBBLE_TLS_PORT=5001
DNS_PORT=8053
DNS_MGMT_PORT=8055
APP_PORT=8000
# Bounds: a stand-in's start, one webtier command.
START_TIMEOUT=60
COMMAND_TIMEOUT=300

die() {
    printf 'demo: error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------
# Outside the namespaces: install, build, then run this script again inside.
# ---------------------------------------------------------------------------
if [ -z "${WEBTIER_DEMO_INSIDE:-}" ]; then
    [ "$(id -u)" -eq 0 ] || die "run it as root (sudo scripts/demo.sh): it makes network and mount namespaces of its own"
    missing=()
    command -v pebble >/dev/null 2>&1 || missing+=(pebble)
    command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
    command -v useradd >/dev/null 2>&1 || missing+=(passwd)
    # shellcheck disable=SC2207 # the names are single words
    missing+=($(python_packages_missing))
    install_debian_packages "${missing[@]}"
    WEBTIER_TEST_VENV="$(python_venv_dir)"
    export WEBTIER_TEST_VENV
    ensure_python_venv

    if [ -n "${WEBTIER:-}" ]; then
        WEBTIER="$(realpath "$WEBTIER")" || die "WEBTIER=$WEBTIER: no such file"
        [ -x "$WEBTIER" ] || die "WEBTIER=$WEBTIER is not an executable file"
    else
        as_checkout_owner cargo --version >/dev/null 2>&1 ||
            die "cargo not found: install Rust (https://rustup.rs, 1.94.1 or newer) or pass WEBTIER=/path/to/webtier"
        say "building webtier (cargo build --release: the first build takes long, 25 min on 2 busy cores; WEBTIER=path/to/webtier skips it)"
        as_checkout_owner cargo build --release --locked
        WEBTIER="$repo/target/release/webtier"
    fi
    export WEBTIER
    why="$(unshare --net --mount true 2>&1)" ||
        die "cannot make network and mount namespaces (${why:-unshare failed}): run the demo on a machine or VM where root may (in a container: --privileged)"
    WEBTIER_DEMO_INSIDE=1 exec unshare --net --mount --propagation private -- "$repo/scripts/demo.sh"
fi

# ---------------------------------------------------------------------------
# Inside: a private network and a private /etc and /var/lib.
# ---------------------------------------------------------------------------
venv="$WEBTIER_TEST_VENV"
# Nothing outside is reachable from here, a proxy setting included.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
# Scratch space on a tmpfs of this mount namespace: the overlays' upper
# layers, logs, the site's directory. It vanishes with the namespace, even
# when the demo is killed.
work="$(mktemp -d "${TMPDIR:-/tmp}/webtier-demo.XXXXXX")"
mount -t tmpfs -o mode=0700 webtier-demo "$work" || die "cannot mount a tmpfs on $work"
mkdir -p "$work/logs" "$work/site"
started=$SECONDS
stages=9
stage_no=0
stage_name="setup"
pids=()      # stand-ins, each the leader of its own process group
mounted=()   # overlays, unmounted at the end

# One line per stage; what it ran, indented below it.
stage() {
    stage_no=$((stage_no + 1))
    stage_name="$1"
    printf '\n[%d/%d] %s\n' "$stage_no" "$stages" "$1"
}
note() { printf '      %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }

# Names the stage and the cause, shows the last lines of every stand-in's
# log and the proxy's (unless the first argument is --no-logs), exits 1.
fail() {
    local logs=yes log
    if [ "$1" = --no-logs ]; then
        logs=no
        shift
    fi
    printf '\ndemo: FAILED at stage %d/%d (%s): %s\n' "$stage_no" "$stages" "$stage_name" "$*" >&2
    [ "$logs" = yes ] || exit 1
    for log in "$work"/logs/*.log /var/lib/webtier/run/proxy.log; do
        [ -s "$log" ] || continue
        printf -- '--- last lines of %s\n' "${log##*/}" >&2
        tail -n 10 "$log" >&2
    done
    exit 1
}

# Runs webtier with a time bound, its output indented; the command as a user
# would type it is shown first.
webtier() {
    printf '    $ webtier %s\n' "$*"
    local rc=0
    timeout "$COMMAND_TIMEOUT" "$WEBTIER" "$@" 2>&1 | sed 's/^/      /' || rc=$?
    [ "$rc" -ne 124 ] || fail "webtier $1 did not finish within $COMMAND_TIMEOUT s"
    return "$rc"
}

# Polls until `curl URL` succeeds (extra curl arguments after the URL), or
# fails the stage when PID exits or START_TIMEOUT passes.
wait_ready() {
    local name="$1" pid="$2" url="$3"
    shift 3
    local deadline=$((SECONDS + START_TIMEOUT))
    until curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || fail "$name exited before answering $url (log: ${name}.log below)"
        [ "$SECONDS" -lt "$deadline" ] || fail "$name did not answer $url within $START_TIMEOUT s"
        sleep 0.1
    done
}

# The same for a TCP port of 127.0.0.1 that accepts connections.
wait_port() {
    local name="$1" pid="$2" port="$3"
    local deadline=$((SECONDS + START_TIMEOUT))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || fail "$name exited before listening on 127.0.0.1:$port"
        [ "$SECONDS" -lt "$deadline" ] || fail "$name did not listen on 127.0.0.1:$port within $START_TIMEOUT s"
        sleep 0.1
    done
}

# Starts a stand-in in a process group of its own, output to logs/NAME.log.
spawn() {
    local name="$1"
    shift
    setsid "$@" </dev/null >"$work/logs/$name.log" 2>&1 &
    pids+=("$!")
    spawned=$!
}

# Every process still in this network namespace but this script: only what
# the demo started (directly, or webtier's detached proxy).
strays() {
    local me ns p
    me="$(readlink /proc/$$/ns/net)"
    for p in /proc/[0-9]*; do
        p="${p#/proc/}"
        if [ "$p" = $$ ] || [ "$p" = "$BASHPID" ]; then continue; fi
        ns="$(readlink "/proc/$p/ns/net" 2>/dev/null)" || continue
        if [ "$ns" = "$me" ]; then printf '%s\n' "$p"; fi
    done
}

cleanup() {
    local rc=$? pid deadline left
    set +e
    trap - EXIT INT TERM ERR
    printf '\n[cleanup] '
    if [ -f /etc/webtier/proxy.toml ]; then
        timeout 60 "$WEBTIER" proxy stop --file /etc/webtier/proxy.toml >/dev/null 2>&1
    fi
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null
    done
    deadline=$((SECONDS + 15))
    while left="$(strays)" && [ -n "$left" ] && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    if [ -n "$left" ]; then
        # shellcheck disable=SC2086 # one pid per word
        kill -KILL $left 2>/dev/null
    fi
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    cd /
    for m in "${mounted[@]}" "$work"; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    rmdir "$work"
    printf 'stopped the proxy and %d stand-ins, removed the overlays of /etc and /var/lib\n' "${#pids[@]}"
    if [ "$rc" -eq 0 ]; then
        printf '\ndemo: all %d stages passed in %d s\n' "$stages" "$((SECONDS - started))"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM
# A command that fails where no stage expected it still names itself.
trap 'fail "line $LINENO: \`$BASH_COMMAND\` failed"' ERR
set -E

# --- 1. The machine ---------------------------------------------------------
stage "a private machine: network and mount namespaces of the demo's own"
ip link set lo up
for dir in /etc /var/lib; do
    name="${dir//\//_}"
    mkdir -p "$work/overlay/$name/upper" "$work/overlay/$name/work"
    mount -t overlay overlay \
        -o "lowerdir=$dir,upperdir=$work/overlay/$name/upper,workdir=$work/overlay/$name/work" "$dir" ||
        fail "cannot overlay $dir (overlayfs)"
    mounted+=("$dir")
done
ok "loopback up, nothing on ports 80/443; /etc and /var/lib overlaid (changes vanish at the end)"

# --- 2. AWS -------------------------------------------------------------------
stage "AWS stand-in: moto_server on 127.0.0.1:$MOTO_PORT, with an EC2 instance and a Route 53 zone"
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
spawn moto_server env -C "$work/logs" MOTO_RECORDER_FILEPATH="$work/logs/moto-recording" \
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
wait_ready moto_server "$spawned" "$AWS_ENDPOINT_URL/moto-api/"
world="$("$venv/bin/python" scripts/lib/demo-aws.py create "$ZONE" 2>"$work/logs/demo-aws.log")" ||
    fail "cannot create the AWS world in moto (see demo-aws.log)"
read -r instance public_ip group zone_id <<<"$world"
# On EC2 the public address reaches the instance; here it sits on loopback.
ip addr add "$public_ip/32" dev lo
# Public DNS will map the name to that address once the dns step has run:
# /etc/hosts (overlaid) stands in for it, for webtier's preflight and curl.
printf '127.0.0.1 localhost\n%s %s\n' "$public_ip" "$DOMAIN" >/etc/hosts
note "instance $instance, public IPv4 $public_ip (on loopback), security group $group"
note "hosted zone $ZONE ($zone_id); /etc/hosts maps $DOMAIN to $public_ip, as public DNS will"
note "before webtier:"
"$venv/bin/python" scripts/lib/demo-aws.py show "$group" "$zone_id" | sed 's/^/        /'
ok "webtier reaches it through AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL with dummy keys, like any AWS SDK program"

# --- 3. ACME ------------------------------------------------------------------
stage "ACME stand-in: pebble on 127.0.0.1:$PEBBLE_PORT (a test CA)"
# pebble's own HTTPS listener needs a certificate; the package ships none.
mint() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$work/listener-ca.key" -out "$work/listener-ca.pem" -days 7 \
        -subj "/CN=webtier demo CA for pebble's listener" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$work/listener.key" -out "$work/listener.csr" -subj "/CN=localhost"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$work/listener.ext"
    openssl x509 -req -in "$work/listener.csr" -CA "$work/listener-ca.pem" \
        -CAkey "$work/listener-ca.key" -CAcreateserial -days 7 -sha256 \
        -extfile "$work/listener.ext" -out "$work/listener.pem"
}
mint >"$work/logs/openssl.log" 2>&1 || fail "cannot mint pebble's listener certificate (see openssl.log)"
cat >"$work/pebble.json" <<EOF
{"pebble": {
  "listenAddress": "127.0.0.1:$PEBBLE_PORT",
  "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
  "certificate": "$work/listener.pem",
  "privateKey": "$work/listener.key",
  "httpPort": 80,
  "tlsPort": $PEBBLE_TLS_PORT,
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false
}}
EOF
# The CA's resolver: every name is the instance's public address, as the
# A record that webtier writes will say.
spawn pebble-challtestsrv pebble-challtestsrv -defaultIPv4 "$public_ip" -defaultIPv6 "" \
    -dns01 "127.0.0.1:$DNS_PORT" -management "127.0.0.1:$DNS_MGMT_PORT" \
    -http01 "" -https01 "" -tlsalpn01 ""
wait_port pebble-challtestsrv "$spawned" "$DNS_MGMT_PORT"
spawn pebble env -C "$work" PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$work/pebble.json" -dnsserver "127.0.0.1:$DNS_PORT"
wait_ready pebble "$spawned" "https://127.0.0.1:$PEBBLE_PORT/dir" --cacert "$work/listener-ca.pem"
curl -fsS --max-time 10 --cacert "$work/listener-ca.pem" \
    "https://127.0.0.1:$PEBBLE_MGMT_PORT/roots/0" -o "$work/pebble-root.pem" ||
    fail "cannot fetch pebble's issuing root from its management API"
note "directory https://127.0.0.1:$PEBBLE_PORT/dir; its HTTPS is signed by a CA made just now"
note "(listener-ca.pem, given to webtier with --ca-root); it validates HTTP-01 on port 80 of $public_ip"
ok "pebble issues under a root made at its start (fetched for curl from /roots/0)"

# --- 4. The app ---------------------------------------------------------------
stage "the app: FastAPI (tests/apps/app.py) under uvicorn on 127.0.0.1:$APP_PORT"
spawn uvicorn env WEBTIER_TEST_APP_NAME=demo "$venv/bin/uvicorn" app:app \
    --host 127.0.0.1 --port "$APP_PORT" --app-dir "$repo/tests/apps" --no-access-log
wait_ready uvicorn "$spawned" "http://127.0.0.1:$APP_PORT/health"
ok "$(curl -fsS --max-time 5 "http://127.0.0.1:$APP_PORT/health") from http://127.0.0.1:$APP_PORT/health"

# --- 5. webtier init ----------------------------------------------------------
stage "webtier init: firewall → dns → proxy-config → proxy → cert → schedule"
cp "$work/listener-ca.pem" "$work/site/pebble-listener-ca.pem"
cd "$work/site"
webtier init --yes --domain "$DOMAIN" --email "$EMAIL" --instance "$instance" \
    --acme-directory "https://127.0.0.1:$PEBBLE_PORT/dir" --ca-root pebble-listener-ca.pem ||
    fail "webtier init failed (its message is above)"
note "the webtier.toml it wrote:"
sed 's/^/        /' webtier.toml
"$venv/bin/python" "$repo/scripts/lib/demo-aws.py" show "$group" "$zone_id" >"$work/after-init" ||
    fail "cannot read the security group and zone back from moto"
note "AWS now:"
sed 's/^/        /' "$work/after-init"
grep -q "tcp/443 from 0.0.0.0/0" "$work/after-init" || fail "port 443 is not open in $group"
grep -q "record $DOMAIN A $public_ip" "$work/after-init" || fail "no A record $DOMAIN → $public_ip"
ok "ports 80/443 open, $DOMAIN → $public_ip in Route 53, a certificate from pebble, the proxy serving it"

# --- 6. webtier status ----------------------------------------------------------
stage "webtier status: every check of the site"
webtier status || fail "webtier status found a failing check (exit 1)"
ok "every check passed (exit 0)"

# --- 7. A request -----------------------------------------------------------------
stage "a browser's request: https://$DOMAIN/health → the proxy → the app"
# What the proxy serves for the name (empty when nothing answers).
served() {
    { timeout 10 openssl s_client -connect "$DOMAIN:443" -servername "$DOMAIN" </dev/null 2>/dev/null |
        openssl x509 -noout "$@" 2>/dev/null; } || true
}
printf '    $ curl --cacert pebble-root.pem https://%s/health\n' "$DOMAIN"
body="$(curl -fsS --max-time 10 --cacert "$work/pebble-root.pem" "https://$DOMAIN/health")" ||
    fail "curl https://$DOMAIN/health failed"
note "$body"
[[ "$body" == *'"app":"demo"'* ]] || fail "the answer did not come from the app: $body"
redirect="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' "http://$DOMAIN/health")"
note "http://$DOMAIN/health → $redirect"
[[ "$redirect" == 30?" https://$DOMAIN/health" ]] || fail "plain HTTP did not redirect to HTTPS: $redirect"
note "served certificate: $(served -issuer -serial -enddate | tr '\n' ' ')"
ok "HTTPS with pebble's certificate, from the FastAPI app; HTTP redirects to HTTPS"

# --- 8. Renewal -------------------------------------------------------------------
stage "renewal: webtier cert renew --force (what the cron entry runs, forced)"
note "the schedule step installed /etc/cron.d/webtier:"
grep -v '^#' /etc/cron.d/webtier | sed '/^$/d; s/^/        /'
before="$(served -serial)"
webtier cert renew --force || fail "webtier cert renew --force failed"
live="$(openssl x509 -noout -serial -in "/var/lib/webtier/live/$DOMAIN/cert.pem")"
[ "$live" != "$before" ] || fail "the live certificate was not replaced ($live)"
deadline=$((SECONDS + 30))
until [ "$(served -serial)" = "$live" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the proxy still serves $before, not the renewed $live, after 30 s"
    sleep 0.1
done
ok "a new certificate, served by the proxy without a restart (${before#serial=} → ${live#serial=})"

# --- 9. webtier destroy -------------------------------------------------------------
stage "webtier destroy: remove what webtier created, and nothing else"
"$WEBTIER" destroy --help >/dev/null 2>&1 ||
    fail --no-logs "this webtier has no destroy subcommand (\`webtier destroy --help\` fails): build it from a tree that has \`webtier destroy\`"
webtier destroy --yes || fail "webtier destroy --yes failed"
"$venv/bin/python" "$repo/scripts/lib/demo-aws.py" check-destroyed "$group" "$zone_id" "$DOMAIN" 2>"$work/destroy-check" ||
    fail "after destroy: $(paste -sd ';' "$work/destroy-check")"
note "AWS now:"
"$venv/bin/python" "$repo/scripts/lib/demo-aws.py" show "$group" "$zone_id" | sed 's/^/        /'
deadline=$((SECONDS + 60))
while (exec 3<>"/dev/tcp/$public_ip/443") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the proxy still listens on $public_ip:443 60 s after destroy"
    sleep 0.1
done
[ ! -e /etc/cron.d/webtier ] || fail "the renewal cron entry /etc/cron.d/webtier is still there"
[ -s "/var/lib/webtier/live/$DOMAIN/fullchain.pem" ] || fail "the certificate was removed (only --revoke should)"
ok "its rules, records and ownership TXT, the proxy and the schedule are gone; the ssh rule, mail.$ZONE and the certificate stay"
