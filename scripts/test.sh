#!/usr/bin/env bash
# Every check CI runs, in one command: formatting, lints, and all tests (unit, property,
# store, fake VirusTotal, scheduler, CLI end-to-end, web, browser).
# It installs what the tests need when missing (Debian packages) and cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    # Installs Debian packages that are missing; quiet unless something goes wrong.
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "test.sh: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Browser tests drive Debian's Chromium through ChromeDriver; the Redis tests need a
# redis-server of their own, and openssl for the TLS test's certificate; the test of
# `--wait` across midnight sets the processes' clocks with libfaketime.
apt_install chromium chromium-driver redis-server openssl faketime

# vt-py, VirusTotal's own Python client, from the Python package registry: the tests of the
# VirusTotal-compatible endpoint drive `vtsum serve` with it (crates/vtsum/tests/vtpy.rs).
# Kept under target/ between runs.
vtpy=target/vtpy
if ! "$vtpy/bin/python" -c 'import vt' >/dev/null 2>&1; then
    echo "test.sh: installing vt-py into $vtpy"
    mkdir -p target
    python3 -m venv "$vtpy"
    "$vtpy/bin/pip" install -q --disable-pip-version-check "vt-py==0.22.0"
fi

# OASIS's STIX validator and MISP's PyMISP, the reference readers of `--format stix` and
# `--format misp` (crates/vtsum-core/tests/export.rs); pinned as in test-utils' pyexport.rs.
pyexport=target/pyexport
if ! "$pyexport/bin/python" -c 'import stix2validator, pymisp' >/dev/null 2>&1; then
    echo "test.sh: installing stix2-validator and pymisp into $pyexport"
    mkdir -p target
    python3 -m venv "$pyexport"
    "$pyexport/bin/pip" install -q --disable-pip-version-check "stix2-validator==3.3.2" "pymisp==2.5.34.4"
fi

# A throwaway Redis on a free port, unless VTSUM_TEST_REDIS names one; stopped on exit.
if [ -z "${VTSUM_TEST_REDIS:-}" ]; then
    redis_dir=$(mktemp -d)
    redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$redis_dir" --save "" \
        --appendonly no --daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log"
    stop_redis() {
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
        rm -rf "$redis_dir"
    }
    trap stop_redis EXIT
    for _ in $(seq 1 100); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
        sleep 0.05
    done
    export VTSUM_TEST_REDIS="redis://127.0.0.1:$redis_port/0"
    echo "== redis-server on port $redis_port"
fi

echo "== module import loops"
python3 scripts/module_cycles.py crates
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --profile ci
else
    cargo test --workspace
fi
