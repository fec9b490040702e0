"""Every catalogue provider passes `ProviderContract`, signed with `providers.testing`'s signers.

One subclass per provider (and per GitLab scheme); the table below is all that differs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from providers import load
from providers.builtin.graph import sign_body as graph_sign_body
from providers.builtin.mailgun import sign_body
from providers.builtin.parsed_fields import sign_body as adyen_sign_body
from providers.testing import ProviderContract
from tests.unit.providers._catalogue import (
    ADYEN_BODY,
    BODY_SIGNING,
    GRAPH_BODY,
    PUBLIC_HALF,
    SNS_MESSAGE,
    SNS_OPTIONS,
    STALE_SKEW,
    STATIC_TOKENS,
    SW,
    TABLE,
    hex_secret,
    json_body,
    key_option,
    rsa_pkcs8,
    signed,
    sns_sign_body,
    whsec,
)


class CatalogueContract(ProviderContract):
    def source(self, secrets: tuple[str, ...]) -> tuple[tuple[str, ...], Mapping[str, object]]:
        public = PUBLIC_HALF.get(self.provider_name or "")
        if public is None:
            return secrets, self.options
        option = key_option(self.provider_name or "")
        return (), {**self.options, option: [public(secret) for secret in secrets]}


def _contract(name: str) -> type[CatalogueContract]:
    body, headers, timed, options, secret = TABLE[name]
    attributes: dict[str, Any] = {
        "provider": load(name),
        "provider_name": name,
        "options": options,
        "secrets": (secret(), secret()),
        "body": body,
        "has_timestamp": timed,
        "signature_headers": headers,
        "body_signed": name not in STATIC_TOKENS,
        "stale_skew": STALE_SKEW.get(name, 3600),
    }
    if name in BODY_SIGNING:  # else the contract checks the signature headers
        attributes["signed_body"] = _signed_body
    return type(_class_name(name), (CatalogueContract,), attributes)


def _class_name(name: str) -> str:
    return f"Test{name.title().replace('-', '')}Contract"


def _signed_body(self: CatalogueContract, body: bytes, secret: str, timestamp: int) -> bytes:
    # A provider that signs inside the body: its own `signed_body` wraps the TABLE payload.
    _, options = self.source((secret,))
    return signed(
        str(self.provider_name), body, secret, timestamp=timestamp, options=dict(options)
    )[0]


for _name in TABLE:
    globals()[_class_name(_name)] = _contract(_name)


class TestGitLabSigningTokenContract(CatalogueContract):
    provider = load("gitlab")
    provider_name = "gitlab"
    options: ClassVar[Mapping[str, object]] = {"scheme": "signing-token"}
    secrets = (whsec(), whsec())
    body = json_body({"object_kind": "merge_request", "object_attributes": {"action": "open"}})
    has_timestamp = True
    signature_headers = SW


class TestMailgunContract(CatalogueContract):
    provider = load("mailgun")
    provider_name = "mailgun"
    secrets = (hex_secret(), hex_secret())
    body = json_body({"id": "ev1", "event": "delivered"})  # the event-data; the signature is added
    has_timestamp = True

    def signed_body(self, body: bytes, secret: str, timestamp: int) -> bytes:
        return sign_body(json.loads(body), secret, timestamp)


class TestAdyenContract(CatalogueContract):
    provider = load("adyen")
    provider_name = "adyen"
    secrets = (hex_secret(), hex_secret())
    body = ADYEN_BODY  # the signatures are added to the items
    has_timestamp = False

    def signed_body(self, body: bytes, secret: str, timestamp: int) -> bytes:
        return adyen_sign_body(json.loads(body), secret)


class TestMicrosoftGraphContract(CatalogueContract):
    provider = load("microsoft-graph")
    provider_name = "microsoft-graph"
    secrets = (hex_secret(), hex_secret())
    body = GRAPH_BODY  # every notification's clientState is set to the secret
    has_timestamp = False
    body_signed = False  # clientState authenticates the sender; the body is not covered

    def signed_body(self, body: bytes, secret: str, timestamp: int) -> bytes:
        return graph_sign_body(body, secret)


class TestAwsSnsContract(CatalogueContract):
    provider = load("aws-sns")
    provider_name = "aws-sns"
    options = SNS_OPTIONS
    secrets = (rsa_pkcs8(), rsa_pkcs8())
    body = SNS_MESSAGE  # the Message; the envelope and its signature are added
    has_timestamp = True
    stale_skew = STALE_SKEW["aws-sns"]

    def signed_body(self, body: bytes, secret: str, timestamp: int) -> bytes:
        return sns_sign_body(body, secret, timestamp)
