#!/usr/bin/env bash
# From a fresh checkout to a running gateway and consumer service: RabbitMQ (installed/started
# if needed), a virtualenv, generated dev secrets, the topology, `hookgate serve`, the example
# service `hookgate consume consumers.examples.billing:billing`, `hookgate admin` (event
# status), and one Stripe-signed demo event sent through them, ending with its timeline.
# Ctrl-C stops them (each drains in-flight work first); then the demo service's queues
# (`quickstart-billing`, its retry tiers and dead-letter queue) and the status recorder's
# queue are deleted, so no durable queue keeps collecting your events or their status.
#   PORT=8001 METRICS_PORT=9301 ADMIN_PORT=8082 deploy/dev/quickstart.sh     # other ports
#   HOOKGATE_CONFIG=my.toml deploy/dev/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/dev/ensure-rabbitmq.sh
deploy/dev/venv.sh

if [ ! -f .env.dev ]; then
    # Random development secrets, kept out of git (.gitignore) and out of the config file.
    umask 077
    .venv/bin/python - > .env.dev <<'PY'
import base64, secrets
print(f"STRIPE_WEBHOOK_SECRET=whsec_{secrets.token_hex(16)}")
print(f"GITHUB_WEBHOOK_SECRET={secrets.token_hex(20)}")
print(f"STANDARD_WEBHOOKS_SECRET=whsec_{base64.b64encode(secrets.token_bytes(24)).decode()}")
PY
    echo "hookgate: wrote development secrets to .env.dev" >&2
fi
if ! grep -q '^HOOKGATE_ADMIN_TOKEN=' .env.dev; then  # an .env.dev from before the admin API
    umask 077
    echo "HOOKGATE_ADMIN_TOKEN=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')" >> .env.dev
fi
set -a
# shellcheck disable=SC1091
. ./.env.dev
set +a

config="${HOOKGATE_CONFIG:-deploy/examples/hookgate.toml}"
port="${PORT:-8000}"
metrics_port="${METRICS_PORT:-9300}"
admin_port="${ADMIN_PORT:-8081}"
admin_url="http://127.0.0.1:$admin_port"
service=consumers.examples.billing:billing
hookgate=.venv/bin/hookgate

"$hookgate" check-config -c "$config"

