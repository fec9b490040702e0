#!/usr/bin/env bash
# Make sure Debian's chromium and chromedriver are installed (the web console's browser test,
# tests/integration/test_admin_console_browser.py): leave installed ones alone, install both
# with apt-get when missing. Nothing downloads a browser from anywhere else.
set -euo pipefail

say() { echo "hookgate: $*" >&2; }
present() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root (or sudo) to run: $*"; exit 1
    fi
}

if present; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "chromium and chromedriver are not installed and this is not a Debian/Ubuntu machine; install both (the console's browser test needs them)"
    exit 1
fi
say "installing chromium and chromium-driver with apt-get (one time)..."
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
if ! present; then
    say "apt-get installed chromium and chromium-driver, yet chromium or chromedriver is not on PATH"
    exit 1
fi
say "chromium $(chromium --version 2>/dev/null | awk '{print $2}') is installed"
