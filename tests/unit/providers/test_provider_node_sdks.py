"""Round trips with providers' own code where it exists only for Node (no Python SDK verifies).

The SDKs are pinned in tests/unit/providers/node/package.json; `npm ci` there installs them.
Without `node` or those modules these tests fail, naming the command, instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from providers import load
from providers.base import VerifiedEvent
from providers.errors import InvalidSignature, StaleTimestamp
from providers.testing import build_provider, make_request, sign_request

NODE_DIR = Path(__file__).parent / "node"


def _node(script: str, job: dict[str, Any]) -> Any:
    node = shutil.which("node")
    assert node is not None, "these tests run the providers' Node SDKs: install nodejs (>= 18)"
    installed = NODE_DIR / "node_modules"
    assert installed.is_dir(), f"the Node SDKs are not installed: run `npm ci --prefix {NODE_DIR}`"
    done = subprocess.run(
        [node, str(NODE_DIR / script)],
        input=json.dumps(job).encode(),
        capture_output=True,
        cwd=NODE_DIR,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


# --- Contentful: @contentful/node-apps-toolkit's signRequest / verifyRequest -------------------

CONTENTFUL_HOST = "https://hooks.example.com"
#: Paths as configured at Contentful: plain, with a query, and with what the toolkit escapes.
CONTENTFUL_PATHS = [
    "/webhooks/cms",
    "/webhooks/cms?space=s1&env=master",
    "/webhooks/caf\u00e9 cms?q=a b&r=%2F&s=x+y",
]
CONTENTFUL_BODY = (
    b'{"sys": {"id": "5KsDBWseXY6QegucYAoacS", "type": "Entry", "version": 7},'
    b' "fields": {"title": {"en-US": "caf\xc3\xa9 \\u2603"}}}'
)


def _contentful_secret() -> str:
    return os.urandom(32).hex()  # Contentful's secrets are 64 characters


def _contentful_verify(
    secret: str, path: str, headers: dict[str, str], body: bytes, received_at: float
) -> Any:
    provider = build_provider(
        load("contentful"), [secret], options={"public_url": CONTENTFUL_HOST + path}
    )
    request = make_request(
        body, headers, received_at=received_at, url="http://gateway.internal/webhooks/cms"
    )
    return provider.verify(request)


@pytest.mark.parametrize("path", CONTENTFUL_PATHS)
def test_contentful_toolkit_accepts_our_signature_and_refuses_it_tampered(path: str) -> None:
    secret = _contentful_secret()
    options = {"public_url": CONTENTFUL_HOST + path}
    ours = sign_request("contentful", CONTENTFUL_BODY, secret, options=options)
    request = {"method": "POST", "path": path, "headers": ours, "body": CONTENTFUL_BODY.decode()}

    accepted = _node("contentful.cjs", {"op": "verify", "secret": secret, "request": request})
    tampered = {**request, "body": CONTENTFUL_BODY.decode() + " "}
    refused = _node("contentful.cjs", {"op": "verify", "secret": secret, "request": tampered})
    stranger = {"op": "verify", "secret": _contentful_secret(), "request": request}
    other = _node("contentful.cjs", stranger)

    assert (accepted, refused, other) == (True, False, False)


def test_contentful_toolkit_finds_our_hour_old_signature_expired() -> None:
    secret = _contentful_secret()
    options = {"public_url": CONTENTFUL_HOST + CONTENTFUL_PATHS[0]}
    old = int(time.time()) - 3600
    ours = sign_request("contentful", CONTENTFUL_BODY, secret, timestamp=old, options=options)
    request = {"method": "POST", "path": CONTENTFUL_PATHS[0], "headers": ours, "body": "{}"}

    answer = _node("contentful.cjs", {"op": "verify", "secret": secret, "request": request})

    assert answer == {"error": "ExpiredRequestException"}


@pytest.mark.parametrize("path", CONTENTFUL_PATHS)
def test_contentful_toolkit_signature_over_extra_headers_verifies(path: str) -> None:
    secret = _contentful_secret()
    now_ms = int(time.time() * 1000)
    extra = {
        "X-Contentful-Topic": "ContentManagement.Entry.publish",
        "X-Contentful-Webhook-Name": "  cms sync  ",
        "Content-Type": "application/vnd.contentful.management.v1+json",
    }
    request = {"method": "POST", "path": path, "headers": extra, "body": CONTENTFUL_BODY.decode()}
    signed = _node(
        "contentful.cjs",
        {"op": "sign", "secret": secret, "request": request, "timestamp": now_ms},
    )
    headers = {**extra, **signed}

    event = _contentful_verify(secret, path, headers, CONTENTFUL_BODY, now_ms / 1000)
    retitled = {**headers, "X-Contentful-Webhook-Name": "another"}  # a signed header changed

    assert isinstance(event, VerifiedEvent)
    assert event.type == "ContentManagement.Entry.publish"
    assert "x-contentful-topic" in signed["x-contentful-signed-headers"].split(",")
    with pytest.raises(InvalidSignature):
        _contentful_verify(secret, path, retitled, CONTENTFUL_BODY, now_ms / 1000)
    with pytest.raises(InvalidSignature):
        _contentful_verify(_contentful_secret(), path, headers, CONTENTFUL_BODY, now_ms / 1000)
    with pytest.raises(StaleTimestamp):
        _contentful_verify(secret, path, headers, CONTENTFUL_BODY, now_ms / 1000 + 31)
