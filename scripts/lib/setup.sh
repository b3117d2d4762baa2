# Shared by scripts/test.sh and scripts/demo.sh (sourced, not run): the
# Debian packages and the Python virtualenv (moto_server, FastAPI, uvicorn)
# that both need, and the npm packages of the login tests. Call from the
# repository's root.
# shellcheck shell=bash

say() { printf '==> %s\n' "$*"; }

# Installs the given Debian packages with apt-get (through sudo when not
# root). Nothing is done for an empty list.
install_debian_packages() {
    [ "$#" -gt 0 ] || return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing Debian packages: $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

# The Debian packages Python needs to make a virtualenv, when it cannot
# yet (Debian ships ensurepip in python3-venv, not with python3).
python_packages_missing() {
    if ! command -v python3 >/dev/null 2>&1; then
        echo python3 python3-venv
    elif ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
        echo python3-venv
    fi
}

# The virtualenv of the test services: $WEBTIER_TEST_VENV, else .venv.
python_venv_dir() {
    printf '%s\n' "${WEBTIER_TEST_VENV:-$PWD/.venv}"
}

# Creates or updates the virtualenv with tests/apps/requirements.txt, unless
# it already holds exactly those pins. Made by the checkout's owner (see
# as_checkout_owner), so that their later runs without sudo can update it.
ensure_python_venv() {
    local venv stamp
    venv="$(python_venv_dir)"
    stamp="$venv/.requirements"
    if cmp -s tests/apps/requirements.txt "$stamp" 2>/dev/null; then
        return 0
    fi
    say "installing Python test services (moto_server, FastAPI, uvicorn) into $venv"
    as_checkout_owner python3 -m venv "$venv"
    as_checkout_owner "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/apps/requirements.txt
    as_checkout_owner cp tests/apps/requirements.txt "$stamp"
}

# Installs the OpenID provider and browser driver of the login tests
# (oidc-provider, playwright-core; tests/support/oidc) with `npm ci` when
# node_modules is missing or older than the lock file.
ensure_oidc_node_modules() {
    local dir=tests/support/oidc
    if [ -d "$dir/node_modules" ] && [ ! "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
        return 0
    fi
    say "installing the login tests' npm packages (npm ci in $dir)"
    as_checkout_owner npm ci --prefix "$dir" --no-audit --no-fund
    # npm ci keeps node_modules' own mtime when it reuses the directory.
    as_checkout_owner touch "$dir/node_modules"
}

# Runs a command as the owner of the checkout when that is another user
# than root and this runs as root (`sudo scripts/demo.sh`): what it makes in
# the checkout (.venv, target/) stays theirs, and their ~/.cargo/bin is on
# PATH. Otherwise runs it as is.
as_checkout_owner() {
    local owner home
    owner="$(stat -c %U .)"
    if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ] && [ "$owner" != UNKNOWN ]; then
        home="$(getent passwd "$owner" | cut -d: -f6)"
        runuser -u "$owner" -- env HOME="$home" PATH="$home/.cargo/bin:$PATH" "$@"
    else
        "$@"
    fi
}
