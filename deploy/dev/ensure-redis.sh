#!/usr/bin/env bash
# Make sure a Redis server answers on 127.0.0.1:6379 (the Redis dedupe backend's tests): leave a
# running one alone, start an installed one, install one (Debian/Ubuntu apt) when there is none.
set -euo pipefail

PORT=6379
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "hookgate: $*" >&2; }
# PING over bash's /dev/tcp: no redis-cli needed to see that a server answers.
answers() {
    local reply=""
    { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    read -r -t 2 reply <&3 || true
    exec 3<&- 3>&-
    [ "${reply%$'\r'}" = "+PONG" ]
}
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root (or sudo) to run: $*"; exit 1
    fi
}

if answers; then
    exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "Redis is not running on 127.0.0.1:$PORT and this is not a Debian/Ubuntu machine;"
        say "install Redis (https://redis.io/docs/latest/operate/oss_and_stack/install/) and start it."
        exit 1
    fi
    say "installing redis-server with apt-get (one time)..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if ! answers; then
    say "starting redis-server..."
    # No persistence: the tests' keys are throw-away, and they delete their own.
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --dir "${TMPDIR:-/tmp}" >/dev/null
fi

for _ in $(seq 1 30); do
    if answers; then
        say "Redis is up on 127.0.0.1:$PORT"
        exit 0
    fi
    sleep 0.5
done
say "Redis did not come up on 127.0.0.1:$PORT."
exit 1
