"""Google's keys really fetched by the gateway: a loopback key server stands in for
www.googleapis.com (through a test-only subclass whose URL and allow-list point at it; no
config option can do that), the real app verifies pushes and publishes them to RabbitMQ.
"""

from __future__ import annotations

import json

import aiormq
import pytest

from providers.builtin.google_oidc import GooglePubSubProvider
from providers.keyfetch import UrlPolicy
from providers.testing import sign_request
from tests.integration.broker import bind_queue, drain
from tests.integration.conftest import make_config, running_gateway
from tests.keyserver import KeyServer, LoopbackRule
from tests.unit.providers._catalogue import GOOGLE, google_certificates, rsa_pkcs8

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

CERTS_PATH = "/oauth2/v1/certs"


class LoopbackPubSub(GooglePubSubProvider):
    """`google-pubsub` fetching from the loopback key server (set per test)."""

    certs_url = "http://127.0.0.1:9/unset"
    url_rule: UrlPolicy = LoopbackRule(9)


def _push(message_id: str) -> bytes:
    message = {"data": "e30=", "messageId": message_id, "attributes": {"eventType": "T"}}
    return json.dumps({"message": message, "subscription": "projects/p/subscriptions/s"}).encode()


async def test_the_gateway_fetches_googles_keys_once_and_verifies_every_push(
    exchange: str, amqp: aiormq.abc.AbstractChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, stranger = rsa_pkcs8(), rsa_pkcs8()
    document = google_certificates(key).encode()
    with KeyServer({CERTS_PATH: document}, cache_control="public, max-age=600") as server:
        monkeypatch.setattr(LoopbackPubSub, "certs_url", server.url(CERTS_PATH))
        monkeypatch.setattr(LoopbackPubSub, "url_rule", LoopbackRule(server.port))
        source = {"provider": f"{__name__}:LoopbackPubSub", **GOOGLE}
        config = make_config(exchange, {"gpush": source})
        async with running_gateway(config) as gw:
            queue = await bind_queue(amqp, exchange)
            answers = []
            for message_id in ("1", "2", "3"):
                body = _push(message_id)
                headers = sign_request("google-pubsub", body, key, options=GOOGLE)
                answers.append(
                    await gw.client.post("/webhooks/gpush", content=body, headers=headers)
                )
            body = _push("4")
            forged = sign_request("google-pubsub", body, stranger, options=GOOGLE)
            refused = await gw.client.post("/webhooks/gpush", content=body, headers=forged)
            published = await drain(amqp, queue)

    assert [a.json()["status"] for a in answers] == ["accepted"] * 3, [a.text for a in answers]
    assert (refused.status_code, refused.json()["status"]) == (401, "invalid_signature")
    assert server.hits[CERTS_PATH] == 1  # one fetch for all; an unknown kid within 5 min: none
    assert [m.body for m in published] == [_push("1"), _push("2"), _push("3")]
    assert {m.routing_key for m in published} == {"gpush.T"}


async def test_a_key_server_that_fails_gives_503_and_nothing_is_published(
    exchange: str, amqp: aiormq.abc.AbstractChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = rsa_pkcs8()
    with KeyServer({}) as server:  # every path but the special ones is 404
        monkeypatch.setattr(LoopbackPubSub, "certs_url", server.url("/fail"))
        monkeypatch.setattr(LoopbackPubSub, "url_rule", LoopbackRule(server.port))
        source = {"provider": f"{__name__}:LoopbackPubSub", **GOOGLE}
        async with running_gateway(make_config(exchange, {"gpush": source})) as gw:
            queue = await bind_queue(amqp, exchange)
            body = _push("1")
            headers = sign_request("google-pubsub", body, key, options=GOOGLE)
            first = await gw.client.post("/webhooks/gpush", content=body, headers=headers)
            again = await gw.client.post("/webhooks/gpush", content=body, headers=headers)
            published = await drain(amqp, queue)

    assert (first.status_code, first.json()["status"]) == (503, "key_unavailable")
    assert (again.status_code, again.json()["status"]) == (503, "key_unavailable")
    assert server.hits["/fail"] == 1  # the failure is remembered: not hammered
    assert published == []
