#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers on 127.0.0.1:5672 (guest/guest): leave a running one
# alone, start an installed one, install one (Debian/Ubuntu apt) when there is none.
set -euo pipefail

PORT=5672
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "hookgate: $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root (or sudo) to run: $*"; exit 1
    fi
}

if port_open; then
    exit 0
fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "RabbitMQ is not running on 127.0.0.1:$PORT and this is not a Debian/Ubuntu machine;"
        say "install RabbitMQ (https://www.rabbitmq.com/download.html) and start it, then retry."
        exit 1
    fi
    say "installing rabbitmq-server with apt-get (one time)..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
fi

if ! port_open; then
    say "starting rabbitmq-server..."
    if ! as_root rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        as_root rabbitmq-server -detached
    fi
fi

for _ in $(seq 1 90); do
    if as_root rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        break
    fi
    sleep 1
done
as_root rabbitmqctl -q await_startup >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
    if port_open; then
        say "RabbitMQ is up on 127.0.0.1:$PORT"
        exit 0
    fi
    sleep 1
done
say "RabbitMQ did not come up on 127.0.0.1:$PORT; see /var/log/rabbitmq/ for why."
exit 1
