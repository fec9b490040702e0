"""hookgate.message_auth: what verifies, and that no header value makes verification raise."""

from __future__ import annotations

import pytest

from hookgate import message_auth

KEY = b"k" * 32
BODY = b'{"id":"evt_1"}'
HEADERS: dict[str, object] = {
    "hookgate-source": "stripe",
    "hookgate-provider": "stripe",
    "hookgate-event-id": "evt_1",
    "hookgate-event-type": "invoice.paid",
    "hookgate-received-at": "2026-12-02T08:00:00.000Z",
    "hookgate-http-headers": {"content-type": "application/json"},
}


def _signed() -> dict[str, object]:
    return {**HEADERS, message_auth.HEADER: message_auth.sign(KEY, BODY, HEADERS)}


def test_a_signed_message_verifies_with_its_key_among_others() -> None:
    assert message_auth.verify([b"x" * 32, KEY], BODY, _signed())


@pytest.mark.parametrize(
    "claimed",
    [
        "v1=é",
        "v1=" + "é" * 64,
        b"v1=\xff\xfe",
        "v1=" + "0" * 63,
        "v1=" + "A" * 64,
        "v2=" + "0" * 64,
        "",
        17,
        None,
    ],
)
def test_a_malformed_signature_is_refused_never_raises(claimed: object) -> None:
    headers = {**HEADERS, message_auth.HEADER: claimed}
    assert message_auth.verify([KEY], BODY, headers) is False


@pytest.mark.parametrize(
    "change",
    [
        {"hookgate-event-type": "charge.refunded"},
        {"hookgate-source": "github"},
        {"hookgate-http-headers": {"content-type": "text/plain"}},
        {"hookgate-http-headers": "not a table"},
        {"hookgate-event-id": 5},
    ],
)
def test_a_changed_header_does_not_verify(change: dict[str, object]) -> None:
    assert not message_auth.verify([KEY], BODY, {**_signed(), **change})


def test_bookkeeping_headers_are_not_signed() -> None:
    headers = {**_signed(), "hookgate-attempt": 3, "hookgate-error-type": "Boom"}
    assert message_auth.verify([KEY], BODY, headers)


def test_values_that_arrive_as_bytes_verify_like_their_text() -> None:
    as_bytes = {k: v.encode() if isinstance(v, str) else v for k, v in _signed().items()}
    assert message_auth.verify([KEY], BODY, as_bytes)
