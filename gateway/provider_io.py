"""The I/O a provider asks for but never does itself: loading a key, and a handshake's follow-up.

`verify` is pure CPU. When it needs a key or certificate that is not cached it raises
`KeyUnavailable` with a `load`; `verify_after_load` awaits it (bounded) and verifies once more,
so a second miss is the 503. A `Handshake` may carry a `follow_up` (SNS's subscription
confirmation GET): `FollowUps` runs it after the answer, in the background, bounded in number
and time, and never lets it fail a request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from providers import KeyUnavailable, Provider, VerifiedEvent, WebhookRequest
from providers.base import Handshake

_log = logging.getLogger("hookgate.ingest")

#: How long one request waits for its key to load (the fetch has its own, shorter timeout).
KEY_LOAD_SECONDS = 10.0
#: Follow-ups running at once per gateway process, and how long each may take.
MAX_FOLLOW_UPS = 16
FOLLOW_UP_SECONDS = 30.0


async def verify_after_load(
    provider: Provider,
    request: WebhookRequest,
    missing: KeyUnavailable,
    seconds: float = KEY_LOAD_SECONDS,
) -> VerifiedEvent | Handshake:
    """Load what `missing` says is missing, then verify once more; raise `missing` (503)
    when there is nothing to load, or any `VerificationError` of the second verify."""
    if missing.load is None:
        raise missing
    try:
        await asyncio.wait_for(missing.load(), seconds)
    except TimeoutError:
        raise KeyUnavailable("the signing key did not load in time") from None
    except Exception:
        # `load` must not raise; if a plugin's does, the request is refused, not failed.
        _log.exception("key load failed")
        raise KeyUnavailable("the signing key could not be loaded") from None
    return provider.verify(request)


class FollowUps:
    """Background work handshakes ask for: at most `limit` at once, each `timeout` seconds."""

    def __init__(self, limit: int = MAX_FOLLOW_UPS, timeout: float = FOLLOW_UP_SECONDS) -> None:
        self._limit = limit
        self._timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, source: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Start `work` unless `limit` are running (then it is dropped and logged)."""
        if len(self._tasks) >= self._limit:
            _log.warning("handshake follow-up dropped: too many running", extra=_fields(source))
            return False
        task = asyncio.get_running_loop().create_task(self._run(source, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, source: str, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await asyncio.wait_for(work(), self._timeout)
        except TimeoutError:
            _log.warning("handshake follow-up timed out", extra=_fields(source))
        except Exception:
            _log.exception("handshake follow-up failed", extra=_fields(source))

    async def wait(self) -> None:
        """Wait for the running follow-ups (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)


def _fields(source: str) -> dict[str, dict[str, str]]:
    return {"fields": {"source": source}}
