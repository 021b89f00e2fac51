#!/usr/bin/env bash
# Installs what building and testing Tether needs, only when it is missing.
#   scripts/deps.sh build   C libraries (libuv, libcrypto, libqrencode, zlib, sqlite3) and pkg-config
#   scripts/deps.sh test    the above, plus the independent test client (Python websockets, pytest),
#                           headless Chromium with its driver, Selenium, a QR reader (zxing-cpp), Node with
#                           node-ws, PyJWT, PyYAML, redis-server, and Prometheus (promtool checks the alert rules)
#   scripts/deps.sh bench   the above, plus node-ws for the reference server and redis-server for the cluster rows
#   scripts/deps.sh cluster the build's, plus redis-server (make cluster)
set -euo pipefail
what="${1:-build}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else
        echo "deps: need root (or sudo) to run: $*" >&2
        echo "deps: install libuv1-dev libssl-dev libqrencode-dev zlib1g-dev libsqlite3-dev pkg-config yourself, then re-run make" >&2
        exit 1
    fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libuv libcrypto libqrencode zlib sqlite3; then
    echo "deps: installing libuv1-dev libssl-dev libqrencode-dev zlib1g-dev libsqlite3-dev pkg-config"
    apt_install libuv1-dev libssl-dev libqrencode-dev zlib1g-dev libsqlite3-dev pkg-config
fi

if [ "$what" = bench ] && [ ! -d /usr/share/nodejs/ws ]; then
    echo "deps: installing nodejs and node-ws for the reference server"
    command -v node >/dev/null 2>&1 && apt_install node-ws || apt_install nodejs node-ws
fi

if [ "$what" = bench ] || [ "$what" = cluster ]; then
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "deps: installing redis-server for the cluster"
        apt_install redis-server
    fi
fi

if [ "$what" = test ]; then
    if ! command -v node >/dev/null 2>&1; then
        echo "deps: installing nodejs for the page script tests"
        apt_install nodejs
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "deps: installing redis-server for the cluster link tests"
        apt_install redis-server
    fi
    if [ ! -d /usr/share/nodejs/ws ]; then
        echo "deps: installing node-ws for the JavaScript client tests"
        apt_install node-ws
    fi
    if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
        echo "deps: installing prometheus for the alert rule and scrape config tests"
        apt_install --no-install-recommends prometheus
    fi
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
        echo "deps: installing chromium and chromium-driver for the browser tests"
        apt_install chromium chromium-driver
    fi
    if ! python3 -c 'import websockets, pytest, prometheus_client, selenium, zxingcpp, PIL, jwt, cryptography, yaml' >/dev/null 2>&1; then
        echo "deps: installing Python websockets, pytest, prometheus_client, selenium, zxing-cpp, pillow, PyJWT, cryptography and PyYAML"
        python3 -m pip install -q websockets pytest prometheus_client selenium zxing-cpp pillow pyjwt cryptography pyyaml
    fi
fi
