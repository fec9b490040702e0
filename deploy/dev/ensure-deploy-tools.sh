#!/usr/bin/env bash
# Make sure the offline checkers of deploy/ are installed: promtool (Debian's `prometheus`
# package; the alert rules' unit tests) and kubectl (`kubectl kustomize` renders the Kubernetes
# manifests). Installs what is missing with apt-get (Debian/Ubuntu); nothing is started.
# Also unpacks (without installing) Debian's kubectl 1.20 into var/tools/debian-kubectl: its
# bundled kustomize v2 is the oldest the manifests must render with (tests/unit/deploy).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/../.."

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

# Debian's kubernetes-client package, unpacked into var/tools (git-ignored), once.
debian_kubectl=var/tools/debian-kubectl/usr/bin/kubectl
unpack_debian_kubectl() {
    [ -x "$debian_kubectl" ] && return 0
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
        say "need apt-get and dpkg to unpack Debian's kubernetes-client into var/tools"
        exit 1
    fi
    local tmp
    tmp="$(mktemp -d)"
    # apt-get download writes to the current directory; as root it warns that the _apt user
    # cannot write there, which is harmless.
    if ! (cd "$tmp" && apt-get download -qq kubernetes-client 2>/dev/null); then
        as_root apt-get update -qq
        (cd "$tmp" && apt-get download -qq kubernetes-client 2>/dev/null)
    fi
    rm -rf var/tools/debian-kubectl
    mkdir -p var/tools/debian-kubectl
    dpkg -x "$tmp"/kubernetes-client_*.deb var/tools/debian-kubectl
    rm -rf "$tmp"
    "$debian_kubectl" version --client >/dev/null
}
unpack_debian_kubectl

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
