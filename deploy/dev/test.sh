#!/usr/bin/env bash
# The test command: lint, type-check and run every test against a real local RabbitMQ, Redis
# and PostgreSQL, and the web console's in Debian's headless chromium.
# Extra arguments go to pytest (e.g. deploy/dev/test.sh -k stripe -x).
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/dev/ensure-rabbitmq.sh
deploy/dev/ensure-redis.sh
deploy/dev/ensure-postgres.sh
deploy/dev/ensure-chromium.sh
deploy/dev/ensure-deploy-tools.sh
deploy/dev/ensure-node-sdks.sh
deploy/dev/venv.sh test

echo "== ruff" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)" >&2
.venv/bin/mypy
echo "== pytest" >&2
exec .venv/bin/pytest "$@"
