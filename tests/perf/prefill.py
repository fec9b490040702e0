"""Fill a dedupe store with live (committed, unexpired) keys, fast, for the dedupe-keys curve.

SQLite: the store itself creates its file and schema (`SqliteDedupeStore`), then one
transaction `executemany`s committed rows into its `seen` table. Redis: RESP commands piped
through `redis-cli --pipe` into a private server (never the shared one). Keys look like the
gateway's (`<source>:<event id>`, under the key prefix for Redis) and expire in a day: none
expires during the run.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import time
from pathlib import Path

from gateway.dedupe_sqlite import SqliteDedupeStore

_TTL = 86_400.0
_BATCH = 100_000


def _keys(count: int) -> list[str]:
    """Random keys, as real event IDs are, in sorted order: SQLite builds its index from
    sorted keys in a fraction of the time random order takes."""
    return sorted(f"stripe:evt_{secrets.token_hex(12)}" for _ in range(count))


def prefill_sqlite(path: Path, count: int) -> None:
    SqliteDedupeStore(str(path), _TTL, 30.0).close_unused()  # the store's own schema
    expires = time.time() + _TTL
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO seen (key, state, expires_at) VALUES (?, 1, ?)",
            ((key, expires) for key in _keys(count)),
        )
        db.execute("COMMIT")
    except sqlite3.Error as err:
        raise SystemExit(f"cannot prefill {path} (has the dedupe schema changed?): {err}") from err
    finally:
        db.close()


def prefill_redis(port: int, prefix: str, count: int) -> None:
    """SET <prefix><key> 1 PX <a day>, `count` times, through `redis-cli --pipe`."""
    ttl = str(round(_TTL * 1000)).encode()
    pipe = subprocess.Popen(
        ["redis-cli", "-p", str(port), "--pipe"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert pipe.stdin is not None
    batch: list[bytes] = []
    for key in _keys(count):
        name = (prefix + key).encode()
        batch.append(
            b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n$2\r\nPX\r\n$%d\r\n%s\r\n"
            % (len(name), name, len(ttl), ttl)
        )
        if len(batch) == _BATCH:
            pipe.stdin.write(b"".join(batch))
            batch.clear()
    pipe.stdin.write(b"".join(batch))
    output, _ = pipe.communicate()
    if pipe.returncode != 0 or b"errors: 0" not in output:
        raise SystemExit(f"redis-cli --pipe failed: {output.decode(errors='replace').strip()}")
