"""The gateway fetches a sender's certificate for real, over loopback, through the real app to a
real RabbitMQ: one fetch however many requests wait, the cache after, 503 `key_unavailable` with
nothing published when the key server fails, a slow key server delaying no other source, and an
SNS subscription confirmed in the background.

The loopback server is reached through test-only subclasses (`LoopbackSns`, `LoopbackPayPal`)
whose allow-list is a `LoopbackRule`: no config option can widen a provider's allow-list.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiormq
import orjson
import pytest

from providers.builtin.aws_sns import AwsSnsProvider, sign_message, sns_timestamp
from providers.builtin.paypal import PayPalProvider
from providers.testing import sign_request
from tests.integration.broker import bind_queue, drain
from tests.integration.conftest import make_config, running_gateway
from tests.keyserver import KeyServer, LoopbackRule
from tests.unit.providers._catalogue import (
    SNS_MESSAGE,
    TABLE,
    paypal_certificate,
    rsa_pkcs8,
    sns_certificate,
    sns_sign_body,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

KEY = rsa_pkcs8()
MODULE = "tests.integration.test_certificate_fetch"
TOPIC = "arn:aws:sns:us-east-1:123456789012:hookgate"


class LoopbackSns(AwsSnsProvider):
    """Replaced per test by `_loopback` with the server's port."""


class LoopbackPayPal(PayPalProvider):
    """Replaced per test by `_loopback` with the server's port."""


def _loopback(server: KeyServer) -> None:
    rule = LoopbackRule(server.port)
    url = server.url("/cert.pem")
    subscribe = LoopbackRule(server.port, query=True)
    attributes = {"url_rule": rule, "subscribe_rule": subscribe, "signing_cert_url": url}
    globals()["LoopbackSns"] = type("LoopbackSns", (AwsSnsProvider,), attributes)
    globals()["LoopbackPayPal"] = type("LoopbackPayPal", (PayPalProvider,), attributes)


async def _drain(channel: aiormq.abc.AbstractChannel, queue: str, count: int) -> list[Any]:
    """What reached `queue`, waiting (a few seconds at most) for `count` messages."""
    messages: list[Any] = []
    for _ in range(100):
        messages += await drain(channel, queue)
        if len(messages) >= count:
            break
        await asyncio.sleep(0.05)
    return messages


def _sns_body(event_id: str, url: str) -> bytes:
    body = sns_sign_body(SNS_MESSAGE, KEY, int(time.time()), event_id)
    return body.replace(AwsSnsProvider.signing_cert_url.encode(), url.encode())


async def test_the_gateway_fetches_the_certificate_once_for_many_requests(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    with KeyServer({"/cert.pem": sns_certificate(KEY).encode()}) as server:
        _loopback(server)
        sources = {"sns": {"provider": f"{MODULE}:LoopbackSns", "topic_arns": [TOPIC]}}
        async with running_gateway(make_config(exchange, sources)) as gw:
            queue = await bind_queue(amqp, exchange)
            bodies = [_sns_body(f"m-{i}", server.url("/cert.pem")) for i in range(20)]
            answers = await asyncio.gather(
                *(gw.client.post("/webhooks/sns", content=body) for body in bodies)
            )
            later = await gw.client.post(
                "/webhooks/sns", content=_sns_body("m-late", server.url("/cert.pem"))
            )
            published = await _drain(amqp, queue, 21)
    assert [a.json()["status"] for a in answers] == ["accepted"] * 20
    assert later.json()["status"] == "accepted"
    assert server.hits["/cert.pem"] == 1
    assert len(published) == 21
    assert {m.body for m in published} >= set(bodies)
    assert {m.routing_key for m in published} == {"sns.hookgate"}


async def test_a_failing_key_server_is_503_key_unavailable_and_nothing_is_published(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    with KeyServer() as server:
        _loopback(server)
        sources = {"sns": {"provider": f"{MODULE}:LoopbackSns", "topic_arns": [TOPIC]}}
        async with running_gateway(make_config(exchange, sources)) as gw:
            queue = await bind_queue(amqp, exchange)
            first = await gw.client.post(
                "/webhooks/sns", content=_sns_body("a", server.url("/fail"))
            )
            again = await gw.client.post(
                "/webhooks/sns", content=_sns_body("b", server.url("/fail"))
            )
            published = await drain(amqp, queue)
    for answer in (first, again):
        assert answer.status_code == 503
        assert answer.json()["status"] == "key_unavailable"
        assert answer.headers["retry-after"] == "30"
    assert server.hits["/fail"] == 1  # the failure is remembered: not fetched again at once
    assert published == []
    assert gw.count("sns", "key_unavailable") == 2


async def test_a_slow_key_server_delays_no_other_source(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    paypal_key = rsa_pkcs8()
    files = {"/cert.pem": paypal_certificate(paypal_key).encode()}
    with KeyServer(files, slow_seconds=4) as server:
        _loopback(server)
        webhook_id = TABLE["paypal"][3]["webhook_id"]
        sources: dict[str, dict[str, Any]] = {
            "slow": {"provider": f"{MODULE}:LoopbackSns", "topic_arns": [TOPIC]},
            "pay": {"provider": f"{MODULE}:LoopbackPayPal", "webhook_id": webhook_id},
        }
        async with running_gateway(make_config(exchange, sources)) as gw:
            queue = await bind_queue(amqp, exchange)
            slow = asyncio.ensure_future(
                gw.client.post("/webhooks/slow", content=_sns_body("s", server.url("/slow")))
            )
            await asyncio.sleep(0.2)
            body = TABLE["paypal"][0]
            headers = sign_request("paypal", body, paypal_key, options={"webhook_id": webhook_id})
            headers["paypal-cert-url"] = server.url("/cert.pem")
            started = time.monotonic()
            paid = await gw.client.post("/webhooks/pay", content=body, headers=headers)
            elapsed = time.monotonic() - started
            slow_done = slow.done()
            slow_answer = await slow
            published = await drain(amqp, queue)
    assert paid.json()["status"] == "accepted"
    assert elapsed < 2.0
    assert not slow_done
    # The slow server answered 'late' (not a certificate) after 4 s: a refusal, not an event.
    assert slow_answer.json()["status"] == "invalid_signature"
    assert [m.body for m in published] == [body]


async def test_an_sns_subscription_is_confirmed_in_the_background_and_never_published(
    exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    with KeyServer({"/cert.pem": sns_certificate(KEY).encode()}) as server:
        _loopback(server)
        path = f"/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37fb"
        server.files[path] = b"<ConfirmSubscriptionResponse/>"
        sources = {
            "sns": {
                "provider": f"{MODULE}:LoopbackSns",
                "auto_confirm": True,
                "topic_arns": [TOPIC],
            }
        }
        message = {
            "Type": "SubscriptionConfirmation",
            "MessageId": "c-1",
            "Token": "2336412f37fb687f5d51e6e2425c464d",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": server.url(path),
            "Timestamp": sns_timestamp(time.time()),
        }
        signed = {**sign_message(message, KEY), "SigningCertURL": server.url("/cert.pem")}
        async with running_gateway(make_config(exchange, sources)) as gw:
            queue = await bind_queue(amqp, exchange)
            answer = await gw.client.post("/webhooks/sns", content=orjson.dumps(signed))
            for _ in range(100):
                if server.hits[path]:
                    break
                await asyncio.sleep(0.05)
            published = await drain(amqp, queue)
    assert answer.status_code == 200
    assert server.hits[path] == 1
    assert published == []
