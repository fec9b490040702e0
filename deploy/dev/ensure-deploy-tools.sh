#!/usr/bin/env bash
# Make sure the offline checkers of deploy/ are installed: promtool (Debian's `prometheus`
# package; the alert rules' unit tests) and kubectl (`kubectl kustomize` renders the Kubernetes
# manifests). Installs what is missing with apt-get (Debian/Ubuntu); nothing is started.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "hookgate: $*" >&2; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root (or sudo) to run: $*"; exit 1
    fi
}

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    say "missing ${missing[*]} and this is not a Debian/Ubuntu machine: install promtool and kubectl."
    exit 1
fi
say "installing ${missing[*]} with apt-get (one time)..."
as_root apt-get update -qq
# The prometheus package's own server is not wanted here, only its promtool: keep it stopped.
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
promtool --version >/dev/null
kubectl version --client >/dev/null
