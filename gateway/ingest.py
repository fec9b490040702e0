"""`POST {path_prefix}/{source}`: the hot path, in the order of the promise.

read body → find source → verify → build the message → claim ID → publish (or spool) → commit
→ answer → record the outcome (one `IngestRecord` for the observers: metrics, request log, …).

A 2xx leaves here only after the broker confirmed the message, or after the spool fsynced it
(`200 spooled`). An event ID is claimed before the publish and committed once the event is
durable; when it cannot be made durable, the claim is released, so the provider's retry is
published rather than dropped as a duplicate. While the spool holds events, new ones queue
behind them, so that events reach the broker in the order they arrived.

Nothing reaches the broker or the spool that the broker would refuse: an event ID or type that
is empty, too long or holds control characters is `400 malformed`, and a message whose encoded
properties would not fit in one AMQP frame is `431 headers_too_large`, both before the claim.
Where the provider's signature does not cover the event ID or type, its `replay_key` (a digest
of what was signed) is claimed beside the ID, so a captured delivery re-sent under another ID
is a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl

from pamqp.commands import Basic
from starlette.types import Receive, Scope, Send

from gateway.clientip import ClientAddress, allowed
from gateway.config import GatewaySettings
from gateway.deadlines import ReadDeadlines
from gateway.dedupe import Claim, DedupeStore
from gateway.errors import DedupeUnavailable, PublishFailed
from gateway.message import build_properties, encoded_size
from gateway.metrics import UNKNOWN_SOURCE
from gateway.provider_io import FollowUps, verify_after_load
from gateway.publisher import EventPublisher
from gateway.responses import (
    DUPLICATE,
    ERROR,
    FORBIDDEN,
    HEADERS_TOO_LARGE,
    IN_PROGRESS,
    READ_TIMEOUT,
    TOO_LARGE,
    Answer,
    answer,
    json_answer,
    refusal,
)
from gateway.responses import UNKNOWN_SOURCE as UNKNOWN_SOURCE_ANSWER
from gateway.sources import Source
from gateway.spool import Spool, SpooledEvent, SpoolFull, SpoolUnavailable
from hookgate import envelope
from hookgate.observe import IngestOutcome, IngestRecord, Observer, PublishFailure
from hookgate.routing import routing_key
from providers import (
    Handshake,
    KeyUnavailable,
    VerificationError,
    VerifiedEvent,
    WebhookRequest,
)

_log = logging.getLogger("hookgate.ingest")
_MAX_EVENT_ID_BYTES = 255  # AMQP message_id is a short string
_MAX_EVENT_TYPE_BYTES = 255  # a type is a routing-key part; longer is not an event type
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Outcomes where the event was taken: a provider's `acknowledgement` answers them.
_TAKEN = frozenset({IngestOutcome.ACCEPTED, IngestOutcome.SPOOLED, IngestOutcome.DUPLICATE})


class _NotDurable(Exception):
    """Neither the broker nor the spool took the event: answered 503, claim released."""

    def __init__(self, message: str, failure: PublishFailure | None) -> None:
        super().__init__(message)
        self.failure = failure


class _Refused(Exception):
    """Ends a request early with a prepared answer."""

    def __init__(self, outcome: IngestOutcome, answer: Answer) -> None:
        self.outcome = outcome
        self.answer = answer


class IngestEndpoint:
    """The ASGI endpoint for webhook deliveries. Everything fixed is computed in `__init__`."""

    def __init__(
        self,
        settings: GatewaySettings,
        sources: Mapping[str, Source],
        dedupe: DedupeStore,
        publisher: EventPublisher,
        observer: Observer,
        deadlines: ReadDeadlines,
        spool: Spool | None = None,
        message_key: bytes | None = None,
    ) -> None:
        self._sources = dict(sources)
        self._dedupe = dedupe
        self._publisher = publisher
        self._observer = observer
        self._max_body = settings.max_body_bytes
        self._max_headers = settings.max_header_bytes
        self._max_header_count = settings.max_header_count
        self._deadlines = deadlines
        self._spool = spool
        self._message_key = message_key
        self._clients = ClientAddress(settings.trusted_proxies)
        #: Background work handshakes ask for (SNS subscription confirmations).
        self._follow_ups = FollowUps()

    async def __call__(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        """Answer one delivery to source `name` (the path segment after the prefix)."""
        started = time.perf_counter()
        received_at = time.time()
        source = self._sources.get(name)
        event: VerifiedEvent | None = None
        failure: PublishFailure | None = None
        try:
            if source is None:
                raise _Refused(IngestOutcome.UNKNOWN_SOURCE, UNKNOWN_SOURCE_ANSWER)
            outcome, result, event, failure = await self._handle(
                source, scope, receive, received_at
            )
            if source.acknowledgement is not None and outcome in _TAKEN:
                result = source.acknowledgement  # the sender's own "received" (Dropbox Sign)
        except _Refused as refused:
            outcome, result = refused.outcome, refused.answer
        except Exception:
            # A provider bug or an unforeseen input: answered 500, never published.
            _log.exception("request failed", extra={"fields": {"source": name}})
            outcome, result = IngestOutcome.ERROR, ERROR
        if outcome is not IngestOutcome.DISCONNECTED:
            await send(
                {
                    "type": "http.response.start",
                    "status": result.status_code,
                    "headers": result.headers,
                }
            )
            await send({"type": "http.response.body", "body": result.body})
        self._observer.on_ingest(
            IngestRecord(
                source=source.name if source is not None else UNKNOWN_SOURCE,
                provider=source.provider_name if source is not None else None,
                outcome=outcome,
                status_code=result.status_code,
                duration=time.perf_counter() - started,
                event_id=event.id if event is not None else None,
                event_type=event.type if event is not None else None,
                publish_failure=failure,
                received_at=received_at,
            )
        )

    async def _handle(
        self, source: Source, scope: Scope, receive: Receive, received_at: float
    ) -> tuple[IngestOutcome, Answer, VerifiedEvent | None, PublishFailure | None]:
        """The outcome, its answer, the event (once its ID is claimed) and why the broker did
        not confirm it (when it did not)."""
        method = scope["method"]
        if method not in source.methods:
            refused = answer(
                IngestOutcome.METHOD_NOT_ALLOWED, f"{source.name} accepts {source.allow_header}"
            )
            refused.headers.append((b"allow", source.allow_header.encode()))
            raise _Refused(IngestOutcome.METHOD_NOT_ALLOWED, refused)
        headers = self._headers(scope)
        if source.allowed_ips and not allowed(
            self._clients.resolve(scope, headers), source.allowed_ips
        ):
            raise _Refused(IngestOutcome.FORBIDDEN, FORBIDDEN)
        body = await self._read_body(headers, receive)
        query = scope.get("query_string", b"")
        request = WebhookRequest(
            method=method,
            url=_url(scope, headers, query),
            headers=headers,
            body=body,
            received_at=received_at,
            query=dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) if query else {},
        )

        try:
            try:
                verified = source.provider.verify(request)
            except KeyUnavailable as missing:  # a key to fetch first (SNS, PayPal)
                verified = await verify_after_load(source.provider, request, missing)
        except VerificationError as err:
            raise _Refused(err.status, refusal(err)) from None
        if isinstance(verified, Handshake):
            if verified.follow_up is not None:
                self._follow_ups.start(source.name, verified.follow_up)
            handshake = json_answer(
                verified.status_code,
                verified.body,
                tuple((name.encode(), value.encode()) for name, value in verified.headers),
                content_type=verified.content_type.encode(),
            )
            return IngestOutcome.HANDSHAKE, handshake, None, None
        event_id = verified.id
        problem = _malformed(verified)
        if problem is not None:
            raise _Refused(IngestOutcome.MALFORMED, answer(IngestOutcome.MALFORMED, problem))
        properties = build_properties(
            source=source.name,
            provider=source.provider_name,
            event=verified,
            headers=headers,
            received_at=received_at,
            drop=source.drop_headers,
            message_key=self._message_key,
            body=body,
        )
        size = encoded_size(properties)
        if size is None:
            cannot = answer(IngestOutcome.MALFORMED, "the event cannot be encoded")
            raise _Refused(IngestOutcome.MALFORMED, cannot)
        if size > self._publisher.max_properties_bytes:
            # The broker would close the connection (FRAME_ERROR); the spool would never drain.
            raise _Refused(IngestOutcome.HEADERS_TOO_LARGE, HEADERS_TOO_LARGE)

        keys = [f"{source.name}:{event_id}"]
        if verified.replay_key:
            # "/" cannot follow a source name in an ID key (source names have no "/").
            keys.append(f"{source.name}/{verified.replay_key}")
        try:
            claim = await self._claim(keys, received_at)
        except DedupeUnavailable as err:
            _log.error("dedupe claim failed", extra={"fields": {"error": str(err)}})
            unavailable = answer(IngestOutcome.UNAVAILABLE, "dedupe store unavailable")
            return IngestOutcome.UNAVAILABLE, unavailable, verified, None
        if claim is Claim.DUPLICATE:
            return IngestOutcome.DUPLICATE, DUPLICATE, verified, None
        if claim is Claim.IN_PROGRESS:
            return IngestOutcome.IN_PROGRESS, IN_PROGRESS, verified, None
        try:
            outcome, failure = await self._make_durable(
                source, verified, properties, body, received_at
            )
        except _NotDurable as err:
            await self._release(keys)
            unavailable = answer(IngestOutcome.UNAVAILABLE, f"event not stored: {err}")
            return IngestOutcome.UNAVAILABLE, unavailable, verified, err.failure
        except BaseException:
            await self._release(keys)
            raise
        try:
            now = time.time()
            for key in keys:
                await self._dedupe.commit(key, now)
        except DedupeUnavailable as err:
            # The event is durable: still a 2xx. A redelivery may be published again.
            _log.error("dedupe commit failed", extra={"fields": {"error": str(err)}})
        return outcome, answer(outcome, event_id=event_id, source=source.name), verified, failure

    async def _claim(self, keys: list[str], now: float) -> Claim:
        """Claim every key, or none: the first key that is not NEW decides the answer."""
        claimed: list[str] = []
        try:
            for key in keys:
                claim = await self._dedupe.claim(key, now)
                if claim is not Claim.NEW:
                    await self._release(claimed)
                    return claim
                claimed.append(key)
        except BaseException:
            await self._release(claimed)
            raise
        return Claim.NEW

    async def _make_durable(
        self,
        source: Source,
        event: VerifiedEvent,
        properties: Basic.Properties,
        body: bytes,
        received_at: float,
    ) -> tuple[IngestOutcome, PublishFailure | None]:
        """Publish and wait for the confirm (`accepted`), or fsync to the spool (`spooled`);
        raise `_NotDurable` when neither can take the event. With why the broker did not
        confirm, when it did not.

        While the spool holds a backlog, new events join it, so the broker receives events in
        the order they arrived; when the spool is full, the broker is tried all the same.
        """
        rkey = routing_key(source.name, event.type)
        spool = self._spool
        if spool is not None and spool.backlog:
            with contextlib.suppress(SpoolFull, SpoolUnavailable):
                await spool.append(_spooled(source, event, rkey, properties, body, received_at))
                return IngestOutcome.SPOOLED, None
        try:
            await self._publisher.publish(body, rkey, properties)
        except PublishFailed as err:
            if spool is None:
                raise _NotDurable(str(err), err.reason) from err
            try:
                await spool.append(_spooled(source, event, rkey, properties, body, received_at))
            except (SpoolFull, SpoolUnavailable) as full:
                _log.error("event not spooled", extra={"fields": {"error": str(full)}})
                raise _NotDurable(f"{err}; and {full}", err.reason) from full
            return IngestOutcome.SPOOLED, err.reason
        return IngestOutcome.ACCEPTED, None

    async def _release(self, keys: list[str]) -> None:
        for key in keys:
            try:
                await self._dedupe.release(key)
            except DedupeUnavailable as err:
                # The claim's lease expires on its own; until then a retry gets 409.
                _log.error("dedupe release failed", extra={"fields": {"error": str(err)}})

    def _headers(self, scope: Scope) -> dict[str, str]:
        raw = scope["headers"]  # names are lower-case (ASGI)
        if len(raw) > self._max_header_count or (
            sum([len(name) + len(value) for name, value in raw]) > self._max_headers
        ):
            raise _Refused(IngestOutcome.HEADERS_TOO_LARGE, HEADERS_TOO_LARGE)
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}
        if len(headers) < len(raw):  # a repeated header: join its values, in order
            headers = {}
            for name, value in raw:
                key, text = name.decode("latin-1"), value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return headers

    async def _read_body(self, headers: Mapping[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            raise _Refused(IngestOutcome.TOO_LARGE, TOO_LARGE)
        chunks: list[bytes] = []
        size = 0
        task = self._deadlines.begin()
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    # Nothing is answered; the record shows ERROR's status, as the log always did.
                    raise _Refused(IngestOutcome.DISCONNECTED, ERROR)
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self._max_body:
                    raise _Refused(IngestOutcome.TOO_LARGE, TOO_LARGE)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        except asyncio.CancelledError:
            if self._deadlines.expired(task):
                raise _Refused(IngestOutcome.READ_TIMEOUT, READ_TIMEOUT) from None
            raise
        finally:
            self._deadlines.end(task)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _spooled(
    source: Source,
    event: VerifiedEvent,
    rkey: str,
    properties: Basic.Properties,
    body: bytes,
    received_at: float,
) -> SpooledEvent:
    assert properties.headers is not None
    forwarded = properties.headers[envelope.HTTP_HEADERS]
    assert isinstance(forwarded, dict)
    return SpooledEvent(
        source=source.name,
        provider=source.provider_name,
        event_id=event.id,
        event_type=event.type,
        routing_key=rkey,
        # What the message carries, no more: no credentials or cookies on disk.
        headers={k: str(v) for k, v in forwarded.items()},
        body=body,
        received_at=received_at,
    )


def _malformed(event: VerifiedEvent) -> str | None:
    """Why the broker could not carry this event's ID or type, or None."""
    if not event.id or len(event.id.encode()) > _MAX_EVENT_ID_BYTES:
        return "event ID is empty or too long"
    if len(event.type.encode()) > _MAX_EVENT_TYPE_BYTES:
        return "event type is too long"
    if _CONTROL.search(event.id) or _CONTROL.search(event.type):
        return "event ID or type holds control characters"
    return None


def _url(scope: Scope, headers: Mapping[str, str], query: bytes) -> str:
    url = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}{scope['path']}"
    return f"{url}?{query.decode('latin-1')}" if query else url
