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

# Browser tests drive Debian's Chromium through ChromeDriver.
apt_install chromium chromium-driver

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
