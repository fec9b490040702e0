"""Keys and certificates fetched from allow-listed URLs, never from inside `verify`.

A provider whose sender names (or publishes) its key at a URL builds one `KeyFetcher` per
source, at startup. In `verify` it calls `fetcher.get(url, request.received_at)`, which is pure
CPU: the URL is checked against the provider's `UrlRule` first (an off-list URL is
`InvalidSignature`, and nothing is fetched), then the cache answers. A miss raises
`KeyUnavailable` carrying `load`; the gateway awaits it (bounded) and calls `verify` once more.

The cache: at most `max_entries` URLs (least recently used out first); a value lives until the
parsed value's own expiry (a certificate's notAfter), the response's `Cache-Control: max-age`
or `max_age`, whichever comes first, but at least `min_age`; one fetch per URL however many
requests wait on it (they share its result); at most `max_pending` fetches at once per source,
in the source's own worker threads, so a slow key server delays no other source; a failed URL
is remembered (apart from the values) for `failure_seconds` and not fetched again meanwhile (503,
or 401 when the server answered with no usable key); fetches per source are rate-limited, but a
URL that has served a usable key (remembered apart from the values, bounded) is fetched again
without spending that budget, so forged requests naming new allowed URLs cannot starve the
genuine one. The scheme and host are lower-cased (after the allow-list check) before the URL is
a cache key or fetched. While a known URL's value is being fetched again, its previous value
is served, but never past the value's own expiry (a certificate's notAfter). A failure never
turns into an accepted request.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from providers._fetch import Fetched, FetchFailed, Transport, urllib_transport
from providers._urlrule import UrlPolicy, UrlRule
from providers.errors import InvalidSignature, KeyUnavailable

__all__ = ["FetchFailed", "Fetched", "KeyFetcher", "Parsed", "Transport", "UrlPolicy", "UrlRule"]

_log = logging.getLogger("hookgate.keyfetch")
_T = TypeVar("_T")
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age=(\d{1,10})(?:$|[,\s])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Parsed(Generic[_T]):
    """What a provider's parser made of a fetched body; `expires_at` (Unix time) when the
    value says (a certificate's notAfter)."""

    value: _T
    expires_at: float | None = None


@dataclass(slots=True)
class _Entry(Generic[_T]):
    value: _T | None
    fetched_at: float
    expires_at: float
    #: None: a usable value; True: the server answered with no usable key; False: it failed.
    refused: bool | None = None
    #: The value's own expiry (`Parsed.expires_at`), past which it is never served.
    not_after: float | None = None


class KeyFetcher(Generic[_T]):
    """One source's key cache. `parse(body)` turns a fetched body into a `Parsed` value or
    raises `ValueError` (the URL then serves no usable key: 401 for `failure_seconds`).

    Failed URLs are remembered apart from values (at most `max_failures`), so URLs that fail
    cannot push a good key out; and at most `burst` fetches, then one per
    `60 / fetches_per_minute` seconds, leave a source (beyond: 503 without fetching), so a
    stream of distinct allowed URLs cannot make the gateway fetch at the sender's rate. The
    last `max_known` URLs that served a usable key are fetched again without spending that
    budget, each at most once per `min_age` seconds (single-flight, and not while failed), so
    spent tokens never keep the genuine key out.
    `transport` and `clock` are for tests; production fetches with `urllib` in worker threads.
    """

    def __init__(
        self,
        source: str,
        parse: Callable[[bytes], Parsed[_T]],
        rule: UrlPolicy,
        *,
        max_entries: int = 16,
        max_failures: int = 64,
        max_known: int = 64,
        max_age: float = 86400.0,
        min_age: float = 60.0,
        timeout: float = 5.0,
        max_bytes: int = 65536,
        failure_seconds: float = 60.0,
        refresh_seconds: float = 300.0,
        max_pending: int = 4,
        burst: int = 10,
        fetches_per_minute: float = 10.0,
        transport: Transport = urllib_transport,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.rule = rule
        self.timeout = timeout
        self._parse = parse
        self._max_entries = max_entries
        self._max_failures = max_failures
        self._max_known = max_known
        self._max_age = max_age
        self._min_age = min_age
        self._max_bytes = max_bytes
        self._failure_seconds = failure_seconds
        self._refresh_seconds = refresh_seconds
        self._max_pending = max_pending
        self._burst = float(burst)
        self._refill = fetches_per_minute / 60.0
        self._tokens = float(burst)
        self._transport = transport
        self._clock = clock
        self._refilled_at = clock()
        self._values: OrderedDict[str, _Entry[_T]] = OrderedDict()
        self._failures: OrderedDict[str, _Entry[_T]] = OrderedDict()
        #: URLs that served a usable key, and when they last did (kept past their values).
        self._known: OrderedDict[str, float] = OrderedDict()
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._executor: ThreadPoolExecutor | None = None
        #: Fetches started, for tests and logs.
        self.fetches = 0

    def get(self, url: str, now: float) -> _T:
        """The value for `url` (pure CPU). Raises `InvalidSignature` for an off-list URL or one
        that served no usable key, and `KeyUnavailable` (with `load` when fetching may help)."""
        url = _normalise(self.rule.check(url))
        entry = self._values.get(url)
        if entry is not None and entry.value is not None and self._usable(url, entry, now):
            self._values.move_to_end(url)
            if url in self._known:
                self._known.move_to_end(url)
            return entry.value
        failure = self._failures.get(url)
        if failure is not None and now < failure.expires_at:
            if failure.refused:
                raise InvalidSignature("the key URL served no usable key")
            raise KeyUnavailable("the key URL failed recently; retry later")
        raise KeyUnavailable("the signing key is not loaded yet", self._loader(url, False))

    def reload(self, url: str, now: float) -> None:
        """For a value that lacks what the request needs (an unknown key ID): raises
        `KeyUnavailable` with a forced `load` when the value is older than `refresh_seconds`;
        returns when it is newer (the caller then refuses the request)."""
        url = _normalise(self.rule.check(url))
        entry = self._values.get(url)
        if entry is None or now - entry.fetched_at >= self._refresh_seconds:
            raise KeyUnavailable("the signing key is not loaded yet", self._loader(url, True))

    def _usable(self, url: str, entry: _Entry[_T], now: float) -> bool:
        if now < entry.expires_at:
            return True
        # Expired, but being fetched again: the previous value until its own expiry, never past.
        return url in self._pending and entry.not_after is not None and now < entry.not_after

    def _loader(self, url: str, force: bool) -> Callable[[], Awaitable[None]]:
        return lambda: self.load(url, force=force)

    async def load(self, url: str, *, force: bool = False) -> None:
        """Fetch `url` unless a fresh value is cached (`force`: unless one was fetched within
        `refresh_seconds`) or it failed within `failure_seconds`; join the fetch already under
        way. Never raises; a waiter cancelled or timed out does not cancel the shared fetch."""
        pending = self._pending.get(url)
        if pending is None:
            if len(self._pending) >= self._max_pending or self._fresh(url, force):
                return
            if not self._known_refetch(url) and not self._take_token():
                _log.warning(
                    "key fetch skipped: too many", extra={"fields": {"source": self.source}}
                )
                return
            pending = asyncio.get_running_loop().create_task(self._fetch(url))
            self._pending[url] = pending
            pending.add_done_callback(lambda _: self._pending.pop(url, None))
        await asyncio.shield(pending)

    def _fresh(self, url: str, force: bool) -> bool:
        now = self._clock()
        failure = self._failures.get(url)
        if failure is not None and now < failure.expires_at:
            return True
        entry = self._values.get(url)
        if entry is None:
            return False
        if force:
            return now - entry.fetched_at < self._refresh_seconds
        return now < entry.expires_at

    def _known_refetch(self, url: str) -> bool:
        """Whether `url` served a usable key before, at least `min_age` seconds ago: then it is
        fetched again without spending the source's budget."""
        fetched_at = self._known.get(url)
        return fetched_at is not None and self._clock() - fetched_at >= self._min_age

    def _take_token(self) -> bool:
        now = self._clock()
        elapsed = max(0.0, now - self._refilled_at)
        self._tokens = min(self._burst, self._tokens + elapsed * self._refill)
        self._refilled_at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    async def _fetch(self, url: str) -> None:
        self.fetches += 1
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self._max_pending, thread_name_prefix=f"keyfetch-{self.source}"
            )
        loop = asyncio.get_running_loop()
        try:
            fetched = await loop.run_in_executor(
                self._executor, self._transport, url, self.timeout, self._max_bytes
            )
            parsed = self._parse(fetched.body)
        except FetchFailed as err:
            self._remember_failure(url, str(err), refused=err.refused)
        except ValueError as err:
            self._remember_failure(url, f"unusable key: {err}", refused=True)
        except Exception as err:  # a transport or parser bug: never an accepted request
            _log.exception("key fetch failed", extra={"fields": {"source": self.source}})
            self._remember_failure(url, type(err).__name__, refused=False)
        else:
            self._store(url, parsed, fetched.cache_control)

    def _store(self, url: str, parsed: Parsed[_T], cache_control: str) -> None:
        now = self._clock()
        expires_at = now + self._max_age
        match = _MAX_AGE.search(cache_control)
        if match is not None:
            expires_at = min(expires_at, now + int(match.group(1)))
        if parsed.expires_at is not None:
            expires_at = min(expires_at, parsed.expires_at)
        entry = _Entry(
            parsed.value, now, max(expires_at, now + self._min_age), None, parsed.expires_at
        )
        self._failures.pop(url, None)
        _put(self._values, url, entry, self._max_entries)
        self._known[url] = now
        self._known.move_to_end(url)
        while len(self._known) > self._max_known:
            self._known.popitem(last=False)
        _log.info("key fetched", extra={"fields": {"source": self.source, "url": url}})

    def _remember_failure(self, url: str, reason: str, *, refused: bool) -> None:
        now = self._clock()
        entry: _Entry[_T] = _Entry(None, now, now + self._failure_seconds, refused)
        _put(self._failures, url, entry, self._max_failures)
        fields = {"source": self.source, "url": url, "reason": reason}
        _log.warning("key fetch failed", extra={"fields": fields})

    def __len__(self) -> int:
        """URLs remembered: values and failures."""
        return len(self._values) + len(self._failures)


def _put(entries: OrderedDict[str, _Entry[_T]], url: str, entry: _Entry[_T], limit: int) -> None:
    entries[url] = entry
    entries.move_to_end(url)
    while len(entries) > limit:
        entries.popitem(last=False)


def _normalise(url: str) -> str:
    """`url` with its scheme and host lower-cased (they are case-insensitive), so case variants
    of one URL share one cache entry and one fetch; the path and query are kept as they are."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    return f"{scheme.lower()}://{userinfo}{at}{host.lower()}{rest[end:]}"
