"""Round trips with the senders' own Python SDKs for the providers added by the hmac1 slice.

Pusher Channels: `pusher` 3.3.4's `Pusher.validate_webhook` (what its users call on a webhook)
accepts our signatures, and its `pusher.signature.sign` (the HMAC it checks with) signs bodies
we accept; both refuse a `time_ms` more than five minutes off, and so do we.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pusher
import pytest
from pusher.signature import sign as pusher_sign

from providers import InvalidSignature, StaleTimestamp, VerifiedEvent, load
from providers.testing import build_provider, make_request, sign_request

PUSHER_KEY = "278d425bdf160c739803"


def _pusher_body(events: list[dict[str, Any]], skew_ms: int = 0) -> str:
    return json.dumps({"time_ms": int(time.time() * 1000) + skew_ms, "events": events})


def _pusher_verify(secret: str, body: str, signature: str) -> Any:
    provider = build_provider(load("pusher"), [secret])
    headers = {"x-pusher-key": PUSHER_KEY, "x-pusher-signature": signature}
    return provider.verify(make_request(body.encode(), headers))


def _sdk(secret: str) -> pusher.Pusher:
    return pusher.Pusher(app_id="1", key=PUSHER_KEY, secret=secret, cluster="eu")


OCCUPIED = [{"name": "channel_occupied", "channel": "private-room-1"}]
MIXED = [
    {"name": "member_added", "channel": "presence-r", "user_id": "u1"},
    {"name": "client_event", "channel": "private-r", "event": "client-typing", "data": "{}"},
]


@pytest.mark.parametrize("events", [OCCUPIED, MIXED])
def test_pusher_sdk_accepts_our_signature_and_refuses_it_tampered(
    events: list[dict[str, Any]],
) -> None:
    secret = os.urandom(10).hex()
    body = _pusher_body(events)
    ours = sign_request("pusher", body.encode(), secret)["x-pusher-signature"]

    accepted = _sdk(secret).validate_webhook(PUSHER_KEY, ours, body)

    assert accepted == json.loads(body)
    assert _sdk(secret).validate_webhook(PUSHER_KEY, ours, body + " ") is None
    assert _sdk(secret + "x").validate_webhook(PUSHER_KEY, ours, body) is None


@pytest.mark.parametrize(("events", "kind"), [(OCCUPIED, "channel_occupied"), (MIXED, "batch")])
def test_pusher_sdk_signature_verifies_here(events: list[dict[str, Any]], kind: str) -> None:
    secret = os.urandom(10).hex()
    body = _pusher_body(events)

    event = _pusher_verify(secret, body, pusher_sign(secret, body))

    assert isinstance(event, VerifiedEvent)
    assert event.type == kind
    with pytest.raises(InvalidSignature):
        _pusher_verify(secret, body, pusher_sign(secret + "x", body))


@pytest.mark.parametrize("skew_ms", [-301_000, 301_000])
def test_pusher_time_ms_more_than_five_minutes_off_is_refused_by_both(skew_ms: int) -> None:
    secret = os.urandom(10).hex()
    body = _pusher_body(OCCUPIED, skew_ms)
    signature = pusher_sign(secret, body)

    assert _sdk(secret).validate_webhook(PUSHER_KEY, signature, body) is None
    with pytest.raises(StaleTimestamp):
        _pusher_verify(secret, body, signature)
    near = _pusher_body(OCCUPIED, skew_ms // 301_000 * 290_000)
    assert _sdk(secret).validate_webhook(PUSHER_KEY, pusher_sign(secret, near), near) is not None
    assert isinstance(_pusher_verify(secret, near, pusher_sign(secret, near)), VerifiedEvent)
