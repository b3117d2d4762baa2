#!/usr/bin/env bash
# The one test command. It checks that rustc is at least the rust-version
# of Cargo.toml; on a fresh Debian machine it installs what the tests need
# (Debian: pebble, nginx, testssl.sh, nodejs, npm, chromium; a Python
# virtualenv in .venv with moto_server, FastAPI and uvicorn; oidc-provider
# and playwright-core from npm in tests/support/oidc; cargo-deny with
# `cargo install`), then
# runs the format check, cargo-deny (licenses, bans, sources; see deny.toml),
# clippy with warnings as errors, the whole test suite against those real
# services, a testssl.sh scan of the proxy's HTTPS listener
# (scripts/tls-scan.sh) and the demo (scripts/demo.sh) on the debug binary.
set -euo pipefail
cd "$(dirname "$0")/.."

# say, install_debian_packages, ensure_python_venv, ensure_oidc_node_modules
# (shared with scripts/demo.sh)
# shellcheck source=scripts/lib/setup.sh
. scripts/lib/setup.sh

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
# The proxy's gzip links the system's zlib (flate2's zlib backend; cc
# builds zstd-sys and libz-sys)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
# tests/it/init.rs: the instance's address on a namespace's loopback (ip)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
# tests/it/auth.rs: the OpenID provider (oidc-provider on node) and the
# browser that logs in (chromium driven by playwright-core)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# shellcheck disable=SC2207 # the names are single words
missing+=($(python_packages_missing))
install_debian_packages "${missing[@]}"

# --- Python services (moto_server, the FastAPI app under uvicorn) --------
WEBTIER_TEST_VENV="$(python_venv_dir)"
export WEBTIER_TEST_VENV
ensure_python_venv

# --- npm packages of the login tests (oidc-provider, playwright-core) ----
ensure_oidc_node_modules

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
# The README's first command, on the debug binary that cargo test built
# (about 15 s; needs root for its namespaces, as the init test does).
say "the demo (scripts/demo.sh: webtier init, status, HTTPS, renew, destroy)"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo env WEBTIER="$PWD/target/debug/webtier" WEBTIER_TEST_VENV="$WEBTIER_TEST_VENV" scripts/demo.sh
