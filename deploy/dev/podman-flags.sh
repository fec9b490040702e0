# shellcheck shell=bash
# Sourced by build-image.sh and smoke-image.sh: the podman flags this machine needs to run a
# container. On most hosts none. In a VM whose cgroups are in hybrid mode (v1 controllers plus
# a cgroup2 mount holding a controller) crun refuses to start anything; runc starts containers
# there, once the rlimits it is asked to set are ones the VM lets it set (podman's defaults,
# nofile 1048576 and a large nproc, are not).
# Sets the arrays PODMAN_GLOBAL (before the podman subcommand) and PODMAN_LIMITS (run/build).

pick_podman_flags() {  # pick_podman_flags IMAGE: the first set of flags that runs IMAGE
    local image="$1" nofile err
    PODMAN_GLOBAL=()
    PODMAN_LIMITS=()
    if err="$(podman run --rm --network host --no-healthcheck --entrypoint /bin/true "$image" 2>&1)"; then
        return 0
    fi
    nofile="$(ulimit -n)"
    PODMAN_GLOBAL=(--runtime runc)
    PODMAN_LIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
    if command -v runc >/dev/null 2>&1 \
        && podman "${PODMAN_GLOBAL[@]}" run --rm --network host "${PODMAN_LIMITS[@]}" --no-healthcheck --entrypoint /bin/true "$image" >/dev/null 2>&1; then
        echo "hookgate: podman's default runtime cannot start a container here ($err);" \
            "using ${PODMAN_GLOBAL[*]} ${PODMAN_LIMITS[*]}" >&2
        return 0
    fi
    echo "hookgate: podman cannot start a container on this machine: $err" >&2
    echo "hookgate: (tried ${PODMAN_GLOBAL[*]} ${PODMAN_LIMITS[*]} too; apt-get install runc)" >&2
    return 1
}