server=
consumer=
admin=
stopped=
stop() {
    [ -n "$stopped" ] && return
    stopped=1
    # shellcheck disable=SC2086 # an unset pid is no argument at all
    kill -TERM $server $consumer $admin 2>/dev/null || true
    wait $server $consumer $admin 2>/dev/null || true
    # The demo service is gone: drop its queues, or the work queue would keep collecting every
    # Stripe invoice and GitHub event sent to this broker, with nobody consuming it; and the
    # recorder's queue, or it would keep collecting every status change; and the archive's
    # (its inbox is bound with the demo service's patterns).
    echo "hookgate: removing the demo service's queues, the recorder's, the cancels and any archive" >&2 || true
    "$hookgate" topology delete -c "$config" --service "$service" --force >&2 || true
    .venv/bin/python - "$config" <<'PY' >&2 || true
import asyncio, sys, aiormq
from admin.recorder import ledger_queue
from hookgate.settings import load_broker_settings
from hookgate.topology import archive_inbox, archive_name, cancel_stream
broker = load_broker_settings(sys.argv[1])
async def delete():
    connection = await aiormq.connect(broker.url.reveal())
    try:
        for queue in (ledger_queue(broker.exchange), cancel_stream(broker.exchange),
                      archive_inbox(broker.exchange), archive_name(broker.exchange)):
            await (await connection.channel()).queue_delete(queue)
            print(f"deleted queue {queue}")
    finally:
        await connection.close()
asyncio.run(delete())
PY
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The terminal went away: nothing can be printed any more, but the queues must still go.
trap 'exec >/dev/null 2>&1; exit 129' HUP

"$hookgate" topology declare -c "$config" --service "$service"
# The recorder first: the service announces itself when it starts, and the recorder must be
# listening by then to know that the demo event is queued for it.
"$hookgate" admin -c "$config" --port "$admin_port" &
admin=$!
.venv/bin/python - "$config" <<'PY'
import asyncio, sys, aiormq
from admin.recorder import ledger_queue
from hookgate.settings import load_broker_settings
broker = load_broker_settings(sys.argv[1])
async def wait_for_the_recorder():
    connection = await aiormq.connect(broker.url.reveal())
    try:
        for _ in range(150):
            channel = await connection.channel()
            try:
                await channel.queue_declare(ledger_queue(broker.exchange), passive=True)
                return
            except aiormq.exceptions.ChannelNotFoundEntity:
                await asyncio.sleep(0.2)
        sys.exit("hookgate: hookgate admin's recorder did not start; see its log lines above")
    finally:
        await connection.close()
asyncio.run(wait_for_the_recorder())
PY
"$hookgate" serve -c "$config" --port "$port" &
server=$!
"$hookgate" consume -c "$config" --metrics-port "$metrics_port" "$service" &
consumer=$!

.venv/bin/python - "$port" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/readyz"
for _ in range(150):
    try:
        urllib.request.urlopen(url, timeout=1)
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("hookgate: the gateway did not become ready; see its log lines above")
PY

mkdir -p var
demo=var/quickstart-stripe-event.json
event_id="evt_quickstart_$(date +%s%N)"
sed "s/evt_1QuickstartDemo0000000000/$event_id/" \
    deploy/examples/payloads/stripe-invoice-paid.json > "$demo"
echo
echo "== sending a Stripe-signed demo event: hookgate send stripe $demo"
"$hookgate" send -c "$config" --url "http://127.0.0.1:$port/webhooks/stripe" stripe "$demo"
.venv/bin/python - "$metrics_port" <<'PY'
import re, sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/metrics"
pattern = re.compile(r'hookgate_consumer_events_total\{handler="invoice",outcome="success",[^}]*\} ([0-9.]+)')
for _ in range(100):
    try:
        match = pattern.search(urllib.request.urlopen(url, timeout=1).read().decode())
        if match and float(match.group(1)) >= 1:
            print("== the billing service's invoice handler processed it (its log line is above):"
                  f" {url} shows {match.group(0)}")
            break
    except OSError:
        pass
    time.sleep(0.1)
else:
    sys.exit("hookgate: the example service did not process the event; see its log lines above")
PY
echo
echo "== its status, as hookgate admin recorded it: hookgate events show stripe $event_id"
for _ in $(seq 1 50); do
    if shown=$("$hookgate" events show -c "$config" --admin-url "$admin_url" stripe "$event_id" 2>/dev/null) \
        && grep -q '^status *completed' <<<"$shown"; then
        break
    fi
    sleep 0.2
done
if [ -n "${shown:-}" ]; then
    echo "$shown"
else
    echo "hookgate: hookgate admin did not record the event; see its log lines above" >&2
fi
cat <<TXT

The gateway is running on http://127.0.0.1:$port, the demo billing service and the admin API
($admin_url) beside it (Ctrl-C stops them and deletes the demo's queues)
  webhooks:  POST http://127.0.0.1:$port/webhooks/{stripe,github,svix}
  health:    http://127.0.0.1:$port/healthz   http://127.0.0.1:$port/readyz
  metrics:   http://127.0.0.1:$port/metrics (gateway)   http://127.0.0.1:$metrics_port/metrics (billing)
  status:    .venv/bin/hookgate events list --admin-url $admin_url   (token: HOOKGATE_ADMIN_TOKEN in .env.dev)
  console:   $admin_url/   (sign in with that token)
  failures:  .venv/bin/hookgate dlq list quickstart-billing
  where:     .venv/bin/hookgate topology show -c $config --service $service
From a second terminal, send the same event again (the answer is "duplicate"):
  set -a; . ./.env.dev; set +a
  .venv/bin/hookgate send -c $config --url http://127.0.0.1:$port/webhooks/stripe stripe $demo
TXT
wait "$server" "$consumer" "$admin"
