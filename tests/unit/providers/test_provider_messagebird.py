"""MessageBird-Signature-JWT: MessageBird's own SDK both ways, and its test suite's 44 vectors.

The vectors (vectors/messagebird-webhook-signatures.json) are the cases of `messagebird`'s
`tests/test_request_validator/webhook_signature_test_data.json` (messagebird/python-rest-api
@2371520), all signed with one key and received at 2021-07-05T12:00:00+02:00.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from messagebird.error import ValidationError
from messagebird.request_validator import RequestValidator

from providers import InvalidSignature, StaleTimestamp, VerifiedEvent, load
from providers.errors import ProviderConfigError
from providers.testing import build_provider, make_request, sign_request

VECTORS = json.loads(
    (Path(__file__).parent / "vectors/messagebird-webhook-signatures.json").read_text()
)
VECTOR_KEY = "36efdd1aace2e26cd490f0d951138253bef2f7c6d34d18981da781555cc4cebb"
VECTOR_TIME = 1625479200  # 2021-07-05T12:00:00+02:00
HEADER = "messagebird-signature-jwt"
PUBLIC_URL = "https://hooks.example.com/webhooks/messagebird"
KEY = hashlib.sha256(b"messagebird-signing-key").hexdigest()
BODY = json.dumps(
    {
        "type": "message.updated",
        "contact": {"id": "9354647c5d4b4dc1b8a6fd8ebd5c3e4a", "msisdn": 31612345678},
        "conversation": {"id": "2e15efafec384e1c82e9842075e87beb", "status": "active"},
        "message": {"id": "6f3d7e5b7a1e4f8c9d0e1f2a3b4c5d6e", "status": "delivered"},
    }
).encode()


def _provider(url: str = PUBLIC_URL, key: str = KEY, **kw: Any) -> Any:
    return build_provider(load("messagebird"), [key], options={"public_url": url}, **kw)


def _vector_request(case: dict[str, Any]) -> tuple[Any, Any]:
    """The source (public_url without the query) and the request as the gateway receives it."""
    parts = urlsplit(case["url"])
    public = f"{parts.scheme}://{parts.netloc}{parts.path}"
    body = (case.get("payload") or "").encode()
    received = "https://gateway.internal/webhooks/mb" + (f"?{parts.query}" if parts.query else "")
    request = make_request(
        body,
        {HEADER: case["token"]},
        method=case["method"],
        url=received,
        received_at=VECTOR_TIME,
        query=dict(parse_qsl(parts.query)),
    )
    return _provider(public, VECTOR_KEY), request


@pytest.mark.parametrize("case", VECTORS, ids=[case["name"] for case in VECTORS])
def test_messagebird_sdk_test_suite_vectors(case: dict[str, Any]) -> None:
    provider, request = _vector_request(case)

    if case["valid"]:
        assert isinstance(provider.verify(request), VerifiedEvent)
        return
    # The SDK's reasons, as this gateway's refusals: a token outside nbf..exp is stale.
    refusal = (
        StaleTimestamp if "nbf" in case["reason"] or "exp" in case["reason"] else InvalidSignature
    )
    with pytest.raises(refusal):
        provider.verify(request)


def test_messagebird_vectors_cover_every_refusal_the_sdk_names() -> None:
    reasons = {case["reason"] for case in VECTORS if not case["valid"]}

    assert len(VECTORS) == 44
    assert {"invalid jwt: claim url_hash is invalid", "invalid jwt: signature is invalid"} < reasons


def test_messagebird_sdk_accepts_our_token_and_refuses_it_for_another_url_or_body() -> None:
    headers = sign_request("messagebird", BODY, KEY, options={"public_url": PUBLIC_URL})
    validator = RequestValidator(KEY)

    claims = validator.validate_signature(headers[HEADER], PUBLIC_URL, BODY)

    assert claims["iss"] == "MessageBird"
    assert claims["payload_hash"] == hashlib.sha256(BODY).hexdigest()
    with pytest.raises(ValidationError, match="url_hash"):
        validator.validate_signature(headers[HEADER], PUBLIC_URL + "?x=1", BODY)
    with pytest.raises(ValidationError, match="payload_hash"):
        validator.validate_signature(headers[HEADER], PUBLIC_URL, BODY + b" ")
    bodiless = sign_request("messagebird", b"", KEY, options={"public_url": PUBLIC_URL})
    assert "payload_hash" not in validator.validate_signature(bodiless[HEADER], PUBLIC_URL, b"")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_messagebird_token_minted_as_messagebird_does_verifies(alg: str) -> None:
    # MessageBird's side, as its test vectors are made: PyJWT (what its SDK verifies with).
    now = int(time.time())
    claims = {
        "iss": "MessageBird",
        "nbf": now,
        "exp": now + 60,
        "jti": "59a244dc-e9ad-4e23-9778-371faa238f72",
        "url_hash": hashlib.sha256(PUBLIC_URL.encode()).hexdigest(),
        "payload_hash": hashlib.sha256(BODY).hexdigest(),
    }
    token = jwt.encode(claims, KEY, algorithm=alg)

    event = _provider().verify(make_request(BODY, {"MessageBird-Signature-JWT": token}))

    assert isinstance(event, VerifiedEvent)
    assert event.type == "message.updated"
    assert event.id == hashlib.sha256(PUBLIC_URL.encode() + b"\n" + BODY).hexdigest()
    RequestValidator(KEY).validate_signature(token, PUBLIC_URL, BODY)


def test_messagebird_status_report_by_get_is_typed_by_its_query_and_identified_by_it() -> None:
    query = (
        "id=e8077d803532c0b5937c639b60216938&status=delivered&statusDatetime=2026-12-03T07:00:00Z"
    )
    url = f"{PUBLIC_URL}?{query}"
    token = sign_request("messagebird", b"", KEY, options={"public_url": url})[HEADER]
    request = make_request(
        b"",
        {HEADER: token},
        method="GET",
        url=f"https://gateway.internal/webhooks/mb?{query}",
        query=dict(parse_qsl(query)),
    )

    event = _provider().verify(request)

    assert isinstance(event, VerifiedEvent)
    assert event.type == "delivered"
    assert event.id == hashlib.sha256(url.encode() + b"\n").hexdigest()
    other = make_request(b"", {HEADER: token}, method="GET", url=f"{PUBLIC_URL}?id=x&status=failed")
    with pytest.raises(InvalidSignature):
        _provider().verify(other)


def test_messagebird_window_and_leeway() -> None:
    now = int(time.time())
    late = sign_request(
        "messagebird", BODY, KEY, timestamp=now - 62, options={"public_url": PUBLIC_URL}
    )
    early = sign_request(
        "messagebird", BODY, KEY, timestamp=now + 2, options={"public_url": PUBLIC_URL}
    )
    edge = sign_request(
        "messagebird", BODY, KEY, timestamp=now - 60, options={"public_url": PUBLIC_URL}
    )

    for headers in (late, early):
        with pytest.raises(StaleTimestamp):
            _provider().verify(make_request(BODY, headers, received_at=now))
    assert isinstance(_provider().verify(make_request(BODY, edge, received_at=now)), VerifiedEvent)
    lax = _provider(tolerance_seconds=0)
    assert isinstance(lax.verify(make_request(BODY, late, received_at=now)), VerifiedEvent)
    wide = _provider(tolerance_seconds=120)
    assert isinstance(wide.verify(make_request(BODY, late, received_at=now)), VerifiedEvent)


def test_messagebird_needs_public_url_and_a_token_with_its_issuer_and_window() -> None:
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.public_url: "):
        build_provider(load("messagebird"), [KEY])
    now = int(time.time())
    base = {
        "iss": "MessageBird",
        "nbf": now,
        "exp": now + 60,
        "url_hash": hashlib.sha256(PUBLIC_URL.encode()).hexdigest(),
        "payload_hash": hashlib.sha256(BODY).hexdigest(),
    }
    for drop in ("iss", "nbf", "exp", "url_hash", "payload_hash"):
        claims = {k: v for k, v in base.items() if k != drop}
        with pytest.raises(InvalidSignature):
            _provider().verify(make_request(BODY, {HEADER: jwt.encode(claims, KEY, "HS256")}))
    unsigned = jwt.encode(base, None, algorithm="none")
    with pytest.raises(InvalidSignature):
        _provider().verify(make_request(BODY, {HEADER: unsigned}))


def test_messagebird_reads_the_type_only_from_the_signed_query() -> None:
    # A public_url with its own query is what is signed: parameters added to the request's
    # query are covered by nothing, so they are never read.
    url = f"{PUBLIC_URL}?status=delivered"
    token = sign_request("messagebird", b"", KEY, options={"public_url": url})[HEADER]
    request = make_request(
        b"",
        {HEADER: token},
        method="GET",
        url="https://gateway.internal/webhooks/mb?status=failed&id=x",
        query={"status": "failed", "id": "x"},
    )

    event = _provider(url).verify(request)

    assert isinstance(event, VerifiedEvent)
    assert event.type == "delivered"
