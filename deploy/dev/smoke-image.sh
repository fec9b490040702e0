#!/usr/bin/env bash
# Run the hookgate image as the gateway against the local RabbitMQ and prove it works:
#
#   deploy/dev/smoke-image.sh [IMAGE] [PORT]     (defaults: localhost/hookgate:dev 18000)
#
# The container uses the host's network and a config of its own whose exchange is unique
# (hg-image-test-PID), so it never touches `webhooks` or anyone's queues; everything it
# declared is deleted at the end, whatever happened. Checks, each fatal:
#   - the process runs as UID 10001 and its data directory is 0700 with the spool file 0600;
#   - GET /healthz answers 200, and `podman healthcheck run` (the image's HEALTHCHECK) passes;
#   - one Stripe-signed event, sent by the image's own `hookgate send`, is `accepted`; the same
#     again is `duplicate`; the broker holds exactly one message in the unrouted queue, with
#     the event ID as message_id and the file's bytes as body;
#   - SIGTERM (`podman stop`) ends it with exit status 0 within the 30 s grace period.
# Needs podman, the image (deploy/dev/build-image.sh), .venv (deploy/dev/venv.sh) and the broker
# of deploy/dev/ensure-rabbitmq.sh (guest on 127.0.0.1:5672).
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE="${1:-localhost/hookgate:dev}"
PORT="${2:-18000}"
BROKER_URL="${SMOKE_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672/}"
name="hg-image-smoke-$$"
exchange="hg-image-test-$$"
volume="$name-data"
work="$(mktemp -d)"

say() { echo "hookgate: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

[ -x .venv/bin/python ] || fail ".venv is missing: run deploy/dev/venv.sh first"
podman image exists "$IMAGE" || fail "no image $IMAGE: run deploy/dev/build-image.sh first"

broker() {  # broker ACTION: count (messages in the unrouted queue), get (one message), delete
    .venv/bin/python - "$BROKER_URL" "$exchange" "$1" <<'PY'
import asyncio, json, sys
import aiormq

url, exchange, action = sys.argv[1:4]
queue = f"{exchange}.unrouted"

async def main() -> None:
    connection = await aiormq.connect(url)
    try:
        channel = await connection.channel()
        if action == "count":
            print((await channel.queue_declare(queue, passive=True)).message_count)
        elif action == "get":
            message = await channel.basic_get(queue, no_ack=True)
            print(json.dumps({"message_id": message.header.properties.message_id,
                              "body": message.body.decode()}))
        else:
            for name in (queue,):
                await channel.queue_delete(name)
            for name in (exchange, f"{exchange}.unrouted"):
                await channel.exchange_delete(name)
            print(f"deleted exchanges {exchange}, {exchange}.unrouted and queue {queue}")
    finally:
        await connection.close()

asyncio.run(main())
PY
}

cleanup() {
    podman rm -f "$name" >/dev/null 2>&1 || true
    podman volume rm -f "$volume" >/dev/null 2>&1 || true
    broker delete >&2 || say "could not delete $exchange on the broker: delete it by hand"
    rm -rf "$work"
}
trap cleanup EXIT

secret="whsec_$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')"
event_id="evt_image_smoke_$$_$(date +%s)"
sed "s/evt_1QuickstartDemo0000000000/$event_id/" deploy/examples/payloads/stripe-invoice-paid.json \
    > "$work/event.json"
cat > "$work/hookgate.toml" <<TOML
# deploy/dev/smoke-image.sh's config: a unique exchange on the local broker.
[gateway]
host = "127.0.0.1"
port = $PORT
[broker]
url = "$BROKER_URL"
exchange = "$exchange"
[dedupe]
backend = "sqlite"
path = "/var/lib/hookgate/dedupe.sqlite3"
[spool]
path = "/var/lib/hookgate/spool.sqlite3"
[sources.stripe]
provider = "stripe"
secrets = ["\${STRIPE_WEBHOOK_SECRET}"]
TOML
chmod 0755 "$work"
chmod 0644 "$work/hookgate.toml" "$work/event.json"

# shellcheck source=deploy/dev/podman-flags.sh
. deploy/dev/podman-flags.sh
pick_podman_flags "$IMAGE"
say "starting $IMAGE as $name (exchange $exchange, port $PORT)"
# No healthcheck timer (podman would need systemd for it): `podman healthcheck run` below runs
# the image's HEALTHCHECK once, by hand.
podman "${PODMAN_GLOBAL[@]}" run "${PODMAN_LIMITS[@]}" --health-interval disable \
    -d --name "$name" --network host \
    -e STRIPE_WEBHOOK_SECRET="$secret" \
    -e HOOKGATE_HEALTHCHECK_URL="http://127.0.0.1:$PORT/healthz" \
    -v "$work:/etc/hookgate:ro" -v "$volume:/var/lib/hookgate" \
    "$IMAGE" serve --host 127.0.0.1 --port "$PORT" >/dev/null

for _ in $(seq 1 100); do
    if healthz="$(.venv/bin/python -c "import urllib.request,sys; r=urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1); print(r.status, r.read().decode())" 2>/dev/null)"; then
        break
    fi
    [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] \
        || { podman logs "$name" >&2; fail "the container exited"; }
    sleep 0.2
