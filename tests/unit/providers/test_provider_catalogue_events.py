"""Each catalogue provider takes its event ID and type from where the provider puts them.

Bodies are shaped like the providers' documented deliveries (trimmed). Requests are signed with
`providers.testing`; the signer's own ID/type headers are overridden where a row gives them.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest

from providers import Malformed, StaleTimestamp, VerifiedEvent, load
from providers.testing import build_provider, make_request, sign_request
from tests.unit.providers._catalogue import PUBLIC_HALF, TABLE

BATCH = "batch-" + hashlib.sha256(b"1\n2").hexdigest()
#: Providers whose ID or type may come from a header no signature covers: their events carry
#: the body's SHA-256 as `replay_key` (issue 9, item 4).
REPLAY_KEYED = {"shopify", "bitbucket", "jira", "lemonsqueezy", "sentry", "linear", "zendesk"}
REPLAY_KEYED |= {"twilio", "gitlab", "twitch"}
REPLAY_KEYED |= {"razorpay"}


def _hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# (provider, body, headers beside the signature, expected ID (None: body hash), expected type)
ROWS: list[tuple[str, bytes, dict[str, str], str | None, str]] = [
    (
        "shopify",
        b"{}",
        {"x-shopify-event-id": "e-1", "x-shopify-topic": "orders/create"},
        "e-1",
        "orders/create",
    ),
    (
        "shopify",
        b"{}",
        {"x-shopify-event-id": "", "x-shopify-webhook-id": "w-1", "x-shopify-topic": "orders/paid"},
        "w-1",
        "orders/paid",
    ),
    ("bitbucket", b"{}", {"x-request-uuid": "r-1", "x-event-key": "repo:push"}, "r-1", "repo:push"),
    (
        "jira",
        b'{"webhookEvent": "jira:issue_updated"}',
        {"x-atlassian-webhook-identifier": "j-1"},
        "j-1",
        "jira:issue_updated",
    ),
    (
        "intercom",
        b'{"type": "notification_event", "id": "notif_1", "topic": "conversation.user.created"}',
        {},
        "notif_1",
        "conversation.user.created",
    ),
    ("typeform", b'{"event_id": "01H", "event_type": "form_response"}', {}, "01H", "form_response"),
    ("lemonsqueezy", b'{"meta": {"event_name": "order_created"}}', {}, None, "order_created"),
    (
        "coinbase",
        b'{"id": 1, "event": {"id": "24934862", "type": "charge:created"}}',
        {},
        "24934862",
        "charge:created",
    ),
    (
        "sentry",
        b'{"action": "resolved", "data": {}}',
        {"request-id": "req-1", "sentry-hook-resource": "issue"},
        "req-1",
        "issue.resolved",
    ),
    (
        "vercel",
        b'{"id": "evt_v", "type": "deployment.succeeded"}',
        {},
        "evt_v",
        "deployment.succeeded",
    ),
    ("segment", b'{"messageId": "m-1", "type": "track", "event": "Signed Up"}', {}, "m-1", "track"),
    (
        "intuit",
        b'[{"id": "ce-1", "type": "qbo.invoice.created.v1"}]',
        {},
        "ce-1",
        "qbo.invoice.created.v1",
    ),
    ("intuit", b'{"eventNotifications": [{"realmId": "1"}]}', {}, None, "data_change"),
    ("notion", b'{"id": "n-1", "type": "page.content_updated"}', {}, "n-1", "page.content_updated"),
    (
        "linear",
        b'{"type": "Issue", "action": "update"}',
        {"linear-delivery": "d-1"},
        "d-1",
        "Issue.update",
    ),
    (
        "xero",
        b'{"events": [{"resourceId": "1", "eventCategory": "INVOICE", "eventType": "CREATE"},'
        b' {"resourceId": "2", "eventCategory": "INVOICE", "eventType": "UPDATE"}]}',
        {},
        BATCH,
        "INVOICE.CREATE",
    ),
    (
        "meta",
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}',
        {},
        None,
        "whatsapp_business_account.messages",
    ),
    ("dropbox", b'{"list_folder": {"accounts": ["dbid:1"]}}', {}, None, "notification"),
    (
        "slack",
        b'{"type": "event_callback", "event_id": "Ev08", "event": {"type": "reaction_added"}}',
        {},
        "Ev08",
        "event_callback.reaction_added",
    ),
    ("zoom", b'{"event": "meeting.ended", "event_ts": 1626230691572}', {}, None, "meeting.ended"),
    (
        "paddle",
        b'{"event_id": "evt_01h", "event_type": "subscription.created"}',
        {},
        "evt_01h",
        "subscription.created",
    ),
    ("mux", b'{"id": "3a56", "type": "video.asset.ready"}', {}, "3a56", "video.asset.ready"),
    ("calendly", b'{"event": "invitee.canceled", "payload": {}}', {}, None, "invitee.canceled"),
    (
        "zendesk",
        b'{"id": "z-1", "type": "zen:event-type:user.created"}',
        {},
        "z-1",
        "zen:event-type:user.created",
    ),
    ("zendesk", b'{"ticket": 5}', {"x-zendesk-webhook-invocation-id": "inv-1"}, "inv-1", "webhook"),
    ("square", b'{"event_id": "sq-1", "type": "payment.created"}', {}, "sq-1", "payment.created"),
    (
        "hubspot",
        b'[{"eventId": 1, "subscriptionType": "deal.creation"},'
        b' {"eventId": 2, "subscriptionType": "contact.deletion"}]',
        {},
        BATCH,
        "batch",
    ),
    (
        "twilio",
        b"CallSid=CA1&CallStatus=ringing",
        {"i-twilio-idempotency-token": "t-1"},
        "t-1",
        "ringing",
    ),
    (
        "sendgrid",
        b'[{"sg_event_id": "1", "event": "open"}, {"sg_event_id": "2", "event": "open"}]',
        {},
        BATCH,
        "open",
    ),
    (
        "plaid",
        b'{"webhook_type": "ITEM", "webhook_code": "ERROR", "item_id": "i"}',
        {},
        None,
        "ITEM.ERROR",
    ),
    (
        "okta",
        b'{"data": {"events": [{"uuid": "u-9", "eventType": "user.lifecycle.create"}]}}',
        {},
        "u-9",
        "user.lifecycle.create",
    ),
    ("postmark", b'{"RecordType": "Bounce", "MessageID": "m"}', {}, None, "Bounce"),
    (
        "gitlab",
        b'{"object_kind": "merge_request", "object_attributes": {"action": "merge"}}',
        {"idempotency-key": "k-1"},
        "k-1",
        "merge_request.merge",
    ),
    (
        "gitlab",
        b'{"object_kind": "push"}',
        {"idempotency-key": "", "x-gitlab-event-uuid": "u-2"},
        "u-2",
        "push",
    ),
    ("clerk", b'{"type": "session.created"}', {}, "msg_fixed", "session.created"),
    ("replicate", b'{"id": "p", "status": "failed"}', {}, "msg_fixed", "prediction.failed"),
    ("discord", b'{"id": "i-1", "type": 3}', {}, "i-1", "message_component"),
    (
        "gocardless",
        b'{"events": [{"id": "EV1", "resource_type": "payments", "action": "confirmed"}]}',
        {},
        "EV1",
        "payments.confirmed",
    ),
    (
        "gocardless",
        b'{"events": [{"id": "1", "resource_type": "payments", "action": "created"}, '
        b'{"id": "2", "resource_type": "payments", "action": "confirmed"}]}',
        {},
        BATCH,
        "payments.batch",
    ),
    (
        "gocardless",
        b'{"events": [{"id": "1", "resource_type": "mandates", "action": "created"}, '
        b'{"id": "2", "resource_type": "payments", "action": "created"}]}',
        {},
        BATCH,
        "batch.created",
    ),
    (
        "razorpay",
        b'{"entity": "event", "event": "payment.authorized", "payload": {}}',
        {"x-razorpay-event-id": "Ev-1"},
        "Ev-1",
        "payment.authorized",
    ),
    ("razorpay", b'{"event": "order.paid"}', {"x-razorpay-event-id": ""}, None, "order.paid"),
    (
        "onfido",
        b'{"payload": {"resource_type": "check", "action": "check.completed", '
        b'"object": {"id": "chk-1", "status": "complete"}}}',
        {},
        "chk-1:check.completed",
        "check.completed",
    ),
    (
        "moderntreasury",
        b'{"event": "completed", "data": {"id": "po-1", "object": "payment_order"}}',
        {},
        None,
        "completed",
    ),
    (
        "easypost",
        b'{"id": "evt_1", "object": "Event", "description": "tracker.updated", "result": {}}',
        {},
        "evt_1",
        "tracker.updated",
    ),
    (
        "airtable",
        b'{"base": {"id": "app1"}, "webhook": {"id": "ach1"}, '
        b'"timestamp": "2026-12-02T21:00:00.000Z"}',
        {},
        "ach1:2026-12-02T21:00:00.000Z",
        "notification",
    ),
    (
        "paystack",
        b'{"event": "charge.success", "data": {"id": 302961, "reference": "qTPrJoy9Bx"}}',
        {},
        None,
        "charge.success",
    ),
    (
        "checkout",
        b'{"id": "evt_az5sblvku4ge3dwpztvyizgcau", "type": "payment_approved", "data": {}}',
        {},
        "evt_az5sblvku4ge3dwpztvyizgcau",
        "payment_approved",
    ),
    (
        "webex",
        b'{"id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0s", "resource": "messages", '
        b'"event": "created", "data": {"id": "Y2lzY29zcGFyazovL3VzL01FU1NBR0U"}}',
        {},
        None,
        "messages.created",
    ),
    (
        "clickup",
        b'{"webhook_id": "7689a169-a000-4985-8676-6902b96d6627", "event": "taskCreated", '
        b'"task_id": "c0j", "history_items": [{"id": "2800763136717140857"}]}',
        {},
        None,
        "taskCreated",
    ),
    (
        "squarespace",
        b'{"id": "5f3e7a3c1b2d", "websiteId": "w1", "subscriptionId": "s1", '
        b'"topic": "order.create", "createdOn": "2026-12-02T21:00:00Z", "data": {}}',
        {},
        "5f3e7a3c1b2d",
        "order.create",
    ),
]


def _source(name: str) -> tuple[str, list[str], dict[str, Any]]:
    """A signing secret, and the source's secrets and options that verify it."""
    options, make = TABLE[name][3], TABLE[name][4]
    secret = make()
    if name in PUBLIC_HALF:
        return secret, [], {**options, "public_key": PUBLIC_HALF[name](secret)}
    return secret, [secret], options


