"""Every catalogue provider through the real app to a real RabbitMQ, on one gateway.

One gateway serves a source per provider (the per-provider matrix of the original three lives in
test_ingest.py); each test walks all of them and reports every provider that broke the rule.
Requests are signed with `providers.testing`, whose output the unit tests check against each
provider's own SDK or published vectors.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import aiormq
import orjson
import pytest

from providers.builtin.graph import sign_body as graph_sign_body
from providers.builtin.mailgun import sign_body
from providers.builtin.parsed_fields import sign_body as adyen_sign_body
from providers.testing import sign_request
from tests.integration.broker import bind_queue, drain
from tests.integration.conftest import Gateway, make_config, running_gateway
from tests.unit.providers._catalogue import (
    ADYEN_BODY,
    BODY_SIGNING,
    GRAPH_BODY,
    PUBLIC_HALF,
    SNS_MESSAGE,
    SNS_OPTIONS,
    STALE_SKEW,
    STATIC_TOKENS,
    TABLE,
    hex_secret,
    key_option,
    rsa_pkcs8,
    signed,
    sns_sign_body,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

NAMES = sorted([*TABLE, "mailgun", "adyen", "microsoft-graph", "aws-sns"])
PUBLIC_URL = "https://hooks.example.com/webhooks/"


def _source_name(provider: str) -> str:
    return f"cat-{provider}"


class Catalogue:
    """Per provider: the source table, the signing secret, and a signed request."""

    def __init__(self) -> None:
        self.secrets: dict[str, tuple[str, str]] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        for name in NAMES:
            if name == "mailgun":
                secrets = ("mailgun-key-1", "mailgun-key-2")
                options: dict[str, Any] = {}
            elif name in {"adyen", "microsoft-graph"}:  # the secret is used inside the body
                secrets, options = (hex_secret(), hex_secret()), {}
            elif name == "aws-sns":  # signs inside the body; certificates pinned in config
                secrets, options = (rsa_pkcs8(), rsa_pkcs8()), dict(SNS_OPTIONS)
            else:
                _, _, _, options, make = TABLE[name]
                secrets = (make(), make())
            options = dict(options)
            if "public_url" in options:
                options["public_url"] = PUBLIC_URL + _source_name(name)
            table: dict[str, Any] = {"provider": name, **options}
            public = PUBLIC_HALF.get(name)
            if public is not None:
                table[key_option(name)] = [public(secret) for secret in secrets]
            else:
                table["secrets"] = list(secrets)
            self.secrets[name] = secrets
            self.sources[_source_name(name)] = table

    def options(self, name: str) -> dict[str, Any]:
        table = self.sources[_source_name(name)]
        return {k: v for k, v in table.items() if k not in {"provider", "secrets"}}

    def signed(
        self, name: str, *, secret: str | None = None, skew: int = 0
    ) -> tuple[bytes, dict[str, str]]:
        key = secret or self.secrets[name][0]
        now = int(time.time()) + skew
        if name == "mailgun":
            body = sign_body({"id": f"mg-{time.time_ns()}", "event": "delivered"}, key, now)
        elif name == "adyen":
            notification = json.loads(ADYEN_BODY)
            item = notification["notificationItems"][0]["NotificationRequestItem"]
            item["pspReference"] = f"psp{time.time_ns()}"
            body = adyen_sign_body(notification, key)
        elif name in BODY_SIGNING:  # its own `signed_body` wraps the payload, freshly
            body, headers = signed(
                name, _fresh(name, TABLE[name][0]), key, timestamp=now, options=self.options(name)
            )
            return body, headers
        elif name == "microsoft-graph":
            collection = json.loads(GRAPH_BODY)
            collection["value"][0]["id"] = f"graph-{time.time_ns()}"
            body = graph_sign_body(json.dumps(collection).encode(), key)
        elif name == "aws-sns":
            body = sns_sign_body(SNS_MESSAGE, key, now, f"sns-{time.time_ns()}")
        else:
            body = TABLE[name][0]
        headers = sign_request(name, body, key, timestamp=now, options=self.options(name))
        if name == "twitch":
            headers["twitch-eventsub-subscription-type"] = "channel.follow"
        return body, headers


def _fresh(name: str, payload: bytes) -> bytes:
    """The payload of a body-signing provider under a new event ID (each run is new)."""
    unique = str(time.time_ns())
    if name == "braintree":
        return payload.replace(b"<id>sub_42</id>", f"<id>sub_{unique}</id>".encode())
    if name == "apple-appstore":  # the payload the signer wraps in a JWS
        return payload
    callback = json.loads(payload)
    callback["signature_request"]["signature_request_id"] = unique
    return json.dumps(callback).encode()


#: Providers that answer a delivery taken with their sender's own text (`acknowledgement`).
ACKNOWLEDGED = {"dropbox-sign": b"Hello API Event Received"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


async def _post(gw: Gateway, name: str, body: bytes, headers: dict[str, str]) -> Any:
    return await gw.client.post(f"/webhooks/{_source_name(name)}", content=body, headers=headers)


async def test_every_provider_accepts_publishes_byte_for_byte_and_absorbs_the_redelivery(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, catalogue.sources)
    broken: list[str] = []
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        for name in NAMES:
            body, headers = catalogue.signed(name)
            first = await _post(gw, name, body, headers)
            again = await _post(gw, name, body, headers)
            messages = await drain(amqp, queue)
            if name in ACKNOWLEDGED:  # the sender's own text, for the delivery and the retry
                answers = {(r.status_code, r.content) for r in (first, again)}
                if answers != {(200, ACKNOWLEDGED[name])} or len(messages) != 1:
                    broken.append(f"{name}: {first.text} / {again.text}, {len(messages)} sent")
                    continue
                event_id = messages[0].header.properties.message_id
            elif first.status_code != 200 or first.json()["status"] != "accepted":
                broken.append(f"{name}: {first.status_code} {first.text}")
                continue
            elif again.json() != {"status": "duplicate"} or len(messages) != 1:
                broken.append(f"{name}: redelivery gave {again.text}, {len(messages)} published")
                continue
            else:
                event_id = first.json()["event_id"]
            [message] = messages
            props = message.header.properties
            if message.body != body or props.message_id != event_id:
                broken.append(f"{name}: published body or message_id differs")
            if not message.routing_key.startswith(f"{_source_name(name)}."):
                broken.append(f"{name}: routing key {message.routing_key}")
    assert broken == []


def _timestamped(name: str) -> bool:
    return name in {"mailgun", "aws-sns"} or (name in TABLE and TABLE[name][2])


async def test_every_provider_refuses_forged_tampered_stale_and_unsigned_requests_unpublished(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, catalogue.sources)
    broken: list[str] = []
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        for name in NAMES:
            # A fresh secret (or signing key) of the right kind, which the source does not hold.
            wrong = TABLE[name][4]() if name in TABLE else "another-mailgun-key"
            if name == "adyen":
                wrong = hex_secret()
            if name == "aws-sns":
                wrong = rsa_pkcs8()
            body, headers = catalogue.signed(name, secret=wrong)
            forged = await _post(gw, name, body, headers)
            unsigned = await _post(gw, name, TABLE.get(name, (b"{}",))[0], {})
            answers = [(forged, "invalid_signature"), (unsigned, "missing_signature")]
            if name not in STATIC_TOKENS:
                body, headers = catalogue.signed(name)
                tampered = body[:-1] + bytes([body[-1] ^ 0x01])
                answers.append((await _post(gw, name, tampered, headers), "invalid_signature"))
            if _timestamped(name):
                stale = STALE_SKEW.get(name, 3600)
                for skew in (-stale, stale):
                    body, headers = catalogue.signed(name, skew=skew)
                    answers.append((await _post(gw, name, body, headers), "stale_timestamp"))
            for response, status in answers:
                if response.status_code != 401 or response.json()["status"] != status:
                    broken.append(f"{name}: expected {status}, got {response.text}")
                for secret in catalogue.secrets[name]:
                    if secret in response.text:
                        broken.append(f"{name}: the answer shows a secret")
        published = await drain(amqp, queue)
    assert broken == []
    assert published == []


async def test_handshakes_are_answered_through_the_app_and_never_published(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    sources = {
        **catalogue.sources,
        "cat-meta": {**catalogue.sources["cat-meta"], "verify_token": "vt-42"},
    }
    config = make_config(exchange, sources)
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        meta = await gw.client.get(
            "/webhooks/cat-meta",
            params={"hub.mode": "subscribe", "hub.verify_token": "vt-42", "hub.challenge": "77"},
        )
        meta_wrong = await gw.client.get(
            "/webhooks/cat-meta",
            params={"hub.mode": "subscribe", "hub.verify_token": "vt-41", "hub.challenge": "77"},
        )
        dropbox = await gw.client.get("/webhooks/cat-dropbox", params={"challenge": "dbx"})
        okta = await gw.client.get(
            "/webhooks/cat-okta", headers={"x-okta-verification-challenge": "okta-v"}
        )
        stripe_get = await gw.client.get("/webhooks/cat-slack")
        slack_body = b'{"type": "url_verification", "challenge": "slack-c"}'
        slack_headers = sign_request("slack", slack_body, catalogue.secrets["slack"][0])
        slack = await gw.client.post(
            "/webhooks/cat-slack", content=slack_body, headers=slack_headers
        )
        # Discord's webhook-event PING: type 0, no `event`; 204 with nothing in it.
        ping_body = b'{"version":1,"application_id":"1234567890","type":0}'
        ping_headers = sign_request("discord", ping_body, catalogue.secrets["discord"][0])
        discord_ping = await gw.client.post(
            "/webhooks/cat-discord", content=ping_body, headers=ping_headers
        )
        published = await drain(amqp, queue)

    assert (meta.status_code, meta.text) == (200, "77")
    assert meta.headers["content-type"] == "text/plain"
    assert meta_wrong.status_code == 401
    assert (dropbox.status_code, dropbox.text) == (200, "dbx")
    assert dropbox.headers["x-content-type-options"] == "nosniff"
    assert okta.json() == {"verification": "okta-v"}
    assert stripe_get.status_code == 405
    assert stripe_get.headers["allow"] == "POST"
    assert slack.json() == {"challenge": "slack-c"}
    assert (discord_ping.status_code, discord_ping.content) == (204, b"")
    assert published == []


async def test_twilio_json_body_is_verified_with_the_body_hash_from_the_query(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    # Signed independently of hookgate with the standard library, as Twilio documents it.
    import base64
    import hmac

    config = make_config(exchange, catalogue.sources)
    token = catalogue.secrets["twilio"][0]
    body = orjson.dumps({"MessageStatus": "delivered", "note": "caf\u00e9"})
    digest = hashlib.sha256(body).hexdigest()
    signed_url = f"{PUBLIC_URL}cat-twilio?bodySHA256={digest}"
    signature = base64.b64encode(hmac.digest(token.encode(), signed_url.encode(), "sha1")).decode()
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        response = await gw.client.post(
            f"/webhooks/cat-twilio?bodySHA256={digest}",
            content=body,
            headers={"x-twilio-signature": signature, "content-type": "application/json"},
        )
        [message] = await drain(amqp, queue)

    assert response.json()["status"] == "accepted", response.text
    assert message.body == body
    assert message.routing_key == "cat-twilio.delivered"
    assert json.loads(message.body)["note"] == "caf\u00e9"


async def test_line_console_verify_request_is_answered_200_and_never_published(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    config = make_config(exchange, catalogue.sources)
    body = b'{"destination":"U8e742f61d673b39c7fff3cecb7536ef0","events":[]}'
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        signed = sign_request("line", body, catalogue.secrets["line"][1])
        verify = await _post(gw, "line", body, signed)
        forged = await _post(gw, "line", body, sign_request("line", body, "not-the-secret"))
        published = await drain(amqp, queue)

    assert (verify.status_code, verify.content) == (200, b"")
    assert forged.status_code == 401
    assert published == []


async def test_twitter_crc_is_answered_through_the_app_and_never_published(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    import base64
    import hmac

    config = make_config(exchange, catalogue.sources)
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        crc = await gw.client.get("/webhooks/cat-twitter", params={"crc_token": "Y3JjLXRva2Vu"})
        json_token = await gw.client.get(
            "/webhooks/cat-twitter", params={"crc_token": '{"favorite_events":[]}'}
        )
        published = await drain(amqp, queue)

    secret = catalogue.secrets["twitter"][0].encode()
    digest = hmac.digest(secret, b"Y3JjLXRva2Vu", "sha256")
    assert crc.status_code == 200
    assert crc.json() == {"response_token": "sha256=" + base64.b64encode(digest).decode()}
    assert (json_token.status_code, json_token.json()["status"]) == (401, "invalid_signature")
    assert published == []


async def test_mandrill_url_check_is_answered_through_the_app_and_never_published(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    # Mandrill's check on adding a webhook: `mandrill_events=[]` signed with `test-webhook`.
    import base64
    import hmac

    config = make_config(exchange, catalogue.sources)
    url = catalogue.options("mandrill")["public_url"]
    digest = hmac.digest(b"test-webhook", f"{url}mandrill_events[]".encode(), "sha1")
    headers = {
        "x-mandrill-signature": base64.b64encode(digest).decode(),
        "content-type": "application/x-www-form-urlencoded",
    }
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        check = await _post(gw, "mandrill", b"mandrill_events=%5B%5D", headers)
        forged = await _post(gw, "mandrill", b"mandrill_events=%5B%5D&a=1", headers)
        published = await drain(amqp, queue)

    assert (check.status_code, check.content) == (200, b"")
    assert (forged.status_code, forged.json()["status"]) == (401, "invalid_signature")
    assert published == []


async def test_websub_verification_of_intent_is_answered_through_the_app_and_never_published(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    # The hub's GET: the challenge echoed as text for a listed topic, nothing for another.
    topic = catalogue.options("websub")["topics"][0]
    config = make_config(exchange, catalogue.sources)
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        query = {"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "c-7731"}
        answer = await gw.client.get("/webhooks/cat-websub", params=query)
        other = await gw.client.get(
            "/webhooks/cat-websub", params={**query, "hub.topic": "https://x.example/feed"}
        )
        markup = await gw.client.get(
            "/webhooks/cat-websub", params={**query, "hub.challenge": "<b>x</b>"}
        )
        published = await drain(amqp, queue)

    assert (answer.status_code, answer.text) == (200, "c-7731")
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert (other.status_code, other.json()["status"]) == (401, "invalid_signature")
    assert (markup.status_code, markup.json()["status"]) == (401, "invalid_signature")
    assert published == []


async def test_braintree_and_dropbox_sign_checks_are_answered_as_their_senders_expect(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    # Braintree's bt_challenge (a GET) and "Check URL" notification; Dropbox Sign's
    # callback_test, sent when a callback URL is set: answered, never published.
    import hashlib
    import hmac

    config = make_config(exchange, catalogue.sources)
    bt_key = catalogue.secrets["braintree"][0]
    check = b"<notification><kind>check</kind><subject><check>true</check></subject></notification>"
    test_event = json.dumps({"event": {"event_type": "callback_test", "event_time": "1"}})
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        challenge = await gw.client.get(
            "/webhooks/cat-braintree", params={"bt_challenge": "0123456789abcdef0123"}
        )
        bad = await gw.client.get("/webhooks/cat-braintree", params={"bt_challenge": "XYZ"})
        body, headers = signed("braintree", check, bt_key, options=catalogue.options("braintree"))
        bt_check = await _post(gw, "braintree", body, headers)
        key = catalogue.secrets["dropbox-sign"][1]
        body, headers = signed("dropbox-sign", test_event.encode(), key, options={})
        ds_test = await _post(gw, "dropbox-sign", body, headers)
        published = await drain(amqp, queue)

    digest = hmac.new(hashlib.sha1(bt_key.encode()).digest(), b"0123456789abcdef0123", "sha1")
    assert (challenge.status_code, challenge.text) == (200, f"bt-public-key-1|{digest.hexdigest()}")
    assert challenge.headers["content-type"] == "text/plain"
    assert (bad.status_code, bad.json()["status"]) == (401, "invalid_signature")
    assert (bt_check.status_code, bt_check.content) == (200, b"")
    assert (ds_test.status_code, ds_test.content) == (200, b"Hello API Event Received")
    assert published == []


async def test_woocommerce_ping_is_answered_and_one_body_under_two_topics_is_two_events(
    catalogue: Catalogue, exchange: str, amqp: aiormq.abc.AbstractChannel
) -> None:
    # WooCommerce pings unsigned (`webhook_id=<n>`) when a webhook is saved, and a new order
    # sends the same body as `order.created` and `order.updated`.
    config = make_config(exchange, catalogue.sources)
    body = b'{"id":727,"status":"processing","total":"29.35"}'
    secret = catalogue.secrets["woocommerce"][0]
    created = sign_request("woocommerce", body, secret, event_type="order.created")
    updated = {**created, "x-wc-webhook-topic": "order.updated"}
    ping_headers = {"content-type": "application/x-www-form-urlencoded"}
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        ping = await _post(gw, "woocommerce", b"webhook_id=12", ping_headers)
        forged = await _post(gw, "woocommerce", b"webhook_id=12&a=1", ping_headers)
        answers = [await _post(gw, "woocommerce", body, h) for h in (created, updated, updated)]
        published = await drain(amqp, queue)

    assert (ping.status_code, ping.content) == (200, b"")
    assert (forged.status_code, forged.json()["status"]) == (401, "missing_signature")
    assert [a.json()["status"] for a in answers] == ["accepted", "accepted", "duplicate"]
    assert [m.body for m in published] == [body, body]
