"""Property tests: whatever arrives, a provider answers with an event or a VerificationError.

Anything else escaping `verify` is a bug the gateway answers 500, so hypothesis hunts for it with
arbitrary header values and bodies, both unsigned and correctly signed (the signed case reaches
the body parsing behind the signature check).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers import Provider, VerificationError, VerifiedEvent
from providers.testing import build_provider, make_request, sign_request

NOW = 1_700_000_000
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HMAC_OPTIONS = {
    "signature_header": "x-signature",
    "prefix": "sha256=",
    "event_id_pointer": "/data/id",
    "event_type_header": "x-event-type",
}
# name → (options, the headers the provider reads)
PROVIDERS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "stripe": ({}, ("stripe-signature",)),
    "github": ({}, ("x-hub-signature-256", "x-github-event", "x-github-delivery", "content-type")),
    "standard-webhooks": (
        {},
        (
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "svix-id",
            "svix-timestamp",
            "svix-signature",
        ),
    ),
    "hmac": (HMAC_OPTIONS, ("x-signature", "x-event-type")),
}
PROPERTIES = settings(max_examples=200, deadline=None)

header_values = st.one_of(
    st.text(max_size=80),
    st.text(st.characters(max_codepoint=255), max_size=80),  # what latin-1 decoding can yield
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
    st.from_regex(r"(t=[0-9]{0,12},)?(v1,|v1=|sha256=)[A-Za-z0-9+/=, ]{0,90}", fullmatch=True),
    st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "v1,", "t=,v1=", "sha256="]
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)
# Objects with the keys providers look for, usually of the right type, sometimes of any type.
field_values = st.one_of(st.text(min_size=1, max_size=20), st.integers(), json_values)
timestamps = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])).map(
        datetime.isoformat
    ),
    st.datetimes().map(datetime.isoformat),  # no offset: not RFC 3339
    field_values,
)
event_fields = {
    "id": field_values,
    "type": field_values,
    "action": field_values,
    "created": field_values,
    "timestamp": timestamps,
    "data": st.fixed_dictionaries({}, optional={"id": field_values}) | json_values,
}
json_events = st.one_of(
    st.fixed_dictionaries({}, optional=event_fields),
    st.fixed_dictionaries(event_fields),  # every field present: reaches the success path
)
# The stdlib encoder, not orjson: it also writes what orjson must refuse to read (integers
# beyond 64 bits, Infinity, escaped lone surrogates).
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    json_events.map(lambda event: json.dumps(event).encode()),
    json_events.map(lambda event: urlencode({"payload": json.dumps(event)}).encode()),
)


def _provider(name: str) -> Provider:
    return build_provider(_factory(name), [SECRET], options=PROVIDERS[name][0])


def _factory(name: str) -> Any:
    from providers import load

    return load(name)


def _check_outcome(provider: Provider, body: bytes, headers: dict[str, str]) -> None:
    try:
        outcome = provider.verify(make_request(body, headers, received_at=NOW))
    except VerificationError:
        return
    assert isinstance(outcome, VerifiedEvent)
    assert isinstance(outcome.id, str)
    assert outcome.id
    assert isinstance(outcome.type, str)
    assert outcome.type


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_arbitrary_headers_and_body_never_raise_anything_else(name: str) -> None:
    provider = _provider(name)
    names = PROVIDERS[name][1]

    @PROPERTIES
    @given(headers=st.dictionaries(st.sampled_from(names), header_values), body=bodies)
    def check(headers: dict[str, str], body: bytes) -> None:
        _check_outcome(provider, body, headers)

    check()


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_signed_arbitrary_body_and_metadata_never_raise_anything_else(name: str) -> None:
    provider = _provider(name)
    options, names = PROVIDERS[name]

    @PROPERTIES
    @given(
        body=bodies,
        event_id=st.none() | st.text(max_size=40),
        event_type=st.none() | st.text(max_size=40),
        extra=st.dictionaries(st.sampled_from(("content-type", *names)), header_values),
        overwrite=st.booleans(),
    )
    def check(
        body: bytes,
        event_id: str | None,
        event_type: str | None,
        extra: dict[str, str],
        overwrite: bool,
    ) -> None:
        signed = sign_request(
            name,
            body,
            SECRET,
            event_id=event_id,
            event_type=event_type,
            timestamp=NOW,
            options=options,
        )
        # Either add headers beside the valid ones, or overwrite some of them.
        headers = {**signed, **extra} if overwrite else {**extra, **signed}
        _check_outcome(provider, body, headers)

    check()
