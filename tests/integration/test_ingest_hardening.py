"""Issue 9 at the gateway: nothing the broker would refuse is published or spooled, no credential
travels, replays under a new unsigned ID are duplicates, and messages carry a verifiable MAC."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from pathlib import Path
from typing import Any

import aiormq
import orjson
import pytest

from gateway.config import parse_config
from hookgate import message_auth
from tests.integration.broker import AMQP_URL, bind_queue, drain
from tests.integration.cases import CASES
from tests.integration.conftest import make_config, running_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
GITHUB = CASES["github"]
STRIPE = CASES["stripe"]
DOWN = "amqp://guest:guest@127.0.0.1:1/"  # nothing listens: every publish fails → spool


def _github(event_type: str | bytes = "pull_request", **extra: Any) -> tuple[bytes, dict[str, Any]]:
    delivery = str(uuid.uuid4())
    body = GITHUB.body(delivery)
    headers: dict[str, Any] = GITHUB.sign(body, GITHUB.secrets[0], delivery, int(time.time()))
    headers["x-github-event"] = event_type
    headers.update(extra)
    return body, headers


def _http_headers(message: Any) -> dict[str, Any]:
    table = message.header.properties.headers["hookgate-http-headers"]
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in table.items()}


@pytest.mark.parametrize("spool", [False, True], ids=["spool-off", "spool-on"])
@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        # The poison: 33,000 bytes of 0xE9 as the type pass the 64 KiB raw header check,
        # double in UTF-8 and travel twice; RabbitMQ would close the connection (FRAME_ERROR).
        ("x-github-event", "malformed", 400),
        # Any header: raw bytes under max_header_bytes, encoded past one AMQP frame.
        ("x-padding", "headers_too_large", 431),
    ],
)
async def test_verified_event_that_cannot_fit_a_frame_is_refused_not_published_or_spooled(
    spool: bool,
    header: str,
    status: str,
    code: int,
    exchange: str,
    amqp: aiormq.abc.AbstractChannel,
    tmp_path: Path,
) -> None:
    spool_table = {"enabled": True, "path": str(tmp_path / "spool.sqlite3")} if spool else None
    config = make_config(
        exchange,
        {"github": GITHUB.source_table()},
        broker_url=DOWN if spool else AMQP_URL,
        spool=spool_table,
        max_header_bytes=200_000,
    )
    async with running_gateway(config, connect_wait=0.2 if spool else 3.0) as gw:
        queue = None if spool else await bind_queue(amqp, exchange)
        size = 33_000 if header == "x-github-event" else 70_000
        body, headers = _github(**{header: b"\xe9" * size})
        response = await gw.client.post("/webhooks/github", content=body, headers=headers)
        assert response.status_code == code
        assert response.json()["status"] == status
        assert gw.count("github", status) == 1
        # The claim was released with the refusal: the same delivery, sent sanely, is taken.
        sane = {**headers, header: "pull_request"}
        ok = await gw.client.post("/webhooks/github", content=body, headers=sane)
        if spool:
            assert ok.json()["status"] == "spooled"
            assert gw.app.state.spool.totals.events == 1  # the good one only
        else:
            assert ok.json()["status"] == "accepted"
            assert queue is not None
            [message] = await drain(amqp, queue)  # the good one only
            assert message.header.properties.message_id == headers["x-github-delivery"]


@pytest.mark.parametrize(
    ("event_type", "reason"),
    [(b"a" * 256, "too long"), ("\xe9" * 128, "too long")],
    ids=["ascii-256", "latin1-128-is-256-utf8"],
)
async def test_event_type_longer_than_255_encoded_bytes_is_malformed(
    event_type: str | bytes, reason: str, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {"github": GITHUB.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        raw = event_type if isinstance(event_type, bytes) else event_type.encode("latin-1")
        body, headers = _github(raw)
        response = await gw.client.post("/webhooks/github", content=body, headers=headers)
        assert response.status_code == 400
        assert response.json()["status"] == "malformed"
        assert reason in response.json()["detail"]
        assert await drain(amqp, queue) == []


@pytest.mark.parametrize("event_id", ["evt_\x1b[2J", "evt_\x00", "evt_\x7f", "evt_\u009b31m"])
async def test_event_id_with_control_characters_is_malformed(
    event_id: str, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {"stripe": STRIPE.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        body = STRIPE.body(event_id)
        headers = STRIPE.sign(body, STRIPE.secrets[0], event_id, int(time.time()))
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.status_code == 400
        assert response.json()["status"] == "malformed"
        assert await drain(amqp, queue) == []


_CREDENTIALS = {
    "x-gitlab-token": "glpat-shared-secret",
    "x-api-key": "key-123",
    "x-acme-secret": "s3cret",
    "x-acme-auth-token": "tok",
    "authorization": "Bearer abc",
    "cookie": "session=1",
}


async def test_credential_headers_are_never_forwarded(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {"github": GITHUB.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        body, headers = _github(**_CREDENTIALS, **{"x-acme-trace": "kept"})
        response = await gw.client.post("/webhooks/github", content=body, headers=headers)
        assert response.json()["status"] == "accepted"
        [message] = await drain(amqp, queue)
    forwarded = _http_headers(message)
    assert not set(_CREDENTIALS) & set(forwarded)
    assert forwarded["x-acme-trace"] == "kept"
    assert forwarded["x-hub-signature-256"].startswith("sha256=")  # consumers may re-verify
    raw = orjson.dumps(forwarded)
    assert all(secret.encode() not in raw for secret in _CREDENTIALS.values())


async def test_gitlab_token_is_neither_spooled_nor_forwarded(tmp_path: Path, exchange: str) -> None:
    token = "gitlab-" + uuid.uuid4().hex
    config = make_config(
        exchange,
        {"gitlab": {"provider": "gitlab", "secrets": [token]}},
        broker_url=DOWN,
        spool={"enabled": True, "path": str(tmp_path / "spool.sqlite3")},
    )
    async with running_gateway(config, connect_wait=0.2) as gw:
        body = orjson.dumps({"object_kind": "push", "event_name": "push"})
        headers = {"x-gitlab-token": token, "x-gitlab-event": "Push Hook"}
        response = await gw.client.post("/webhooks/gitlab", content=body, headers=headers)
        assert response.json()["status"] == "spooled"
    files = _contents(tmp_path)
    assert files
    assert all(token.encode() not in data for data in files)


async def test_signature_headers_are_dropped_when_the_source_says_so(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    table = {**GITHUB.source_table(), "forward_signature_headers": False}
    config = make_config(exchange, {"github": table})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        body, headers = _github()
        response = await gw.client.post("/webhooks/github", content=body, headers=headers)
        assert response.json()["status"] == "accepted"
        [message] = await drain(amqp, queue)
    forwarded = _http_headers(message)
    assert "x-hub-signature-256" not in forwarded
    assert forwarded["x-github-event"] == "pull_request"


async def test_captured_github_delivery_resent_under_a_new_id_or_type_is_a_duplicate(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {"github": GITHUB.source_table()})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        body, headers = _github()
        first = await gw.client.post("/webhooks/github", content=body, headers=headers)
        assert first.json()["status"] == "accepted"
        # The signature covers the body only: ID and type headers are the attacker's to choose.
        for changed in ({"x-github-delivery": str(uuid.uuid4())}, {"x-github-event": "push"}):
            replay = await gw.client.post(
                "/webhooks/github", content=body, headers={**headers, **changed}
            )
            assert replay.status_code == 200
            assert replay.json()["status"] == "duplicate"
        assert len(await drain(amqp, queue)) == 1
        # A different (new) event is still accepted.
        body, headers = _github()
        response = await gw.client.post("/webhooks/github", content=body, headers=headers)
        assert response.json()["status"] == "accepted"


async def test_messages_carry_a_mac_over_body_and_headers_when_a_message_key_is_set(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    key = uuid.uuid4().hex
    raw = {
        "broker": {"url": AMQP_URL, "exchange": exchange, "message_key": [key, "o" * 32]},
        "dedupe": {"backend": "memory"},
        "spool": {"enabled": False},
        "sources": {"stripe": STRIPE.source_table()},
    }
    async with running_gateway(parse_config(raw, env={})) as gw:
        queue = await bind_queue(amqp, exchange)
        event_id = f"evt_{uuid.uuid4().hex}"
        body = STRIPE.body(event_id)
        headers = STRIPE.sign(body, STRIPE.secrets[0], event_id, int(time.time()))
        response = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
        assert response.json()["status"] == "accepted"
        [message] = await drain(amqp, queue)
    delivered = dict(message.header.properties.headers)
    assert str(delivered[message_auth.HEADER]).startswith("v1=")
    assert message_auth.verify([key.encode()], message.body, delivered)
    assert message_auth.verify([b"x" * 32, key.encode()], message.body, delivered)
    assert not message_auth.verify([b"x" * 32], message.body, delivered)
    assert not message_auth.verify([key.encode()], message.body + b" ", delivered)
    forged = {**delivered, "hookgate-event-type": "charge.refunded"}
    assert not message_auth.verify([key.encode()], message.body, forged)
    # An independent check of the scheme: HMAC-SHA256 over length-prefixed parts.
    assert hmac.compare_digest(
        str(delivered[message_auth.HEADER]),
        "v1=" + _independent_mac(key.encode(), message.body, delivered),
    )


def _contents(directory: Path) -> list[bytes]:
    """Every file the gateway wrote (the spool, its WAL), read after it stopped."""
    return [path.read_bytes() for path in directory.iterdir() if path.is_file()]


def _independent_mac(key: bytes, body: bytes, headers: dict[str, Any]) -> str:
    def part(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data

    def text(value: Any) -> bytes:
        return value if isinstance(value, bytes) else str(value).encode()

    names = ["source", "provider", "event-id", "event-type", "received-at"]
    data = b"".join(part(text(headers[f"hookgate-{name}"])) for name in names)
    table = headers["hookgate-http-headers"]
    data += part(len(table).to_bytes(4, "big"))
    for name in sorted(table):
        data += part(text(name)) + part(text(table[name]))
    data += part(body)
    return hmac.new(key, data, hashlib.sha256).hexdigest()


async def test_the_frame_the_broker_negotiated_bounds_what_is_accepted(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, {"github": GITHUB.source_table()})
    async with running_gateway(config) as gw:
        publisher = gw.app.state.publisher
        # This broker negotiated RabbitMQ's default frame; a broker configured with a smaller
        # one would say so at connection time, and the gateway holds requests to that.
        assert publisher.max_properties_bytes == 131_072 - 20
        publisher.max_properties_bytes = 4096 - 20
        queue = await bind_queue(amqp, exchange)
        body, headers = _github(**{"x-padding": "p" * 5000})
        response = await gw.client.post("/webhooks/github", content=body, headers=headers)
        assert response.status_code == 431
        assert await drain(amqp, queue) == []
