"""`publish_frames` lays out exactly the bytes pamqp marshals for a mandatory publish."""

from __future__ import annotations

from datetime import UTC, datetime

import pamqp.frame
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pamqp.body import ContentBody
from pamqp.commands import Basic
from pamqp.header import ContentHeader

from gateway.amqp_encoding import EventProperties
from gateway.confirms import publish_frames, shortstr


def _pamqp(
    channel: int, exchange: str, key: str, props: Basic.Properties, body: bytes, most: int
) -> bytes:
    frames: list[object] = [
        Basic.Publish(exchange=exchange, routing_key=key, mandatory=True),
        ContentHeader(0, len(body), props),
    ]
    frames += [ContentBody(body[i : i + most]) for i in range(0, len(body), most)]
    return b"".join(pamqp.frame.marshal(frame, channel) for frame in frames)  # type: ignore[arg-type]


PROPERTIES = EventProperties(
    content_type="application/json",
    delivery_mode=2,
    message_id="evt_1",
    timestamp=datetime(2026, 12, 2, tzinfo=UTC),
    app_id="hookgate",
    headers={"hookgate-source": "stripe", "hookgate-http-headers": {"user-agent": "Stripe/1.0"}},
)


@given(
    channel=st.integers(1, 65535),
    exchange=st.from_regex(r"[A-Za-z0-9_.:-]{0,60}", fullmatch=True),  # pamqp checks names
    key=st.text(max_size=60),
    body=st.binary(max_size=600),
    most=st.integers(1, 200),
)
def test_the_frames_are_pamqps_bytes(
    channel: int, exchange: str, key: str, body: bytes, most: int
) -> None:
    ours = publish_frames(channel, shortstr(exchange), key, PROPERTIES.marshal(), body, most)
    assert b"".join(ours) == _pamqp(channel, exchange, key, PROPERTIES, body, most)


def test_a_body_is_split_at_the_frame_limit_and_an_empty_body_has_no_body_frame() -> None:
    frames = publish_frames(1, shortstr("webhooks"), "k", b"\x00\x00", b"x" * 10, 4)
    assert [len(frame) for frame in frames[3::3]] == [4, 4, 2]  # the three chunks
    assert len(publish_frames(1, shortstr("webhooks"), "k", b"\x00\x00", b"", 4)) == 2


def test_a_short_string_longer_than_255_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="255"):
        shortstr("é" * 128)
