#!/usr/bin/env bash
# Install the providers' own Node SDKs that the provider tests run (Contentful's and Hygraph's
# signers and verifiers have no Python implementation; Cashfree's Python SDK cannot share the
# test environment): Node.js and npm from apt when missing, then the versions pinned in
# tests/unit/providers/node/package-lock.json (npm ci).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "hookgate: $*" >&2; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root (or sudo) to run: $*"; exit 1
    fi
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "Node.js 18+ and npm are needed for the provider SDK tests; install them."
        exit 1
    fi
    say "installing nodejs and npm with apt-get (one time)..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

dir=tests/unit/providers/node
if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    say "installing the Node SDKs pinned in $dir (npm ci)..."
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    touch "$dir/node_modules"
fi
