"""providers.github: published vectors, event types with actions, form bodies, no SHA-1."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

import pytest

from providers import (
    InvalidSignature,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    VerifiedEvent,
)
from providers.github import GitHubProvider, sign
from providers.testing import ProviderContract, build_provider, make_request

# GitHub docs, validating-webhook-deliveries.md (signatures.md §3.3 item 2).
DOCS_SECRET = "It's a Secret to Everybody"
DOCS_BODY = b"Hello, World!"
DOCS_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# octokit/webhooks-methods.js test/sign.test.ts and verify.test.ts (§3.3 item 3). The second body
# is JSON text with literal `\n` and upper-case `\u001B` escapes and raw UTF-8 hearts; the third
# holds a literal backslash pair. Raw strings keep every escape as the bytes GitHub sent.
OCTOKIT_VECTORS = [
    pytest.param(
        "mysecret",
        b'{"foo":"bar"}',
        "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3",
        id="foo-bar",
    ),
    pytest.param(
        "development",
        r'{"foo":"Foo\n\u001B[34mbar: ♥♥♥♥♥♥♥♥\nthis-is-lost\u001B[0m\u001B[2K"}'.encode(),
        "sha256=afecc3caa27548bb90d51a50384cb2868b9a3327b4ad6a01c9bd4ed0f8b0b12c",
        id="escapes-and-utf8",
    ),
    pytest.param(
        "development",
        rb'{"foo":"\\u001b"}',
        "sha256=6f8326efbacfbd04e870cea25b5652e635be8c9807f2fd5348ef60753c9e96ed",
        id="escaped-backslash",
    ),
]

SECRET = "gh-secret"
BODY = b'{"action":"opened","number":1,"pull_request":{"id":7}}'


def _provider(*secrets: str) -> GitHubProvider:
    provider = build_provider(GitHubProvider, secrets or (SECRET,), source="gh")
    assert isinstance(provider, GitHubProvider)
    return provider


def _headers(body: bytes, secret: str = SECRET, **extra: str) -> dict[str, str]:
    return {
        "x-hub-signature-256": sign(body, secret),
        "x-github-event": "pull_request",
        "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "content-type": "application/json",
        **extra,
    }


def _verify(provider: GitHubProvider, body: bytes, headers: dict[str, str]) -> VerifiedEvent:
    return provider.verify(make_request(body, headers))


# --- published vectors ------------------------------------------------------------------------


def test_docs_vector_signs_to_the_published_value() -> None:
    assert sign(DOCS_BODY, DOCS_SECRET) == DOCS_SIGNATURE


def test_docs_vector_signature_is_accepted_before_the_body_is_refused_as_not_json() -> None:
    # "Hello, World!" is not JSON: Malformed (not InvalidSignature) proves the signature passed.
    with pytest.raises(Malformed):
        _verify(_provider(DOCS_SECRET), DOCS_BODY, _headers(DOCS_BODY, DOCS_SECRET))


@pytest.mark.parametrize(("secret", "body", "signature"), OCTOKIT_VECTORS)
def test_octokit_vectors_sign_and_verify(secret: str, body: bytes, signature: str) -> None:
    assert sign(body, secret) == signature
    headers = {**_headers(body), "x-hub-signature-256": signature}

    event = _verify(_provider(secret), body, headers)

    assert event == VerifiedEvent(
        id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
        type="pull_request",
        replay_key=hashlib.sha256(body).hexdigest(),
    )


@pytest.mark.parametrize(("secret", "body", "signature"), OCTOKIT_VECTORS)
def test_octokit_vectors_fail_with_one_digit_changed(
    secret: str, body: bytes, signature: str
) -> None:
    wrong = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    headers = {**_headers(body), "x-hub-signature-256": wrong}

    with pytest.raises(InvalidSignature):
        _verify(_provider(secret), body, headers)


# --- signature header ---------------------------------------------------------------------------


def test_upper_case_hex_is_accepted() -> None:
    headers = _headers(BODY)
    headers["x-hub-signature-256"] = "sha256=" + headers["x-hub-signature-256"][7:].upper()

    assert _verify(_provider(), BODY, headers).type == "pull_request.opened"


def test_signature_without_the_sha256_prefix_is_invalid() -> None:
    headers = _headers(BODY)
    headers["x-hub-signature-256"] = headers["x-hub-signature-256"].removeprefix("sha256=")

    with pytest.raises(InvalidSignature, match="sha256="):
        _verify(_provider(), BODY, headers)


def test_sha1_only_request_is_refused_as_missing_signature() -> None:
    headers = _headers(BODY)
    del headers["x-hub-signature-256"]
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    headers["x-hub-signature"] = f"sha1={digest}"

    with pytest.raises(MissingSignature, match="x-hub-signature-256"):
        _verify(_provider(), BODY, headers)


def test_any_configured_secret_verifies() -> None:
    provider = _provider("old-secret", SECRET)

    assert _verify(provider, BODY, _headers(BODY, "old-secret")).id
    assert _verify(provider, BODY, _headers(BODY, SECRET)).id
    with pytest.raises(InvalidSignature):
        _verify(provider, BODY, _headers(BODY, "third-secret"))


# --- event ID and type -------------------------------------------------------------------------


def test_type_is_the_event_header_plus_the_body_action() -> None:
    event = _verify(_provider(), BODY, _headers(BODY))

    assert event == VerifiedEvent(
        id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
        type="pull_request.opened",
        replay_key=hashlib.sha256(BODY).hexdigest(),
    )


@pytest.mark.parametrize(
    "body",
    [b'{"zen":"Design for failure."}', b'{"action":""}', b'{"action":3}', b'{"action":null}'],
)
def test_type_is_the_event_header_alone_without_a_string_action(body: bytes) -> None:
    event = _verify(_provider(), body, _headers(body, **{"x-github-event": "ping"}))

    assert event.type == "ping"


def test_missing_event_header_is_malformed() -> None:
    headers = _headers(BODY)
    del headers["x-github-event"]

    with pytest.raises(Malformed, match="x-github-event"):
        _verify(_provider(), BODY, headers)


def test_missing_delivery_header_falls_back_to_the_body_hash() -> None:
    headers = _headers(BODY)
    del headers["x-github-delivery"]

    assert _verify(_provider(), BODY, headers).id == hashlib.sha256(BODY).hexdigest()


def test_form_encoded_body_takes_the_action_from_its_payload_field() -> None:
    body = urlencode({"payload": '{"action":"created","issue":{"id":1}}'}).encode()
    headers = _headers(body, **{"content-type": "application/x-www-form-urlencoded"})
    headers["x-github-event"] = "issues"

    assert _verify(_provider(), body, headers).type == "issues.created"


@pytest.mark.parametrize(
    "body",
    [b"payload=not-json", b"other=%7B%7D", b"a&&b", b"payload=%5B1%5D", b"\xff\xfe"],
    ids=["payload-not-json", "no-payload-field", "not-a-form", "payload-not-object", "not-utf8"],
)
def test_form_body_without_a_json_object_payload_is_malformed(body: bytes) -> None:
    headers = _headers(body, **{"content-type": "application/x-www-form-urlencoded; charset=x"})

    with pytest.raises(Malformed):
        _verify(_provider(), body, headers)


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b""], ids=["text", "array", "empty"])
def test_verified_body_that_is_not_a_json_object_is_malformed(body: bytes) -> None:
    with pytest.raises(Malformed):
        _verify(_provider(), body, _headers(body))


# --- configuration -----------------------------------------------------------------------------


def test_tolerance_is_refused_because_nothing_is_timestamped() -> None:
    with pytest.raises(ProviderConfigError) as info:
        build_provider(GitHubProvider, [SECRET], tolerance_seconds=300, source="gh")

    assert str(info.value) == "sources.gh.tolerance_seconds: github signatures carry no timestamp"


def test_no_secret_is_refused() -> None:
    with pytest.raises(ProviderConfigError, match=r"sources\.gh\.secrets"):
        build_provider(GitHubProvider, [], source="gh")


def test_unknown_option_is_refused_by_path() -> None:
    with pytest.raises(ProviderConfigError, match=r"^sources\.gh\.signature_header: unknown"):
        build_provider(GitHubProvider, [SECRET], options={"signature_header": "x"}, source="gh")


class TestGitHubContract(ProviderContract):
    provider = GitHubProvider
    provider_name = "github"
    secrets = ("It's a Secret to Everybody", "rotated-secret")
    body = BODY
    has_timestamp = False
    signature_headers = ("x-hub-signature-256",)
