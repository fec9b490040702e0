"""The harness's workload: Stripe-signed JSON events, each with an ID of its own.

Stripe signs `<t>.<body>` with HMAC-SHA256 (`Stripe-Signature: t=<t>,v1=<hex>`) and the event
ID is the body's `id`. The ID is the body's *last* member, so the keyed hash of everything
before it is computed once and each event costs one copy of that state and a few bytes more:
the load generator can sign 1 MB bodies on the fly without becoming the bottleneck.

Two outputs: lines for `requests.lua` (wrk), and raw HTTP/1.1 request bytes (`load.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

EVENT_TYPE = "invoice.paid"


def new_secret() -> str:
    """A Stripe-shaped endpoint secret (the whole `whsec_…` string is the key)."""
    return f"whsec_{secrets.token_hex(16)}"


class StripeSigner:
    """Signs bodies of about `body_bytes` that differ only in their trailing `id`."""

    def __init__(self, secret: str, body_bytes: int = 1024, timestamp: int | None = None) -> None:
        self.timestamp = int(time.time()) if timestamp is None else timestamp
        head = (
            f'{{"object":"event","type":"{EVENT_TYPE}","created":{self.timestamp},'
            '"livemode":false,"data":{"object":{"object":"invoice","pad":"'
        ).encode()
        self._tail = b'"}},"id":"'
        padding = max(0, body_bytes - len(head) - len(self._tail) - 40)
        self.prefix = head + b"x" * padding + self._tail
        self._keyed = hmac.new(secret.encode(), f"{self.timestamp}.".encode(), hashlib.sha256)
        self._keyed.update(self.prefix)

    def suffix(self, event_id: str) -> bytes:
        """The bytes after `prefix`: the ID and the closing brace."""
        return f'{event_id}"}}'.encode()

    def signature(self, suffix: bytes) -> str:
        keyed = self._keyed.copy()
        keyed.update(suffix)
        return f"t={self.timestamp},v1={keyed.hexdigest()}"

    def body(self, event_id: str) -> tuple[bytes, str]:
        """A whole body and its `Stripe-Signature` (for wrk files and small bodies)."""
        suffix = self.suffix(event_id)
        return self.prefix + suffix, self.signature(suffix)


def event_ids(count: int) -> Iterator[str]:
    """`count` IDs no other run (and no other call) produces, random as Stripe's are: each new
    key lands on a page of its own in a dedupe store's index, as in real traffic (IDs in
    sequence would all land on its last page)."""
    return (f"evt_{secrets.token_hex(12)}" for _ in range(count))


def write_wrk_requests(
    path: Path, secret: str, count: int, paths: Sequence[str], body_bytes: int = 1024
) -> None:
    """`count` lines for `requests.lua`: PATH, headers, body, tab-separated (JSON bodies hold no
    raw tab or newline). Requests go to `paths` in turn."""
    signer = StripeSigner(secret, body_bytes)
    with path.open("wb") as out:
        for i, event_id in enumerate(event_ids(count)):
            body, signature = signer.body(event_id)
            line = (
                f"{paths[i % len(paths)]}\tContent-Type: application/json\t"
                f"Stripe-Signature: {signature}\t"
            )
            out.write(line.encode() + body + b"\n")


def request_head(path: str, signature: str, length: int) -> bytes:
    """The HTTP/1.1 request line and headers of one keep-alive POST."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Stripe-Signature: {signature}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