done
[ -n "${healthz:-}" ] || { podman logs "$name" >&2; fail "/healthz never answered"; }
echo "GET /healthz -> $healthz"
case "$healthz" in 200*) ;; *) fail "/healthz: $healthz" ;; esac
podman healthcheck run "$name" >/dev/null || fail "the image's HEALTHCHECK failed"
echo "podman healthcheck run: healthy"

uid="$(podman exec "$name" id -u)"
modes="$(podman exec "$name" stat -c '%a %U %n' /var/lib/hookgate /var/lib/hookgate/spool.sqlite3)"
echo "uid $uid; $(tr '\n' ';' <<<"$modes")"
[ "$uid" = 10001 ] || fail "runs as UID $uid, not 10001"
grep -q '^700 hookgate /var/lib/hookgate$' <<<"$modes" || fail "data directory mode: $modes"
grep -q '^600 hookgate /var/lib/hookgate/spool.sqlite3$' <<<"$modes" || fail "spool mode: $modes"

send() {
    podman exec "$name" hookgate send --url "http://127.0.0.1:$PORT/webhooks/stripe" \
        stripe /etc/hookgate/event.json
}
first="$(send)" || fail "hookgate send: $first"
echo "hookgate send (1st) -> $first"
grep -q '^200 .*"status":"accepted"' <<<"$first" || fail "not accepted: $first"
second="$(send)" || fail "hookgate send: $second"
echo "hookgate send (2nd) -> $second"
grep -q '^200 .*"status":"duplicate"' <<<"$second" || fail "not a duplicate: $second"

count="$(broker count)"
echo "$exchange.unrouted holds $count message(s)"
[ "$count" = 1 ] || fail "expected exactly 1 message in $exchange.unrouted, found $count"
broker get > "$work/got.json"
.venv/bin/python - "$work/got.json" "$work/event.json" "$event_id" <<'PY' || fail "the message differs"
import json, pathlib, sys
got = json.loads(pathlib.Path(sys.argv[1]).read_text())
sent = pathlib.Path(sys.argv[2]).read_text()
assert got["message_id"] == sys.argv[3], got["message_id"]
assert got["body"] == sent, "body is not the bytes sent"
print(f"message_id {got['message_id']}, body byte for byte the file sent ({len(sent)} bytes)")
PY

started=$(date +%s.%N)
podman stop -t 30 "$name" >/dev/null
took=$(.venv/bin/python -c "print(f'{$(date +%s.%N) - $started:.1f}')")
status="$(podman inspect --format '{{.State.ExitCode}}' "$name")"
echo "podman stop (SIGTERM): exit status $status after ${took}s"
[ "$status" = 0 ] || { podman logs "$name" >&2; fail "exit status $status after SIGTERM"; }
podman logs "$name" 2>&1 | tail -n 4
say "image smoke test passed"
