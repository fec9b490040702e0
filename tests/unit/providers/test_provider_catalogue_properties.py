"""Property tests for every catalogue provider, so for every family (HMAC scheme engine,
Standard Webhooks senders, asymmetric, static token, Twilio, Mailgun).

Whatever arrives — arbitrary header values, arbitrary bodies, signed or not, GET or POST with
any query — `verify` answers with an event, a handshake or a `VerificationError`, never with
anything else (the gateway answers that 500). Example counts are small: there are many providers.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers import CannotSign, Handshake, Provider, VerificationError, VerifiedEvent, load
from providers.builtin.graph import sign_body as graph_sign_body
from providers.builtin.mailgun import sign_body
from providers.builtin.parsed_fields import sign_body as adyen_sign_body
from providers.testing import build_provider, make_request, sign_request
from tests.unit.providers._catalogue import (
    BODY_SIGNING,
    PUBLIC_HALF,
    SNS_OPTIONS,
    TABLE,
    key_option,
    rsa_pkcs8,
    sns_sign_body,
)
from tests.unit.providers._catalogue import signed as signed_request

NAMES = sorted([*TABLE, "mailgun", "adyen", "microsoft-graph", "aws-sns"])
PROPERTIES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

header_values = st.one_of(
    st.text(st.characters(max_codepoint=255), max_size=60),
    st.integers(min_value=-(10**16), max_value=10**16).map(str),
    st.from_regex(
        r"(t=|ts=)?[0-9]{0,13}[,;]?(v1=|h1=|v0=|sha256=|v1,)?[A-Za-z0-9+/=]{0,60}", fullmatch=True
    ),
    st.sampled_from(["", "Basic Og==", "2021-07-25T10:00:00Z", "a.b.c", "eyJ.eyJ.AA"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children)
    ),
    max_leaves=8,
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.sampled_from(
        [
            b'{"type": "url_verification", "challenge": 1}',
            b'{"event": "endpoint.url_validation", "payload": {"plainToken": null}}',
            b'{"events": []}',
            b'{"type": 1}',
            b'{"event": 5, "type": 0}',
            b"[]",
            b'[{"eventId": true}]',
            b'{"signature": {"timestamp": "1", "token": "t", "signature": "s"}}',
            b'{"value": [{"clientState": "graph-client-state", "changeType": 1}]}',
            b'[{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": 1}]',
        ]
    ),
)
queries = st.dictionaries(
    st.sampled_from(
        [
            *("hub.mode", "hub.verify_token", "hub.challenge", "challenge", "bodySHA256"),
            *("validationToken", "code"),  # Microsoft Graph's check; Event Grid's URL secret
        ]
    ),
    st.text(max_size=20),
)


def _setup(name: str) -> tuple[Provider, str, dict[str, Any]]:
    if name == "mailgun":
        secret, options = "mailgun-key", {}
        return build_provider(load(name), [secret]), secret, options
    if name == "adyen":
        secret, options = "44782def547aaa06c910c43932b1eb0c", {}
        return build_provider(load(name), [secret]), secret, options
    if name == "microsoft-graph":  # the secret is each notification's clientState
        secret, options = "graph-client-state", {}
        return build_provider(load(name), [secret]), secret, options
    if name == "aws-sns":  # signs inside the body, with a certificate pinned for its key
        options, secret = dict(SNS_OPTIONS), rsa_pkcs8()
    else:
        _, _, _, options, make_secret = TABLE[name]
        secret = make_secret()
    public = PUBLIC_HALF.get(name)
    if public is not None:
        options = {**options, key_option(name): [public(secret)]}
        return build_provider(load(name), [], options=options), secret, options
    return build_provider(load(name), [secret], options=options), secret, options


def _check(provider: Provider, request: Any) -> None:
    try:
        outcome = provider.verify(request)
    except VerificationError:
        return
    assert isinstance(outcome, VerifiedEvent | Handshake)
    if isinstance(outcome, VerifiedEvent):
        assert isinstance(outcome.id, str)
        assert outcome.id
        assert isinstance(outcome.type, str)
        assert outcome.type


@pytest.mark.parametrize("name", NAMES)
def test_arbitrary_requests_never_raise_anything_else(name: str) -> None:
    provider, secret, options = _setup(name)
    now = int(time.time())
    signed_names = sorted(sign_request(name, b"{}", secret, timestamp=now, options=options))

    @PROPERTIES
    @given(
        body=bodies,
        signed=st.booleans(),
        extra=st.dictionaries(st.sampled_from(signed_names), header_values),
        method=st.sampled_from(["POST", "POST", "GET", "HEAD", "OPTIONS"]),
        query=queries,
        skew=st.sampled_from([0, 0, -(10**6), 10**6]),
    )
    def check(
        body: bytes,
        signed: bool,
        extra: dict[str, str],
        method: str,
        query: dict[str, str],
        skew: int,
    ) -> None:
        headers: dict[str, str] = {}
        if signed:
            if name == "mailgun":
                # Not JSON, or JSON orjson cannot write back (integers past 64 bits): unsigned.
                with contextlib.suppress(ValueError, TypeError):
                    body = sign_body(json.loads(body), secret, now + skew)
            if name == "adyen":  # signs the items of a notification; any other body: unsigned
                with contextlib.suppress(ValueError, TypeError):
                    body = adyen_sign_body(json.loads(body), secret)
            if name in BODY_SIGNING:  # its own `signed_body` wraps the body; unsigned if it cannot
                with contextlib.suppress(CannotSign):
                    body, _ = signed_request(
                        name, body, secret, timestamp=now + skew, options=options
                    )
            if name == "microsoft-graph":  # a notification collection; any other body: as is
                with contextlib.suppress(ValueError, TypeError):
                    body = graph_sign_body(body, secret)
            if name == "aws-sns":  # the body becomes the signed envelope's Message (UTF-8)
                with contextlib.suppress(CannotSign):
                    body = sns_sign_body(body, secret, now + skew)
            try:
                headers = sign_request(name, body, secret, timestamp=now + skew, options=options)
            except ValueError:  # a body the signer cannot sign (Twilio: a form that is not UTF-8)
                headers = {}
        request = make_request(
            body,
            {**headers, **extra},
            method=method,
            query=query,
            received_at=now,
            url="https://gateway.test/webhooks/x"
            + ("?bodySHA256=00" if "bodySHA256" in query else ""),
        )
        _check(provider, request)

    check()