def _provider_and_signed(name: str, body: bytes) -> tuple[Any, dict[str, str]]:
    secret, secrets, options = _source(name)
    provider = build_provider(load(name), secrets, options=options)
    headers = sign_request(name, body, secret, event_id="msg_fixed", options=options)
    return provider, headers


@pytest.mark.parametrize(
    ("name", "body", "extra", "event_id", "event_type"),
    ROWS,
    ids=[f"{row[0]}-{i}" for i, row in enumerate(ROWS)],
)
def test_event_id_and_type_come_from_where_the_provider_puts_them(
    name: str, body: bytes, extra: dict[str, str], event_id: str | None, event_type: str
) -> None:
    provider, headers = _provider_and_signed(name, body)

    event = provider.verify(make_request(body, {**headers, **extra}))

    replay_key = _hash(body) if name in REPLAY_KEYED else None
    if replay_key is not None and name == "shopify":  # keyed per topic (replays_per_type)
        replay_key = _hash(f"{event_type}\n{replay_key}".encode())
    assert event == VerifiedEvent(event_id or _hash(body), event_type, replay_key=replay_key)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("jira", b'{"no": "type"}'),
        ("coinbase", b'{"event": {"id": "1"}}'),
        ("gocardless", b'{"events": [{"id": "EV1", "action": "created"}]}'),
        ("razorpay", b'{"payload": {}}'),
        ("onfido", b'{"payload": {"object": {"id": "c"}}}'),
        ("moderntreasury", b'{"data": {}}'),
        ("easypost", b'{"id": "evt_1"}'),
        ("paystack", b'{"data": {"id": 1}}'),
        ("checkout", b'{"id": "evt_1"}'),
        ("webex", b'{"event": "created"}'),
        ("clickup", b'{"task_id": "c0j"}'),
        ("squarespace", b'{"id": "n1"}'),
        ("meta", b'{"entry": []}'),
        ("paddle", b'{"event_id": "e"}'),
        ("hubspot", b'[{"eventId": 1}]'),
        ("sendgrid", b"{}"),
    ],
)
def test_signed_body_without_a_type_is_malformed(name: str, body: bytes) -> None:
    provider, headers = _provider_and_signed(name, body)

    with pytest.raises(Malformed):
        provider.verify(make_request(body, headers))


