"""Helpers shared by the tests of the issue-14 HMAC senders (sender samples, named digests)."""

from __future__ import annotations

import hashlib
from typing import Any

from providers import load
from providers.testing import build_provider, make_request
from tests.unit.providers._catalogue import WEBSUB_TOPIC

SECRET = "hmac2-secret-0123456789"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def verify(name: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> Any:
    """`name` built with SECRET (or `secret=`) and `options=` (WebSub: its test topic), then
    verifying the request; the remaining keywords go to `make_request`."""
    options = kwargs.pop("options", {"topics": [WEBSUB_TOPIC]} if name == "websub" else None)
    provider = build_provider(load(name), [kwargs.pop("secret", SECRET)], options=options)
    return provider.verify(make_request(body, headers, **kwargs))
