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
from providers.errors import InvalidSignature, Malformed, StaleTimestamp
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


# --- Hygraph: @hygraph/utils' generateWebhookSignature / verifyWebhookSignature ----------------

#: Bodies whose escaping JSON.stringify and Python's json must agree on: quotes, backslashes,
#: every control character, DEL, U+2028/2029, non-ASCII in and beyond the BMP, a BOM.
HYGRAPH_BODIES = [
    '{"operation":"publish","data":{"__typename":"Post","id":"ckv1","stage":"PUBLISHED"}}',
    '{"operation":"update","data":{"title":"say \\"hi\\" \\\\ \\/ \\n","raw":"a\\"b\\\\c"}}',
    '{"operation":"create","data":{"t":"' + "".join(map(chr, range(32))) + '\x7f"}}',
    '{"operation":"publish","data":{"t":"line\u2028para\u2029caf\u00e9 \u2603 \U0001f600"}}',
    '\ufeff{"operation":"delete",\r\n\t"data": {"id": "p1"}}\n',
]


def _hygraph(secret: str, body: bytes, headers: dict[str, str], at: float | None = None) -> Any:
    provider = build_provider(load("hygraph"), [secret])
    return provider.verify(make_request(body, headers, received_at=at))


def test_hygraph_own_test_suite_signatures_verify_here() -> None:
    # The package's index.test.js, run as is (its jest cases), records every signature it makes.
    run = _node("hygraph.cjs", {"op": "cases"})
    assert len(run["cases"]) == 5, run["cases"]
    assert len(run["generated"]) == 5

    for case in run["generated"]:
        body, headers = case["payload"].encode(), {"gcms-signature": case["signature"]}
        signed_at = int(case["signature"].rpartition("t=")[2]) / 1000
        outcome: Any
        try:
            outcome = _hygraph(case["secret"], body, headers, signed_at)
        except Malformed as err:  # verified; the suite's `{"hello":"world"}` has no operation
            outcome = err
        assert isinstance(outcome, VerifiedEvent | Malformed), case
        assert f"env={case['environment']}" in case["signature"]
        with pytest.raises(InvalidSignature):
            _hygraph(case["secret"] + "x", body, headers, signed_at)
        with pytest.raises(InvalidSignature):
            _hygraph(case["secret"], body + b" ", headers, signed_at)
    large = max(run["generated"], key=lambda case: len(case["payload"]))
    assert len(large["payload"]) > 4000  # the "large raw payload (4KB)" case is among them


@pytest.mark.parametrize("text", HYGRAPH_BODIES)
def test_hygraph_sdk_accepts_our_signature_and_refuses_it_tampered(text: str) -> None:
    secret = os.urandom(16).hex()
    ours = sign_request("hygraph", text.encode(), secret)["gcms-signature"]

    accepted = _node(
        "hygraph.cjs", {"op": "verify", "secret": secret, "rawPayload": text, "signature": ours}
    )
    tampered = _node(
        "hygraph.cjs",
        {"op": "verify", "secret": secret, "rawPayload": text + " ", "signature": ours},
    )

    assert (accepted, tampered) == (True, False)


@pytest.mark.parametrize("environment", ["master", "staging-2"])
@pytest.mark.parametrize("text", HYGRAPH_BODIES)
def test_hygraph_sdk_signature_verifies_here(text: str, environment: str) -> None:
    secret = os.urandom(16).hex()
    job = {"op": "sign", "secret": secret, "rawPayload": text, "environmentName": environment}
    headers = {"gcms-signature": _node("hygraph.cjs", job)}

    moved = headers["gcms-signature"].replace(f"env={environment}", "env=other")

    try:
        event = _hygraph(secret, text.encode(), headers)
    except Malformed:  # verified; raw controls in a string, or a BOM, are no JSON to read
        assert "\x00" in text or text.startswith("\ufeff")
    else:
        assert isinstance(event, VerifiedEvent)
        assert event.type in {"publish", "update"}
    with pytest.raises(InvalidSignature):  # the environment is signed
        _hygraph(secret, text.encode(), {"gcms-signature": moved})
    with pytest.raises(StaleTimestamp):  # Hygraph's SDK checks no age; here an hour applies
        _hygraph(secret, text.encode(), headers, time.time() + 3601)


def test_hygraph_body_that_is_not_utf8_is_refused_before_anything_else() -> None:
    secret = os.urandom(16).hex()
    signed = sign_request("hygraph", b'{"operation":"publish"}', secret)

    with pytest.raises(InvalidSignature, match="not UTF-8"):
        _hygraph(secret, b'{"operation":"publish","x":"\xff"}', signed)


# --- Cashfree: cashfree-pg's PGVerifyWebhookSignature (its Python SDK's is the same code) -------

CASHFREE_BODY = (
    '{"data":{"order":{"order_id":"order_OFR_2","order_amount":2.00,"order_currency":"INR"},'
    '"payment":{"cf_payment_id":1107253861,"payment_status":"SUCCESS","payment_message":'
    '"Transaction successful"},"customer_details":{"customer_name":"Jos\u00e9"}},'
    '"event_time":"2026-12-03T13:29:12+05:30","type":"PAYMENT_SUCCESS_WEBHOOK"}'
)


def test_cashfree_sdk_accepts_our_signature_and_refuses_it_tampered() -> None:
    secret = "cfsk_ma_test_" + os.urandom(16).hex()
    ours = sign_request("cashfree", CASHFREE_BODY.encode(), secret)
    job = {
        "secret": secret,
        "signature": ours["x-webhook-signature"],
        "rawBody": CASHFREE_BODY,
        "timestamp": ours["x-webhook-timestamp"],
    }

    accepted = _node("cashfree.cjs", job)
    tampered = _node("cashfree.cjs", {**job, "rawBody": CASHFREE_BODY + " "})
    moved = _node("cashfree.cjs", {**job, "timestamp": str(int(job["timestamp"]) + 1)})
    stranger = _node("cashfree.cjs", {**job, "secret": secret + "x"})

    assert accepted == {"type": "PAYMENT_SUCCESS_WEBHOOK"}
    assert "error" in tampered
    assert "error" in moved
    assert "error" in stranger
    assert len(ours["x-webhook-timestamp"]) == 13  # milliseconds, as Cashfree's documents show