def test_linear_body_timestamp_older_than_a_minute_is_stale() -> None:
    now = time.time()
    body = json.dumps(
        {"type": "Issue", "action": "create", "webhookTimestamp": int(now * 1000) - 61_000}
    )
    provider, headers = _provider_and_signed("linear", body.encode())

    with pytest.raises(StaleTimestamp):
        provider.verify(make_request(body.encode(), headers, received_at=now))


@pytest.mark.parametrize("name", ["discord", "sendgrid", "zendesk"])
@pytest.mark.parametrize("skew", [-86_400 * 30, -301, +301])
def test_signed_timestamp_is_held_to_five_minutes_by_default(name: str, skew: int) -> None:
    # Issue 9, item 10: these sign their timestamp, yet accepted month-old requests.
    secret, secrets, options = _source(name)
    body = TABLE[name][0]
    now = int(time.time())
    headers = sign_request(name, body, secret, timestamp=now + skew, options=options)
    request = make_request(body, headers, received_at=now)

    with pytest.raises(StaleTimestamp):
        build_provider(load(name), secrets, options=options).verify(request)
    recent = sign_request(name, body, secret, timestamp=now - 299, options=options)
    fresh = build_provider(load(name), secrets, options=options)
    assert isinstance(fresh.verify(make_request(body, recent, received_at=now)), VerifiedEvent)


@pytest.mark.parametrize("name", ["discord", "sendgrid", "zendesk"])
def test_tolerance_zero_turns_the_timestamp_check_off(name: str) -> None:
    secret, secrets, options = _source(name)
    body = TABLE[name][0]
    old = int(time.time()) - 86_400
    headers = sign_request(name, body, secret, timestamp=old, options=options)

    lax = build_provider(load(name), secrets, options=options, tolerance_seconds=0)
    assert isinstance(lax.verify(make_request(body, headers)), VerifiedEvent)
