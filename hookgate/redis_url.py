"""What a Redis URL may be, checked without importing the Redis client.

The gateway's `dedupe.url` and a service's `idempotency="redis://…"` are checked here, when the
config is read or the service defined: a process that names no Redis never loads redis-py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("redis", "rediss", "unix")


def url_problem(url: str) -> str | None:
    """What is wrong with `url` as a Redis URL, without quoting it (it may hold a password);
    `None` when nothing is."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        return "not a valid URL (is the port a number?)"
    if parts.scheme not in SCHEMES or not url.startswith(f"{parts.scheme}://"):
        return "expected a redis://, rediss:// or unix:// URL"
    return None
