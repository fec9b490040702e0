"""`hookgate send` signs for every shared-secret built-in; the request verifies with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.config import parse_config
from gateway.errors import GatewayError
from gateway.send import send
from providers import VerifiedEvent, load
from providers.testing import build_provider, make_request
from tests.unit.providers._catalogue import BODY_SIGNING, PUBLIC_HALF, TABLE

SHARED_SECRET = sorted(name for name in TABLE if name not in PUBLIC_HALF)


class _Response:
    status = 200

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self) -> bytes:
        return b'{"status":"accepted"}'


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    requests: list[Any] = []

    def urlopen(request: Any, timeout: float) -> _Response:
        requests.append(request)
        return _Response()

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return requests


@pytest.mark.parametrize("name", [*SHARED_SECRET, "mailgun"])
def test_send_output_verifies_with_the_real_provider(
    name: str, tmp_path: Path, posted: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    if name == "mailgun":
        secret, options, payload = "mg-key", {}, b'{"event-data": {"id": "e1", "event": "opened"}}'
    else:
        payload, _, _, options, make = TABLE[name]
        secret = make()
    source = {"provider": name, "secrets": [secret], **options}
    config = parse_config({"sources": {"src": source}}, env={})
    path = tmp_path / "payload"
    path.write_bytes(payload)

    assert send(config, "src", str(path), url=None, event_id=None, event_type=None) == 0

    (request,) = posted
    headers = {key.lower(): value for key, value in request.header_items()}
    if name == "twitch":  # sent by Twitch beside the signed ones; refines the type
        headers["twitch-eventsub-subscription-type"] = "channel.follow"
    provider = build_provider(load(name), [secret], options=options)
    event = provider.verify(make_request(request.data, headers, url=request.full_url))
    assert isinstance(event, VerifiedEvent)
    if name == "mailgun":
        assert (event.id, event.type) == ("e1", "opened")
        assert json.loads(request.data)["event-data"] == {"id": "e1", "event": "opened"}
    elif name in BODY_SIGNING:  # the payload, wrapped and signed by the provider's signed_body
        assert request.data != payload
    else:
        assert request.data == payload
    capsys.readouterr()


def test_send_for_an_asymmetric_provider_explains_why_it_cannot_sign(
    tmp_path: Path, posted: list[Any]
) -> None:
    source = {"provider": "discord", "public_key": "00" * 32}
    config = parse_config({"sources": {"src": source}}, env={})
    path = tmp_path / "payload"
    path.write_bytes(b"{}")

    with pytest.raises(GatewayError, match="verifies with a public key or certificate"):
        send(config, "src", str(path), url=None, event_id=None, event_type=None)
    assert posted == []
