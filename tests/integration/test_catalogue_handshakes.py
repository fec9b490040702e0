"""The issue-14 handshakes through the real app and a real RabbitMQ: Microsoft Graph's
`validationToken`, Azure Event Grid's validation event and CloudEvents `OPTIONS` (its secret in
the URL's query), Smartsheet's challenge, Trello's `HEAD`, Front's challenge. Each is answered
as its sender requires and nothing is published; the deliveries after them are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import aiormq
import pytest

from hookgate.logs import JsonFormatter
from providers.builtin.graph import sign_body as graph_sign_body
from tests.integration.broker import bind_queue, drain
from tests.integration.conftest import make_config, running_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

GRAPH_STATE = "graph-client-state-0c1d"
GRID_SECRET = "grid-secret-in-the-url-5e6f"
SHEET_SECRET = "289c4s9hnfp4b368x4p4wu9gea"
TRELLO_SECRET = "trello-oauth-secret-77aa"
FRONT_SECRET = "front-app-secret-99bb"
TRELLO_URL = "https://hooks.example.com/webhooks/hs-trello"
SECRETS = (GRAPH_STATE, GRID_SECRET, SHEET_SECRET, TRELLO_SECRET, FRONT_SECRET)
SOURCES: dict[str, dict[str, Any]] = {
    "hs-graph": {"provider": "microsoft-graph", "secrets": [GRAPH_STATE]},
    "hs-grid": {"provider": "azure-eventgrid", "secrets": [GRID_SECRET]},
    "hs-sheet": {"provider": "smartsheet", "secrets": [SHEET_SECRET]},
    "hs-trello": {"provider": "trello", "secrets": [TRELLO_SECRET], "public_url": TRELLO_URL},
    "hs-front": {"provider": "front", "secrets": [FRONT_SECRET]},
}
TOKEN = "Validation: Testing client application reachability for subscription Request-Id: 1c"


def _grid_events(event_type: str, data: dict[str, Any], event_id: str) -> bytes:
    event = {
        "id": event_id,
        "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/x",
        "subject": "",
        "data": data,
        "eventType": event_type,
        "eventTime": "2026-12-02T21:00:00.000Z",
        "metadataVersion": "1",
        "dataVersion": "2",
    }
    return json.dumps([event]).encode()


async def test_handshakes_are_answered_and_never_published_and_deliveries_are(
    exchange: str,
    amqp: aiormq.abc.AbstractChannel,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)  # the request log is on: it must show no secret
    # (and on for hookgate's loggers too, whatever level an earlier test configured them at)
    caplog.set_level(logging.INFO, logger="hookgate")
    config = make_config(exchange, SOURCES)
    async with running_gateway(config) as gw:
        queue = await bind_queue(amqp, exchange)
        client = gw.client
        # Microsoft Graph: the subscription check.
        graph_check = await client.post(
            "/webhooks/hs-graph",
            params={"validationToken": TOKEN},
            headers={"content-type": "text/plain"},
        )
        # Azure Event Grid: the secret in the query string, the validation event, OPTIONS.
        code = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
        validation = _grid_events(
            "Microsoft.EventGrid.SubscriptionValidationEvent", {"validationCode": code}, "v-1"
        )
        grid_check = await client.post(
            "/webhooks/hs-grid", params={"code": GRID_SECRET}, content=validation
        )
        grid_check_unauthenticated = await client.post("/webhooks/hs-grid", content=validation)
        grid_options = await client.options(
            "/webhooks/hs-grid",
            params={"code": GRID_SECRET},
            headers={"webhook-request-origin": "eventgrid.azure.net"},
        )
        grid_options_forged = await client.options(
            "/webhooks/hs-grid",
            params={"code": "guess"},
            headers={"webhook-request-origin": "eventgrid.azure.net"},
        )
        # Smartsheet: the unsigned challenge.
        challenge = "d78dd1d3-01ce-4481-81de-92b4f3aa5ab1"
        sheet_check = await client.post(
            "/webhooks/hs-sheet",
            headers={"smartsheet-hook-challenge": challenge},
            content=json.dumps({"challenge": challenge, "webhookId": 1}).encode(),
        )
        # Trello: HEAD on creation.
        trello_head = await client.head("/webhooks/hs-trello")
        # Front: the signed validation request.
        sync = b'{"type":"sync","authorization":{"id":"cmp_abc"}}'
        stamp = str(int(time.time() * 1000))
        mac = hmac.digest(FRONT_SECRET.encode(), stamp.encode() + b":" + sync, "sha256")
        front_check = await client.post(
            "/webhooks/hs-front",
            content=sync,
            headers={
                "x-front-signature": base64.b64encode(mac).decode(),
                "x-front-request-timestamp": stamp,
                "x-front-challenge": "front-challenge-1",
            },
        )
        handshakes_published = await drain(amqp, queue)
        # The deliveries after them: published.
        note = {"value": [{"id": "n-1", "changeType": "updated", "resource": "me/events/1"}]}
        graph_body = graph_sign_body(json.dumps(note).encode(), GRAPH_STATE)
        graph_event = await client.post("/webhooks/hs-graph", content=graph_body)
        forged_body = graph_sign_body(json.dumps(note).encode(), "guess")
        graph_forged = await client.post("/webhooks/hs-graph", content=forged_body)

        blob = _grid_events("Microsoft.Storage.BlobCreated", {"api": "PutBlob"}, "g-1")
        grid_event = await client.post(
            "/webhooks/hs-grid", params={"code": GRID_SECRET}, content=blob
        )

        sheet_body = b'{"webhookId": 1, "events": [{"objectType": "row", "eventType": "created"}]}'
        sheet_mac = hmac.new(SHEET_SECRET.encode(), sheet_body, hashlib.sha256).hexdigest()
        sheet_event = await client.post(
            "/webhooks/hs-sheet", content=sheet_body, headers={"smartsheet-hmac-sha256": sheet_mac}
        )
        trello_body = b'{"action": {"id": "a-1", "type": "createCard"}, "model": {"id": "b"}}'
        trello_mac = hmac.digest(TRELLO_SECRET.encode(), trello_body + TRELLO_URL.encode(), "sha1")
        trello_event = await client.post(
            "/webhooks/hs-trello",
            content=trello_body,
            headers={"x-trello-webhook": base64.b64encode(trello_mac).decode()},
        )
        published = await drain(amqp, queue)

    assert handshakes_published == []
    assert graph_check.status_code == 200
    assert graph_check.text == TOKEN
    assert graph_check.headers["content-type"] == "text/plain; charset=utf-8"
    assert graph_check.headers["x-content-type-options"] == "nosniff"
    assert grid_check.json() == {"validationResponse": code}
    assert grid_check_unauthenticated.json()["status"] == "missing_signature"
    assert grid_options.status_code == 200
    assert grid_options.headers["webhook-allowed-origin"] == "eventgrid.azure.net"
    assert grid_options.headers["webhook-allowed-rate"] == "*"
    assert grid_options_forged.json()["status"] == "invalid_signature"
    assert sheet_check.json() == {"smartsheetHookResponse": challenge}
    assert sheet_check.headers["smartsheet-hook-response"] == challenge
    assert (trello_head.status_code, trello_head.content) == (200, b"")
    assert front_check.json() == {"challenge": "front-challenge-1"}

    answers = {
        "graph": (graph_event, "n-1"),
        "grid": (grid_event, "g-1"),
        "sheet": (sheet_event, hashlib.sha256(sheet_body).hexdigest()),
        "trello": (trello_event, "a-1"),
    }
    for name, (response, event_id) in answers.items():
        assert response.json() == {
            "status": "accepted",
            "event_id": event_id,
            "source": f"hs-{name}",
        }, name
    assert graph_forged.json()["status"] == "invalid_signature"
    assert sorted(m.routing_key for m in published) == [
        "hs-graph.updated",
        "hs-grid.Microsoft.Storage.BlobCreated",
        "hs-sheet.row.created",
        "hs-trello.createCard",
    ]
    # The URL's secret is neither forwarded nor logged; no answer shows a secret.
    for message in published:
        assert GRID_SECRET.encode() not in repr(message.header.properties).encode()
    # (httpx, the test's own client, logs its URLs: not the gateway's.)
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    # Each record as the gateway's JSON log line writes it (with its fields), whichever stream
    # an earlier test's logging configuration left the root handler on.
    logged = capsys.readouterr().err + "\n".join(JsonFormatter().format(r) for r in records)
    assert '"logger":"hookgate.request"' in logged
    responses = [graph_check, grid_check, grid_options, grid_options_forged, sheet_check]
    responses += [front_check, grid_check_unauthenticated, graph_forged]
    for secret in SECRETS:
        assert secret not in logged
        assert all(secret not in r.text for r in responses)
