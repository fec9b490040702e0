"""Published vectors and documented constructions for coinify, recurly, msteams, circleci,
pagerduty, woocommerce, calcom, cashfree, alchemy and tailscale.

- Coinify: the signature its documentation publishes (coinify.readme.io, "Webhook Signature").
- Recurly: recurly-client-ruby's `spec/recurly/webhooks_spec.rb` (its fixed, five-minute-stale
  header) and the negative cases of that spec and of recurly-client-go's `webhook_test.go`.
- Microsoft Teams: no body with a signature is published (the docs print a key and a header
  but not the message); Microsoft's own samples (OfficeDev/msteams-samples-outgoing-webhook-
  nodejs `app.js`, microsoft-teams-sample-outgoing-webhook `AuthProvider.cs`) key HMAC-SHA256
  with the base64-decoded token and compare `"HMAC " + base64(digest)`: that construction,
  computed with the standard library, over the samples' example token.
- CircleCI: the four signatures its webhook documentation publishes.
- PagerDuty: go-pagerduty's `webhookv3` test vectors (its official Go SDK's verifier).
- WooCommerce: no vector or SDK verifier; its own source (`WC_Webhook::generate_signature`,
  `deliver_ping`) computes base64 HMAC-SHA256 of the body and pings unsigned on save.
- Cal.com: no vector or SDK verifier; its own source (`createWebhookSignature`) computes hex
  HMAC-SHA256 of the body.
- Cashfree: its SDKs' construction (the Node SDK itself runs in test_provider_node_sdks.py).
- Alchemy Notify: no vector or SDK verifier; its official webhook examples' construction.
- Tailscale: no vector; its example verifier's construction (tailscale `docs/webhooks`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers import (
    InvalidSignature,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
    load,
)
from providers.base import Handshake, VerifiedEvent
from providers.builtin.timestamped_more import hygraph_digests
from providers.testing import build_provider, make_request, sign_request

VECTORS = Path(__file__).parent / "vectors"


def _verify(
    name: str,
    body: bytes,
    headers: dict[str, str],
    secrets: list[str],
    at: float | None = None,
    *,
    tolerance: float | None = None,
) -> Any:
    provider = build_provider(load(name), secrets, tolerance_seconds=tolerance)
    return provider.verify(make_request(body, headers, received_at=at))


# --- Coinify ---------------------------------------------------------------------------------

COINIFY_SECRET = "my-shared-secret"
COINIFY_BODY = b'{"examplePayload":true}'
COINIFY_SIGNATURE = "bcdbb89e3031905f3cc1a20d16b5f969a17a7d8fa0c26e4a807c2193402d66f4"


def test_coinify_documented_signature() -> None:
    headers = {"x-coinify-webhook-signature": COINIFY_SIGNATURE}

    ours = sign_request("coinify", COINIFY_BODY, COINIFY_SECRET)["x-coinify-webhook-signature"]

    assert ours == COINIFY_SIGNATURE
    with pytest.raises(Malformed):  # verified, but the example is no event: no `event`
        _verify("coinify", COINIFY_BODY, headers, [COINIFY_SECRET])
    with pytest.raises(InvalidSignature):
        _verify("coinify", COINIFY_BODY, headers, ["my-shared-secreT"])
    with pytest.raises(InvalidSignature):
        _verify("coinify", b'{"examplePayload":false}', headers, [COINIFY_SECRET])


# --- Recurly ---------------------------------------------------------------------------------

RECURLY_SECRET = "354fab5bd35f5a0d50845ee7e30165244468b13c2c343f104e4e730a59326d9d"
RECURLY_OTHER = "ade46dda4474b0ae57dec22d35b9cd526b260d235f7e200c1d93f156000fe396"
RECURLY_BODY = (
    b'{"id":"rjxwmwedwqug","object_type":"account","site_id":"qc326l1hl8k9",'
    b'"event_type":"created","event_time":"2022-09-13T21:18:40Z",'
    b'"account_code":"adfas23zzz14123"}'
)
RECURLY_STALE = "1663103925004,ad24699f3beaa24c9af2cc7ada3ce4c835da0090194241b9d3add83d27f14bc3"
RECURLY_AT = 1663103925.004


def _recurly(header: str, *, at: float | None = None, body: bytes = RECURLY_BODY) -> Any:
    return _verify("recurly", body, {"recurly-signature": header}, [RECURLY_SECRET], at)


def test_recurly_ruby_spec_vector_verifies_when_fresh_and_is_stale_five_minutes_on() -> None:
    event = _recurly(RECURLY_STALE, at=RECURLY_AT)

    assert event == VerifiedEvent("rjxwmwedwqug", "account.created")
    assert _recurly(RECURLY_STALE, at=RECURLY_AT + 299) == event
    with pytest.raises(StaleTimestamp):  # the spec: "raises by default" (5 min, its DEFAULT)
        _recurly(RECURLY_STALE)
    with pytest.raises(StaleTimestamp):
        _recurly(RECURLY_STALE, at=RECURLY_AT + 301)
    # "raises no error when tolerance is large enough": here `tolerance_seconds = 0`.
    provider = build_provider(load("recurly"), [RECURLY_SECRET], tolerance_seconds=0)
    headers = {"recurly-signature": RECURLY_STALE}
    assert provider.verify(make_request(RECURLY_BODY, headers)) == event


def test_recurly_ruby_spec_negatives() -> None:
    ts, signature = RECURLY_STALE.split(",")
    with pytest.raises(InvalidSignature):  # secrets mismatched
        _verify("recurly", RECURLY_BODY, {"recurly-signature": RECURLY_STALE}, ["key"], RECURLY_AT)
    with pytest.raises(InvalidSignature):  # payload body altered
        _recurly(RECURLY_STALE, at=RECURLY_AT, body=b"{}")
    with pytest.raises(InvalidSignature):  # header timestamp altered
        _recurly(f"{int(ts) + 1000},{signature}", at=RECURLY_AT)
    with pytest.raises(InvalidSignature):  # malformed timestamp
        _recurly(f"abc,{signature}", at=RECURLY_AT)
    with pytest.raises(InvalidSignature):  # no signatures in header
        _recurly(f"{ts},", at=RECURLY_AT)
    with pytest.raises(InvalidSignature):  # Go: timestamp and signature run together
        _recurly(ts + signature, at=RECURLY_AT)


def _recurly_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, "sha256").hexdigest()


def test_recurly_any_listed_signature_may_match_as_the_clients_do() -> None:
    now = str(int(time.time() * 1000))
    ours = _recurly_signature(RECURLY_SECRET, now, RECURLY_BODY)
    theirs = _recurly_signature(RECURLY_OTHER, now, RECURLY_BODY)

    assert isinstance(_recurly(f"{now},de1ec7ab1e,{ours}"), VerifiedEvent)  # Ruby's case
    assert isinstance(_recurly(f"{now},{theirs},{ours}"), VerifiedEvent)  # Go's: a rotation
    with pytest.raises(InvalidSignature):
        _recurly(f"{now},{theirs}")


def test_recurly_signer_writes_what_the_clients_parse() -> None:
    signed = sign_request("recurly", RECURLY_BODY, RECURLY_SECRET, timestamp=1663103925)

    assert signed["recurly-signature"] == (
        "1663103925000," + _recurly_signature(RECURLY_SECRET, "1663103925000", RECURLY_BODY)
    )


def test_recurly_ten_minutes_old_is_stale_as_in_the_go_client() -> None:
    old = str(int((time.time() - 600) * 1000))

    with pytest.raises(StaleTimestamp):
        _recurly(f"{old},{_recurly_signature(RECURLY_SECRET, old, RECURLY_BODY)}")


# --- Microsoft Teams -------------------------------------------------------------------------

#: The example security token in Microsoft's samples (AuthProvider.cs, "contoso").
TEAMS_TOKEN = "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA="
TEAMS_BODY = (
    b'{"type":"message","id":"1485983408511","timestamp":"2017-02-01T21:10:07.437Z",'
    b'"text":"<at>Hook</at> hello caf\xc3\xa9","from":{"name":"Megan"}}'
)


def _teams(header: str, secret: str = TEAMS_TOKEN, body: bytes = TEAMS_BODY) -> Any:
    return _verify("msteams", body, {"authorization": header}, [secret])


def test_msteams_samples_construction_with_the_base64_decoded_token() -> None:
    key = base64.b64decode(TEAMS_TOKEN)
    documented = base64.b64encode(hmac.digest(key, TEAMS_BODY, hashlib.sha256)).decode()
    keyed_as_text = hmac.digest(TEAMS_TOKEN.encode(), TEAMS_BODY, hashlib.sha256)

    assert sign_request("msteams", TEAMS_BODY, TEAMS_TOKEN)["authorization"] == f"HMAC {documented}"
    assert _teams(f"HMAC {documented}") == VerifiedEvent("1485983408511", "message")
    with pytest.raises(InvalidSignature):  # the token's text as the key: not Teams' way
        _teams(f"HMAC {base64.b64encode(keyed_as_text).decode()}")
    with pytest.raises(InvalidSignature):  # the samples compare the scheme `HMAC` exactly
        _teams(f"hmac {documented}")
    with pytest.raises(InvalidSignature):
        _teams(f"Bearer {documented}")
    with pytest.raises(InvalidSignature):
        _teams(f"HMAC {documented}", body=TEAMS_BODY + b" ")


def test_msteams_token_that_is_not_base64_is_a_config_error_naming_the_secret() -> None:
    with pytest.raises(ProviderConfigError, match=r"sources\.test\.secrets\[0\]") as err:
        build_provider(load("msteams"), ["not base64!"])

    assert "not base64!" not in str(err.value)


# --- CircleCI --------------------------------------------------------------------------------

#: CircleCI's webhook docs (circleci-docs `webhooks.md`, "Webhook payload signature"): body,
#: secret token, v1 signature; the last is its Python example's `foo`/`secret` case.
CIRCLECI_VECTORS = [
    (b"hello world", "secret", "734cc62f32841568f45715aeb9f4d7891324e6d948e4c6c60c0621cdac48623a"),
    (
        b"lalala",
        "another-secret",
        "daa220016c8f29a8b214fbfc3671aeec2145cfb1e6790184ffb38b6d0425fa00",
    ),
    (
        b"an-important-request-payload",
        "hunter123",
        "9be2242094a9a8c00c64306f382a7f9d691de910b4a266f67bd314ef18ac49fa",
    ),
    (b"foo", "secret", "773ba44693c7553d6ee20f61ea5d2757a9a4f4a44d2841ae4e95b52e4cd62db4"),
]


@pytest.mark.parametrize(("body", "secret", "signature"), CIRCLECI_VECTORS)
def test_circleci_documented_signatures(body: bytes, secret: str, signature: str) -> None:
    header = {"circleci-signature": f"v1={signature}"}

    assert sign_request("circleci", body, secret)["circleci-signature"] == f"v1={signature}"
    with pytest.raises(Malformed):  # verified, but the documents' bodies are no events
        _verify("circleci", body, header, [secret])
    with pytest.raises(InvalidSignature):
        _verify("circleci", body, header, [secret + "x"])
    with pytest.raises(InvalidSignature):  # its example's `v1=not-a-valid-signature`
        _verify("circleci", body, {"circleci-signature": "v1=not-a-valid-signature"}, [secret])


def test_circleci_reads_only_v1_among_versioned_signatures() -> None:
    body = b'{"id": "8bd71c28-4969-3677-8940-3e3a61c46660", "type": "job-completed"}'
    v1 = hmac.new(b"secret", body, "sha256").hexdigest()

    event = _verify("circleci", body, {"circleci-signature": f"v1={v1},v2=..., v3=..."}, ["secret"])

    assert event == VerifiedEvent("8bd71c28-4969-3677-8940-3e3a61c46660", "job-completed")
    with pytest.raises(InvalidSignature):  # the right digest under another version
        _verify("circleci", body, {"circleci-signature": f"v0={v1}"}, ["secret"])
    with pytest.raises(InvalidSignature):
        _verify("circleci", body, {"circleci-signature": v1}, ["secret"])


# --- PagerDuty -------------------------------------------------------------------------------

#: PagerDuty's Go SDK (go-pagerduty `webhookv3/webhookv3_test.go`): secret, body and signatures.
PAGERDUTY_SECRET = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"
PAGERDUTY_BODY = (VECTORS / "pagerduty-webhookv3-body.json").read_bytes()
PAGERDUTY_VALID = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"
PAGERDUTY_MISMATCH = "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5"


def _pagerduty(header: str | None, body: bytes = PAGERDUTY_BODY) -> Any:
    headers = {} if header is None else {"x-pagerduty-signature": header}
    return _verify("pagerduty", body, headers, [PAGERDUTY_SECRET])


def test_pagerduty_go_sdk_vectors() -> None:
    signed = sign_request("pagerduty", PAGERDUTY_BODY, PAGERDUTY_SECRET)

    assert signed["x-pagerduty-signature"] == PAGERDUTY_VALID
    assert _pagerduty(PAGERDUTY_VALID) == VerifiedEvent(
        "01BWDWL3NYY7LUFPZCC28QUCMK", "incident.priority_updated"
    )
    with pytest.raises(InvalidSignature):  # "mismatch"
        _pagerduty(PAGERDUTY_MISMATCH)
    with pytest.raises(MissingSignature):  # "malformed_header"
        _pagerduty(None)
    with pytest.raises(InvalidSignature):  # "malformed_body": the signature over no body
        _pagerduty(PAGERDUTY_VALID, body=b"")


def test_pagerduty_any_v1_of_a_rotation_matches_and_other_versions_are_ignored() -> None:
    rotating = f"{PAGERDUTY_MISMATCH},{PAGERDUTY_VALID}"

    assert isinstance(_pagerduty(rotating), VerifiedEvent)
    with pytest.raises(InvalidSignature):
        _pagerduty(PAGERDUTY_VALID.replace("v1=", "v2="))


# --- WooCommerce -----------------------------------------------------------------------------

#: A body as WooCommerce sends one (`trim(wp_json_encode($payload))`: compact, `/` escaped).
WOO_BODY = (
    b'{"id":727,"parent_id":0,"status":"processing","currency":"EUR","total":"29.35",'
    b'"billing":{"first_name":"Jos\\u00e9","email":"jose@example.com"},'
    b'"_links":{"self":[{"href":"https:\\/\\/shop.example.com\\/wp-json\\/wc\\/v3\\/orders\\/727"}]}}'
)
WOO_SECRET = "j&S`+2H~e)gX[;]Cc9@A=>y0z,ZoP|k1"  # wp_generate_password(32, true, true)-like


def _woo_signature(secret: str, body: bytes) -> str:
    # WC_Webhook::generate_signature: base64_encode(hash_hmac('sha256', $body, $secret, true)).
    return base64.b64encode(hmac.digest(secret.encode(), body, hashlib.sha256)).decode()


def _woo(headers: dict[str, str], body: bytes = WOO_BODY, secret: str = WOO_SECRET) -> Any:
    return _verify("woocommerce", body, headers, [secret])


def test_woocommerce_signature_as_its_source_computes_it() -> None:
    headers = {
        "x-wc-webhook-signature": _woo_signature(WOO_SECRET, WOO_BODY),
        "x-wc-webhook-topic": "order.created",
        "x-wc-webhook-delivery-id": "6a2b3f1c0e9d8a7b",
    }
    signed = sign_request("woocommerce", WOO_BODY, WOO_SECRET, event_type="order.created")

    created = _woo(headers)
    updated = _woo({**headers, "x-wc-webhook-topic": "order.updated"})

    assert signed["x-wc-webhook-signature"] == headers["x-wc-webhook-signature"]
    assert (created.type, updated.type) == ("order.created", "order.updated")
    assert created.id != updated.id  # one body under two topics: two events
    assert created.id == created.replay_key
    with pytest.raises(InvalidSignature):
        _woo(headers, secret=WOO_SECRET + "x")
    with pytest.raises(InvalidSignature):
        _woo(headers, body=WOO_BODY.replace(b"29.35", b"0.01"))
    with pytest.raises(Malformed):  # signed, but no topic to name the event
        _woo({"x-wc-webhook-signature": headers["x-wc-webhook-signature"]})


def test_woocommerce_unsigned_ping_on_save_is_answered_200_and_nothing_else_is() -> None:
    provider = build_provider(load("woocommerce"), [WOO_SECRET])

    answer = provider.verify(make_request(b"webhook_id=12", {}))

    assert answer == Handshake(b"", content_type="text/plain")
    for forged in (b"webhook_id=12&x=1", b"webhook_id=", b"webhook_id=abc", WOO_BODY):
        with pytest.raises(MissingSignature):
            provider.verify(make_request(forged, {}))
    with pytest.raises(InvalidSignature):  # a ping body with a signature is checked as any
        provider.verify(make_request(b"webhook_id=12", {"x-wc-webhook-signature": "AAAA"}))


# --- Hygraph: the piecewise escaping equals JSON of the whole document -------------------------


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.characters(exclude_categories=("Cs",))),
    repeat=st.integers(min_value=1, max_value=3000),
    environment=st.text(max_size=20),
)
def test_hygraph_piecewise_digest_is_the_hmac_of_the_whole_json_document(
    text: str, repeat: int, environment: str
) -> None:
    body = (text * repeat)[:60_000]  # past the 16 Ki-character pieces
    document = {"Body": body, "EnvironmentName": environment, "TimeStamp": 1631270481036}
    whole = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    expected = base64.b64encode(hmac.digest(b"k", whole, hashlib.sha256)).decode()

    assert hygraph_digests((b"k",), body, environment, 1631270481036) == [expected]


# --- Cal.com ---------------------------------------------------------------------------------


def test_calcom_signature_as_its_source_computes_it() -> None:
    # cal.com `packages/features/webhooks/lib/sendPayload.ts`, `createWebhookSignature`:
    # createHmac("sha256", secret).update(body).digest("hex"); no secret: "no-secret-provided".
    body = (
        b'{"triggerEvent":"BOOKING_CREATED","createdAt":"2026-12-03T08:00:00.000Z",'
        b'"payload":{"title":"30 min between Ana and Bo","uid":"bFJeNb2uX8ANpT3JL5EfXw"}}'
    )
    secret = "cal-webhook-secret"
    documented = hmac.new(secret.encode(), body, "sha256").hexdigest()

    event = _verify("calcom", body, {"x-cal-signature-256": documented}, [secret])

    assert sign_request("calcom", body, secret)["x-cal-signature-256"] == documented
    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "BOOKING_CREATED")
    with pytest.raises(InvalidSignature):
        _verify("calcom", body, {"x-cal-signature-256": "no-secret-provided"}, [secret])
    with pytest.raises(InvalidSignature):
        _verify("calcom", body, {"x-cal-signature-256": f"sha256={documented}"}, [secret])


# --- Cashfree --------------------------------------------------------------------------------


def _cashfree_signature(secret: str, timestamp: str, body: bytes) -> str:
    # Cashfree's SDKs (`PGVerifyWebhookSignature`) and documents: base64(HMAC-SHA256(secret,
    # x-webhook-timestamp + raw body)), nothing between the two.
    return base64.b64encode(
        hmac.digest(secret.encode(), timestamp.encode() + body, "sha256")
    ).decode()


@pytest.mark.parametrize("unit", [1, 1000])
def test_cashfree_timestamp_in_milliseconds_or_seconds(unit: int) -> None:
    body = b'{"data":{},"type":"PAYMENT_SUCCESS_WEBHOOK"}'
    now = int(time.time())
    stamp = str(now * unit)
    headers = {
        "x-webhook-signature": _cashfree_signature("k", stamp, body),
        "x-webhook-timestamp": stamp,
    }

    event = _verify("cashfree", body, headers, ["k"])
    old = str((now - 3601) * unit)
    stale = {"x-webhook-signature": _cashfree_signature("k", old, body), "x-webhook-timestamp": old}

    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "PAYMENT_SUCCESS_WEBHOOK")
    with pytest.raises(StaleTimestamp):
        _verify("cashfree", body, stale, ["k"])
    with pytest.raises(InvalidSignature):  # the timestamp is signed
        _verify("cashfree", body, {**headers, "x-webhook-timestamp": str(now * unit + 1)}, ["k"])


# --- Alchemy Notify --------------------------------------------------------------------------


def test_alchemy_signature_as_its_examples_compute_it() -> None:
    # alchemyplatform/webhook-examples (Node `isValidSignatureForStringBody`, Go, Python, Rust):
    # hex(HMAC-SHA256(signing key, raw body)) compared with `x-alchemy-signature`.
    body = (
        b'{"webhookId":"wh_octjglnywaupz6th","id":"whevt_ogrc5v64myey69ux",'
        b'"createdAt":"2022-02-28T17:48:53.306Z","type":"MINED_TRANSACTION","event":{}}'
    )
    key = "whsec_test_signing_key"
    documented = hmac.new(key.encode(), body, "sha256").hexdigest()

    event = _verify("alchemy", body, {"x-alchemy-signature": documented}, [key])

    assert sign_request("alchemy", body, key)["x-alchemy-signature"] == documented
    assert event == VerifiedEvent("whevt_ogrc5v64myey69ux", "MINED_TRANSACTION")
    with pytest.raises(InvalidSignature):
        _verify("alchemy", body + b"\n", {"x-alchemy-signature": documented}, [key])


# --- Tailscale -------------------------------------------------------------------------------


def test_tailscale_signature_as_its_example_verifier_computes_it() -> None:
    # tailscale/tailscale `docs/webhooks/example.go`: HMAC-SHA256(secret, "<t>.<body>"), hex,
    # under `v1=` in `Tailscale-Webhook-Signature: t=<unix>,v1=<hex>`; older than 5 min refused.
    body = b'[{"timestamp":"2026-12-03T08:00:00Z","version":1,"type":"test","tailnet":"x"}]'
    secret = "tskey-webhook-xxxxx"  # the example's own placeholder
    now = int(time.time())
    digest = hmac.new(secret.encode(), f"{now}.".encode() + body, "sha256").hexdigest()
    headers = {"tailscale-webhook-signature": f"t={now},v1={digest}"}

    event = _verify("tailscale", body, headers, [secret])
    listed = {"tailscale-webhook-signature": f"t={now},v1={'0' * 64},v1={digest}"}
    old = now - 301
    stale = hmac.new(secret.encode(), f"{old}.".encode() + body, "sha256").hexdigest()

    assert sign_request("tailscale", body, secret, timestamp=now) == {
        **headers,
        "content-type": "application/json",
    }
    assert event == VerifiedEvent(hashlib.sha256(body).hexdigest(), "test")
    assert _verify("tailscale", body, listed, [secret]) == event
    with pytest.raises(StaleTimestamp):
        _verify("tailscale", body, {"tailscale-webhook-signature": f"t={old},v1={stale}"}, [secret])
    with pytest.raises(InvalidSignature):
        _verify(
            "tailscale", body, {"tailscale-webhook-signature": f"t={now},v2={digest}"}, [secret]
        )
