"""The fast property encoder produces exactly pamqp's bytes, and falls back outside its shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pamqp.commands import Basic
from pamqp.header import ContentHeader

from gateway.amqp_encoding import EventProperties

keys = st.text(min_size=1, max_size=40).filter(lambda k: len(k.encode()) <= 128)
values = st.text(max_size=300)
tables = st.dictionaries(keys, st.one_of(values, st.dictionaries(keys, values, max_size=8)))
shortstrs = st.text(max_size=80).filter(lambda s: len(s.encode()) <= 255)
stamps = st.integers(min_value=0, max_value=2**34).map(lambda t: datetime.fromtimestamp(t, UTC))


@settings(max_examples=300, deadline=None)
@given(
    content_type=st.one_of(st.none(), shortstrs),
    headers=tables,
    message_id=shortstrs,
    timestamp=stamps,
    delivery_mode=st.sampled_from([1, 2]),
)
def test_fast_marshal_is_byte_identical_to_pamqp(
    content_type: str | None,
    headers: dict[str, object],
    message_id: str,
    timestamp: datetime,
    delivery_mode: int,
) -> None:
    fields = {
        "content_type": content_type,
        "headers": headers,
        "delivery_mode": delivery_mode,
        "message_id": message_id,
        "timestamp": timestamp,
        "app_id": "hookgate",
    }
    fast = EventProperties(**fields).marshal()
    assert fast == Basic.Properties(**fields).marshal()
    decoded = ContentHeader()
    decoded.unmarshal(ContentHeader(0, 0, EventProperties(**fields)).marshal())
    assert decoded.properties.headers == headers
    assert decoded.properties.message_id == (message_id or None)


def test_values_outside_the_fast_shape_fall_back_to_pamqp() -> None:
    fields = {"headers": {"n": 7, "flag": True, "list": ["a"]}, "priority": 3, "message_id": "x"}
    assert EventProperties(**fields).marshal() == Basic.Properties(**fields).marshal()


def test_overlong_message_id_is_refused_like_pamqp_does() -> None:
    with pytest.raises(TypeError) as pamqp_error:
        Basic.Properties(message_id="x" * 256).marshal()
    with pytest.raises(TypeError) as our_error:
        EventProperties(message_id="x" * 256).marshal()
    assert str(our_error.value) == str(pamqp_error.value)
