"""Consumer-side message authentication (`[broker] message_key`).

With keys configured, a delivery is handed to a handler only when its `hookgate-signature`
verifies with one of them (`hookgate.message_auth`: an HMAC over the body and the headers that
say what the event is). Anyone who can publish to the broker could otherwise hand a handler a
message claiming any source, type or ID. A message that does not verify is dead-lettered at once
with the error type `Unauthenticated`, never retried, and `hookgate dlq replay` will not send it
back. The bookkeeping headers a consumer changes on the way (`hookgate-attempt`, the error
headers) are not signed, so retry, dead-letter and replay copies keep a valid signature.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hookgate import message_auth  # stdlib only: the wire contract both sides share

ERROR_TYPE = "Unauthenticated"


def message_keys(keys: Iterable[str | bytes]) -> tuple[bytes, ...]:
    """Keys as `message_auth` takes them: text keys (as in the config) encoded as UTF-8."""
    return tuple(k.encode("utf-8") if isinstance(k, str) else bytes(k) for k in keys)


def refusal(keys: tuple[bytes, ...], body: bytes, headers: Mapping[str, object] | None) -> str:
    """Why the message must be refused, or "" when it verifies (or no key is configured)."""
    if not keys:
        return ""
    h = headers or {}
    if message_auth.HEADER not in h:
        return (
            f"no {message_auth.HEADER} header: not published by a gateway with "
            "[broker] message_key set"
        )
    if not message_auth.verify(keys, body, h):
        return (
            f"{message_auth.HEADER} does not verify with any [broker] message_key: the "
            "message was forged or altered, or signed with a key this service does not have"
        )
    return ""
