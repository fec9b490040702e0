"""Scenario C: fuzz the HTTP edge through the ASGI app, for every built-in provider.

Hypothesis sends random methods, paths, query strings, headers and bodies; unsigned, signed
with a key the source does not hold, or validly signed for another body. The gateway runs
with its real broker connection (the shared node: nothing is killed here). Never a 500 (nor
any 5xx: the broker is up), never a 2xx other than a provider handshake, nothing published
(a queue bound with `#` and the unrouted queue stay empty, the `accepted` counter stays 0),
and no request makes the process allocate more than a bound (traced memory peak per request,
and a 32 MiB body streamed without Content-Length is refused 413 without being buffered).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import string
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiormq
import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import parse_config
from tests.chaos.figures import Figures
from tests.chaos.fuzz_sources import HOST, PREFIX, builtin_sources
from tests.integration.broker import AMQP_URL
from tests.unit.providers._catalogue import TABLE

pytestmark = [pytest.mark.chaos]

EXAMPLES = 1000
MAX_BODY = 65_536
MAX_HEADERS = 16_384
#: Traced memory one request may allocate at its peak: a few copies of the largest body the
#: gateway accepts (`max_body_bytes`), never the body a client tries to push past it.
REQUEST_MEMORY_BOUND = 4 * 1024 * 1024
STREAMED_BYTES = 32 * 1024 * 1024  # pushed without Content-Length at a source: 413, not buffered
REQUEST_SECONDS = 10.0
#: Every built-in the provider catalogue tests cover (DESIGN.md's list and later ones) is fuzzed.
BUILT_INS = {*TABLE, "stripe", "github", "standard-webhooks", "hmac", "mailgun"}

SOURCES = builtin_sources()
NAMES = sorted(SOURCES)
PUBLISHED = {"accepted", "duplicate", "spooled"}

_PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/%"
_TOKEN_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
_KNOWN_HEADERS = sorted(
    {name for source in SOURCES.values() for name in source.sign(b"{}", wrong_key=False)[1]}
    | {"content-length", "content-type", "host", "transfer-encoding", "x-forwarded-for"}
    | {"x-forwarded-proto", "authorization", "cookie", "expect", "content-encoding"}
)
_HANDSHAKE_BODIES = [
    b'{"type":"url_verification","challenge":"c","token":"t"}',
    b'{"type":1}',
    b'{"type":0,"event":{}}',
    b'{"event":"endpoint.url_validation","payload":{"plainToken":"p"}}',
    b'{"challenge":"c","subscription":{"type":"channel.follow"}}',
    b'{"events":[],"firstEventSequence":1,"lastEventSequence":1}',
    b"",
    b"null",
    b"[]",
    b"{}",
    b"\xff\xfe\x00\x80",
    b'[{"id":"1","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",'
    b'"data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}}]',
    b'{"value":[{"clientState":"guess","changeType":"created"}]}',
]
_QUERIES = [
    "hub.mode=subscribe&hub.challenge=42&hub.verify_token=fuzz-verify-token",
    "hub.mode=subscribe&hub.challenge=42&hub.verify_token=wrong",
    "challenge=abc",
    "bodySHA256=" + "0" * 64,
    "a=1&a=2&%ff=%fe",
    # WebSub's verification of intent for the fuzz source's topic (fuzz_sources._OPTIONS).
    "hub.mode=subscribe&hub.challenge=42&hub.topic="
    "https%3A%2F%2Fwww.youtube.com%2Fxml%2Ffeeds%2Fvideos.xml%3Fchannel_id%3DUCfuzz",
    "bt_challenge=0123456789abcdef0123",
    "validationToken=Validation%3A+Testing+client+application+reachability",
    "validationToken=%3Cscript%3E&code=guess",
]

methods = st.one_of(
    st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"]),
    st.text(string.ascii_uppercase, min_size=1, max_size=12),
)
paths = st.one_of(
    st.sampled_from(NAMES).map(lambda name: f"{PREFIX}/{name}"),
    st.text(_PATH_CHARS, max_size=24).map(lambda segment: f"{PREFIX}/{segment}"),
    st.tuples(st.sampled_from(NAMES), st.text(_PATH_CHARS, max_size=16)).map(
        lambda parts: f"{PREFIX}/{parts[0]}/{parts[1]}"
    ),
    st.text(_PATH_CHARS, max_size=40).map(lambda text: "/" + text),
    st.sampled_from(
        [PREFIX, PREFIX + "/", PREFIX + "//github", PREFIX + "/../metrics", "/WEBHOOKS/github"]
    ),
)
queries = st.one_of(
    st.just(""),
    st.sampled_from(_QUERIES),
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=24)), max_size=5).map(urlencode),
    st.text(_PATH_CHARS + "?", max_size=60),
)
header_values = st.one_of(
    st.binary(max_size=120).map(lambda raw: bytes(b for b in raw if b not in b"\r\n\x00")),
    st.sampled_from([b"", b"t=,v1=", b"sha256=", b"v1,", b"=,,=", b"-1", b"99999999999999999999"]),
    st.integers(0, 2**64).map(lambda n: str(n).encode()),
)
#: One request in twenty carries a header block over `max_header_bytes` (431).
oversized = st.integers(0, 19).map(
    lambda n: [("x-oversized", b"x" * MAX_HEADERS)] if n == 11 else []
)
header_names = st.one_of(
    st.sampled_from(_KNOWN_HEADERS), st.text(_TOKEN_CHARS, min_size=1, max_size=24)
)
headers = st.lists(st.tuples(header_names, header_values), max_size=10)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=2048),
    json_values.map(lambda value: json.dumps(value).encode()),  # big integers too
    st.sampled_from(_HANDSHAKE_BODIES),
    st.integers(MAX_BODY - 8, MAX_BODY + 4096).map(lambda n: b"x" * n),
)


@dataclass(frozen=True)
class FuzzRequest:
    kind: str
    method: str
    path: str
    query: str
    headers: list[tuple[str, bytes]]
    body: bytes


@st.composite
def requests(draw: st.DrawFn) -> FuzzRequest:
    kind = draw(st.sampled_from(["random", "handshake", "forged", "other_body"]))
    extra = draw(headers) + draw(oversized)
    query = draw(queries)
    if kind == "random":
        return FuzzRequest(kind, draw(methods), draw(paths), query, extra, draw(bodies))
    source = SOURCES[draw(st.sampled_from(NAMES))]
    if kind == "handshake":  # subscription and verification requests, unsigned
        method = draw(st.sampled_from(["GET", "POST"]))
        query = draw(st.sampled_from(_QUERIES))
        body = draw(st.sampled_from(_HANDSHAKE_BODIES))
        return FuzzRequest(kind, method, f"{PREFIX}/{source.name}", query, extra, body)
    body = draw(bodies)
    if kind == "other_body" and not source.body_is_signed:
        kind = "forged"  # its credentials cover no body: another body would rightly verify
    if kind == "forged":
        sent, signed = source.sign(body, wrong_key=True)
    else:
        _, signed = source.sign(body, wrong_key=False)
        sent = body + draw(st.binary(min_size=1, max_size=8))  # never the signed bytes
    pairs = [(name, value.encode("latin-1")) for name, value in signed.items()]
    # Extra headers come after the signature: a repeated name is joined, not replaced.
    return FuzzRequest(kind, "POST", f"{PREFIX}/{source.name}", query, pairs + extra, sent)


@dataclass
class Edge:
    app: Starlette
    client: httpx.AsyncClient
    registry: CollectorRegistry
    channel: aiormq.abc.AbstractChannel
    queues: list[str]

    def total(self, outcome: str) -> float:
        return sum(
            self.registry.get_sample_value(
                "hookgate_requests_total", {"source": name, "outcome": outcome}
            )
            or 0.0
            for name in NAMES
        )

    async def published(self) -> int:
        count = 0
        for queue in self.queues:
            declared = await self.channel.queue_declare(queue, passive=True)
            count += int(declared.message_count or 0)
        return count


@contextlib.asynccontextmanager
async def running_edge() -> AsyncIterator[Edge]:
    """The app for every built-in source, its lifespan, and a queue bound to its exchange."""
    exchange = f"hgchaos-fuzz-{uuid.uuid4().hex[:8]}"
    config = parse_config(
        {
            "gateway": {"max_body_bytes": MAX_BODY, "max_header_bytes": MAX_HEADERS},
            "broker": {"url": AMQP_URL, "exchange": exchange},
            "dedupe": {"backend": "memory"},
            "sources": {name: source.table for name, source in SOURCES.items()},
        },
        env={},
    )
    registry = CollectorRegistry()
    app = create_app(config, registry=registry)
    connection = await aiormq.connect(AMQP_URL)
    try:
        async with app.router.lifespan_context(app):
            assert app.state.publisher.connected, "the gateway did not connect to the broker"
            channel = await connection.channel()
            bound = f"{exchange}.fuzz"
            await channel.queue_declare(bound, exclusive=True, auto_delete=True)
            await channel.queue_bind(bound, exchange, routing_key="#")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
                yield Edge(app, client, registry, channel, [bound, f"{exchange}.unrouted"])
            await channel.queue_delete(f"{exchange}.unrouted")
            await channel.exchange_delete(f"{exchange}.unrouted")
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()


async def _send(edge: Edge, request: FuzzRequest) -> httpx.Response:
    url = request.path + (f"?{request.query}" if request.query else "")
    async with asyncio.timeout(REQUEST_SECONDS):
        return await edge.client.request(
            request.method, url, content=request.body, headers=request.headers
        )


def test_fuzzed_requests_to_every_provider_never_500_never_publish_bounded_memory(
    record_property: Callable[[str, object], None],
) -> None:
    assert set(SOURCES) >= BUILT_INS, sorted(BUILT_INS - set(SOURCES))
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    handshakes: Counter[str] = Counter()
    started = time.monotonic()
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        edge = runner.run(stack.enter_async_context(running_edge()))
        try:
            tracemalloc.start()
            peaks: list[int] = []

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(request=requests())
            def check(request: FuzzRequest) -> None:
                before = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
                response = runner.run(_send(edge, request))
                peaks.append(tracemalloc.get_traced_memory()[1] - before)
                statuses[response.status_code] += 1
                kinds[request.kind] += 1
                assert response.status_code < 500, (request, response.status_code, response.text)
                if 200 <= response.status_code < 300:
                    outcome = _json_status(response)
                    assert outcome not in PUBLISHED, (request, response.text)
                    handshakes[request.path] += 1

            try:
                check()
                streamed, streamed_peak = runner.run(_stream_too_large(edge))
            finally:
                tracemalloc.stop()
            published = runner.run(edge.published())
            accepted, errors = edge.total("accepted"), edge.total("error")
        finally:
            runner.run(stack.aclose())

    figures = Figures(
        "C-http-edge-fuzz",
        sent=sum(statuses.values()),
        ok=sum(n for status, n in statuses.items() if 200 <= status < 300),
        unavailable=statuses[503],
        other=sum(n for status, n in statuses.items() if not 200 <= status < 300),
        extra={
            "providers": len(SOURCES),
            "published": published,
            "accepted_counter": int(accepted),
            "error_counter": int(errors),
            "statuses": "/".join(f"{s}:{n}" for s, n in sorted(statuses.items())),
            "kinds": "/".join(f"{k}:{n}" for k, n in sorted(kinds.items())),
            "handshakes": sum(handshakes.values()),
            "max_request_peak_kib": max(peaks) // 1024,
            "streamed_413_peak_kib": streamed_peak // 1024,
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    figures.report(record_property)

    assert published == 0
    assert accepted == 0
    assert errors == 0
    assert statuses[500] == 0
    assert max(peaks) < REQUEST_MEMORY_BOUND, f"a request peaked at {max(peaks)} bytes"
    assert streamed == 413
    assert streamed_peak < REQUEST_MEMORY_BOUND, f"a streamed body peaked at {streamed_peak} bytes"
    assert sum(statuses.values()) >= EXAMPLES // 2  # the run really sent requests


async def _stream_too_large(edge: Edge) -> tuple[int, int]:
    """POST a body far over `max_body_bytes` in chunks, without Content-Length: the status and
    the traced memory peak while it was sent (tracing must be on)."""
    chunk = b"x" * 65_536  # one object yielded again and again: the client allocates nothing

    async def body() -> AsyncIterator[bytes]:
        for _ in range(STREAMED_BYTES // len(chunk)):
            yield chunk

    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    async with asyncio.timeout(REQUEST_SECONDS):
        response = await edge.client.post(f"{PREFIX}/github", content=body())
    return response.status_code, tracemalloc.get_traced_memory()[1] - before


def _json_status(response: httpx.Response) -> object:
    try:
        document = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None  # a text handshake answer (a challenge echoed back)
    return document.get("status") if isinstance(document, dict) else None
