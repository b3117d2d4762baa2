#!/usr/bin/env bash
# The one test command. On a fresh Debian machine it installs what the tests
# need (Debian: pebble, nginx, testssl.sh; a Python virtualenv in .venv with
# moto_server, FastAPI and uvicorn), then runs the format check, clippy with
# warnings as errors, the whole test suite against those real services, and
# a testssl.sh scan of the proxy's HTTPS listener (scripts/tls-scan.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

# --- Debian packages ---------------------------------------------------
missing=()
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
command -v testssl >/dev/null 2>&1 || missing+=(testssl.sh)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Python services (moto_server, the FastAPI app under uvicorn) --------
venv="${WEBTIER_TEST_VENV:-$PWD/.venv}"
export WEBTIER_TEST_VENV="$venv"
stamp="$venv/.requirements"
if ! cmp -s tests/apps/requirements.txt "$stamp" 2>/dev/null; then
    say "installing Python test services into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/apps/requirements.txt
    cp tests/apps/requirements.txt "$stamp"
fi

# --- Checks and tests ---------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings
say "cargo test"
cargo test --locked --no-fail-fast
say "TLS scan of the proxy (testssl.sh, debug binary from cargo test)"
scripts/tls-scan.sh target/debug/webtier
