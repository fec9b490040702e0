#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install hookgate into it, editable. Usage: venv.sh [EXTRA]
# Re-running is cheap: nothing is reinstalled unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

extra="${1:-}"
spec="."
if [ -n "$extra" ]; then spec=".[$extra]"; fi
python="${PYTHON:-python3}"

say() { echo "hookgate: $*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
    say "python3 is not installed; on Debian/Ubuntu: apt-get install python3 python3-venv"
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "hookgate needs Python 3.11 or newer; $("$python" --version 2>&1) found (set PYTHON=...)"
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    if ! "$python" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            say "installing python3-venv with apt-get..."
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            "$python" -m venv .venv
        else
            say "cannot create a virtualenv; on Debian/Ubuntu: sudo apt-get install python3-venv"
            exit 1
        fi
    fi
fi

stamp=".venv/.hookgate-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $spec"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing hookgate$([ -n "$extra" ] && echo " with [$extra]") into .venv..."
    # pip's output goes to a log, shown only when the install fails.
    if ! { .venv/bin/python -m pip install -q --upgrade pip \
           && .venv/bin/python -m pip install -q -e "$spec"; } > .venv/pip.log 2>&1; then
        cat .venv/pip.log >&2
        say "installing hookgate failed (log above, also in .venv/pip.log)"
        exit 1
    fi
    echo "$want" > "$stamp"
fi
