#!/usr/bin/env bash
# From a fresh checkout to a running gateway: RabbitMQ (installed/started if needed), a
# virtualenv, generated dev secrets, the topology, `hookgate serve`, and one Stripe-signed demo
# event sent through it. Ctrl-C stops the gateway.
#   PORT=8001 deploy/dev/quickstart.sh     # another port
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
set -a
# shellcheck disable=SC1091
. ./.env.dev
set +a

config="${HOOKGATE_CONFIG:-deploy/examples/hookgate.toml}"
port="${PORT:-8000}"
hookgate=.venv/bin/hookgate

"$hookgate" check-config -c "$config"
"$hookgate" topology declare -c "$config"

"$hookgate" serve -c "$config" --port "$port" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT INT TERM

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
sed "s/evt_1QuickstartDemo0000000000/evt_quickstart_$(date +%s%N)/" \
    deploy/examples/payloads/stripe-invoice-paid.json > "$demo"
echo
echo "== sending a Stripe-signed demo event: hookgate send stripe $demo"
"$hookgate" send -c "$config" --url "http://127.0.0.1:$port/webhooks/stripe" stripe "$demo"
.venv/bin/python - "$config" <<'PY'
import asyncio, sys
import aiormq
from gateway.config import load_config
config = load_config(sys.argv[1])
queue = f"{config.broker.exchange}.unrouted"
async def depth() -> int:
    connection = await aiormq.connect(config.broker.url.reveal())
    channel = await connection.channel()
    declared = await channel.queue_declare(queue, passive=True)
    await connection.close()
    return declared.message_count
print(f"== RabbitMQ queue {queue} now holds {asyncio.run(depth())} event(s)"
      " (no consumer service binds stripe.* yet, so events wait there)")
PY
cat <<TXT

The gateway is running on http://127.0.0.1:$port  (Ctrl-C stops it)
  webhooks:  POST http://127.0.0.1:$port/webhooks/{stripe,github,svix}
  health:    http://127.0.0.1:$port/healthz   http://127.0.0.1:$port/readyz
  metrics:   http://127.0.0.1:$port/metrics
From a second terminal, send the same event again (the answer is "duplicate"):
  set -a; . ./.env.dev; set +a
  .venv/bin/hookgate send -c $config --url http://127.0.0.1:$port/webhooks/stripe stripe $demo
TXT
wait "$server"
