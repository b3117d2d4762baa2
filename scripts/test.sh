#!/usr/bin/env bash
# The one test command. It checks that rustc is at least the rust-version
# of Cargo.toml; on a fresh Debian machine it installs what the tests need
# (Debian: pebble, nginx, testssl.sh; a Python virtualenv in .venv with
# moto_server, FastAPI and uvicorn; cargo-deny with `cargo install`), then
# runs the format check, cargo-deny (licenses, bans, sources; see deny.toml),
# clippy with warnings as errors, the whole test suite against those real
# services, and a testssl.sh scan of the proxy's HTTPS listener
# (scripts/tls-scan.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

# --- Toolchain: rustc at least Cargo.toml's rust-version -----------------
# (cargo refuses an older rustc too, but only once it builds, after the
# installs below.) clippy's incompatible_msrv lint reads the same field.
want=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
have=$("${RUSTC:-rustc}" --version | awk '{print $2}')
have=${have%%-*}
if [ -z "$want" ]; then
    echo "error: Cargo.toml declares no rust-version" >&2
    exit 1
fi
if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n 1)" != "$want" ]; then
    echo "error: rustc $have is older than webtier's rust-version $want (Cargo.toml): rustup update stable" >&2
    exit 1
fi

# --- Debian packages ---------------------------------------------------
missing=()
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
command -v testssl >/dev/null 2>&1 || missing+=(testssl.sh)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v useradd >/dev/null 2>&1 || [ -x /usr/sbin/useradd ] || missing+=(passwd)
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

# --- cargo-deny ---------------------------------------------------------
# Built from crates.io when missing: about 5.5 minutes on 2 cores. (A
# prebuilt binary would come from GitHub, which these machines cannot reach.)
deny_version=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "^cargo-deny ${deny_version%.*}\."; then
    say "installing cargo-deny $deny_version (cargo install --locked)"
    cargo install --locked --version "$deny_version" cargo-deny
fi

# --- Checks and tests ---------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check
# Advisories are not checked: cargo-deny clones the RustSec advisory
# database from GitHub, which these machines cannot reach (see deny.toml).
say "cargo deny check licenses bans sources"
cargo deny --locked check licenses bans sources
say "cargo clippy --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings
say "cargo test"
cargo test --locked --no-fail-fast
say "TLS scan of the proxy (testssl.sh, debug binary from cargo test)"
scripts/tls-scan.sh target/debug/webtier
