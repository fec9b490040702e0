#!/usr/bin/env bash
# Build deploy/Dockerfile with podman (daemonless; Debian's package), on a machine that can reach
# PyPI and Debian's mirrors but no container registry.
#
#   deploy/dev/build-image.sh            build localhost/hookgate:dev
#   deploy/dev/build-image.sh --smoke    ... then run it against the local RabbitMQ (below)
#
# Without PYTHON_IMAGE, the base is a local one: Debian bookworm (minbase) with Debian's
# python3 (3.11) and python3-venv, made with debootstrap and imported as
# localhost/hookgate-base:bookworm (made once; REBUILD_BASE=1 makes it again). It carries this
# host's CA bundle, so pip works behind a TLS-inspecting proxy too. Where a registry is
# reachable, PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm builds the published way.
#
# --smoke starts the image (host network) as `hookgate serve` on port $SMOKE_PORT (18000) with
# a config of its own whose exchange is unique (hg-image-test-PID), checks /healthz and the
# image's HEALTHCHECK, signs and sends one Stripe event with the image's own `hookgate send`,
# checks it was accepted and is in the exchange's unrouted queue, stops the container with
# SIGTERM (it must exit 0 within the grace period), and deletes the exchanges and the queue.
# It needs the broker of deploy/dev/ensure-rabbitmq.sh (guest on 127.0.0.1:5672) and .venv.
# Not part of .ci/run: a build takes minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin"

IMAGE="${IMAGE:-localhost/hookgate:dev}"
BASE_TAG=localhost/hookgate-base:bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SMOKE_PORT="${SMOKE_PORT:-18000}"
smoke=
for arg in "$@"; do
    case "$arg" in
        --smoke) smoke=1 ;;
        *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
    esac
done

say() { echo "hookgate: $*" >&2; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root (or sudo) to run: $*"; exit 1
    fi
}

need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)  # see podman-flags.sh
if [ -z "${PYTHON_IMAGE:-}" ]; then command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap); fi
if [ ${#need[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || { say "install ${need[*]} (not a Debian/Ubuntu machine)"; exit 1; }
    say "installing ${need[*]} with apt-get (one time)..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

make_base() {
    local root
    root="$(mktemp -d /var/tmp/hookgate-base.XXXXXX)"
    # shellcheck disable=SC2064 # expand $root now
    trap "as_root rm -rf '$root'" RETURN
    say "debootstrap bookworm (minbase + python3, python3-venv) from $MIRROR..."
    as_root debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$root/rootfs" "$MIRROR" > "$root/debootstrap.log" 2>&1 \
        || { tail -n 20 "$root/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }
    as_root cp /etc/ssl/certs/ca-certificates.crt "$root/rootfs/etc/ssl/certs/ca-certificates.crt"
    as_root rm -rf "$root/rootfs/var/cache/apt/archives/"*.deb "$root/rootfs/var/lib/apt/lists/"*
    # Debian's python3 ships no `python`; the Dockerfile calls python3 only.
    as_root tar -C "$root/rootfs" -c . | podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        - "$BASE_TAG" >/dev/null
    say "imported $BASE_TAG ($(podman image inspect --format '{{.Size}}' "$BASE_TAG") bytes)"
}

base="${PYTHON_IMAGE:-}"
if [ -z "$base" ]; then
    base="$BASE_TAG"
    if [ -n "${REBUILD_BASE:-}" ] || ! podman image exists "$BASE_TAG"; then make_base; fi
fi

# shellcheck source=deploy/dev/podman-flags.sh
. deploy/dev/podman-flags.sh
pick_podman_flags "$base"

say "building $IMAGE from deploy/Dockerfile on $base..."
# --format docker keeps HEALTHCHECK (the OCI image format has no such field);
# --network host: the build's pip reaches PyPI the way this host does.
podman "${PODMAN_GLOBAL[@]}" build "${PODMAN_LIMITS[@]}" --format docker --network host \
    --build-arg "PYTHON_IMAGE=$base" -f deploy/Dockerfile -t "$IMAGE" .
say "built $IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes, user $(podman image inspect --format '{{.Config.User}}' "$IMAGE")"

[ -z "$smoke" ] && exit 0
exec deploy/dev/smoke-image.sh "$IMAGE" "$SMOKE_PORT"
