#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 with the tests' role and database (the postgres
# ledger backend's tests): leave a running server alone, start an installed cluster, install
# one (Debian/Ubuntu apt) when there is none; then create role `hookgate` (password `hookgate`)
# and database `hookgate_test` if they are missing. Safe to run again.
set -euo pipefail

PORT=5432
ROLE=hookgate
PASSWORD=hookgate
DATABASE=hookgate_test
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "hookgate: $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root (or sudo) to run: $*"; exit 1
    fi
}
# psql as the cluster's superuser, from a directory it may read (no "could not change
# directory" warning).
as_postgres() { (cd / && as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"); }

if ! port_open; then
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null 2>&1; then
            say "PostgreSQL is not running on 127.0.0.1:$PORT and this is not a Debian/Ubuntu"
            say "machine; install PostgreSQL (https://www.postgresql.org/download/) and start it."
            exit 1
        fi
        say "installing postgresql with apt-get (one time)..."
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    # Debian's postgresql-common: the first cluster (VERSION main) listens on 5432.
    cluster="$(pg_lsclusters -h 2>/dev/null | awk -v port="$PORT" '$3 == port {print $1, $2; exit}')"
    if [ -z "$cluster" ]; then
        version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
        say "creating PostgreSQL cluster $version/main..."
        as_root pg_createcluster --port "$PORT" "$version" main >/dev/null
        cluster="$version main"
    fi
    say "starting PostgreSQL cluster ${cluster/ //}..."
    # shellcheck disable=SC2086 # "VERSION NAME": two words on purpose
    as_root pg_ctlcluster $cluster start
    for _ in $(seq 1 30); do
        if port_open; then break; fi
        sleep 0.5
    done
    if ! port_open; then
        say "PostgreSQL did not come up on 127.0.0.1:$PORT; see /var/log/postgresql/ for why."
        exit 1
    fi
fi

if ! id postgres >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
    say "PostgreSQL answers on 127.0.0.1:$PORT but is not this machine's Debian cluster;"
    say "make sure role $ROLE (password $PASSWORD) owns a database $DATABASE there."
    exit 0
fi
if [ "$(as_postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    say "creating PostgreSQL role $ROLE..."
    as_postgres -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
fi
if [ "$(as_postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
    say "creating PostgreSQL database $DATABASE..."
    as_postgres -c "CREATE DATABASE $DATABASE OWNER $ROLE"
fi
