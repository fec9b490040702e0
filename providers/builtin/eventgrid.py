"""Azure Event Grid webhook deliveries: no signature; a shared secret authenticates the sender.

Event Grid signs nothing for a webhook without Microsoft Entra ID. It offers two places for a
secret of your own, and the source uses one: a query parameter of the endpoint URL
(`secret_parameter`, default `code`; Event Grid calls the URL as registered, so every request
carries it, subscription checks included), or a static delivery-property header marked secret
(`secret_header`). Either is compared in constant time and required on every request, the
subscription checks too: otherwise anyone could subscribe this endpoint to their own topic.

Checks: the Event Grid schema's `Microsoft.EventGrid.SubscriptionValidationEvent` is answered
`{"validationResponse": <data.validationCode>}`; the CloudEvents 1.0 schema's `OPTIONS` (with
`WebHook-Request-Origin`) is answered 200 with `WebHook-Allowed-Origin` and
`WebHook-Allowed-Rate`. Neither is published.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from providers._fields import NOT_JSON, as_text, collapse_batch
from providers._provider import ProviderBase, Signing
from providers._signing import as_bytes, matches_any, require_secrets
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, Malformed, MissingSignature, ProviderConfigError

VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
#: An RFC 9110 field name, for `secret_header`; a query parameter name, for `secret_parameter`.
_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
#: Event Grid's validation codes are GUIDs; origins are host names.
_CODE = re.compile(r"[A-Za-z0-9-]{1,128}")
_ORIGIN = re.compile(r"[A-Za-z0-9.-]{1,253}")
_RATE = re.compile(r"[1-9][0-9]{0,8}")
#: A secret in a URL: unreserved characters only, so that it reads back as written (`+` would
#: read as a space, `%` as an escape).
_URL_SECRET = re.compile(r"[A-Za-z0-9._~-]+")


@dataclass(frozen=True, slots=True)
class _EventField:
    """`key` (else `fallback`) of the body's event, or of each event of a batch (an array)."""

    key: str
    fallback: str
    kind: str
    needs_body = True

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        events = _events(document)
        if not events:
            return None
        values = [as_text(e.get(self.key)) or as_text(e.get(self.fallback)) for e in events]
        return collapse_batch(values, self.kind)


def _events(document: Any) -> list[dict[str, Any]] | None:
    """An Event Grid schema batch (an array), or a CloudEvent (an object, or a batch of them)."""
    if document is NOT_JSON:
        return None
    events = document if isinstance(document, list) else [document]
    if not events or not all(isinstance(event, dict) for event in events):
        return None
    return events


class AzureEventGridProvider(ProviderBase):
    """Azure Event Grid, Event Grid or CloudEvents 1.0 schema. ID: the event's `id` (a digest
    for a batch); type: `eventType` (Event Grid schema) or `type` (CloudEvents). The secret
    authenticates the sender, not the body."""

    family: ClassVar[str] = "static-token"
    methods = frozenset({"OPTIONS", "POST"})
    source_keys = ("secrets", "secret_parameter", "secret_header")
    event_id = _EventField("id", "id", "id")
    event_type = _EventField("eventType", "type", "type")
    id_required = True

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: Event Grid deliveries carry no timestamp"
            )
        header = spec.options.string("secret_header")
        parameter = spec.options.string("secret_parameter")
        if header is not None and parameter is not None:
            raise spec.options.error("secret_header", "set secret_header or secret_parameter")
        name = header or parameter or "code"
        if not _NAME.fullmatch(name):
            which = "secret_header" if header else "secret_parameter"
            raise spec.options.error(which, "expected a header or query parameter name")
        self._header = header.lower() if header else None
        self._parameter = None if header else name
        self.credential_headers = frozenset({self._header}) if self._header else frozenset()
        self._secrets = tuple(as_bytes(secret.reveal()) for secret in spec.secrets)
        for i, secret in enumerate(spec.secrets):
            if self._parameter is not None and not _URL_SECRET.fullmatch(secret.reveal()):
                raise ProviderConfigError(
                    f"sources.{spec.name}.secrets[{i}]: a secret in the URL takes only letters, "
                    "digits and . _ ~ - (or set secret_header)"
                )

    def authenticate(self, request: WebhookRequest) -> None:
        if self._header is not None:
            value = request.headers.get(self._header)
            where = self._header
        else:
            assert self._parameter is not None
            value = request.query.get(self._parameter)
            where = f"the {self._parameter} query parameter"
        if not value:
            raise MissingSignature(f"{where} is missing")
        if not matches_any(self._secrets, (as_bytes(value),)):
            raise InvalidSignature(f"{where} matches no configured secret")

    def verify(self, request: WebhookRequest) -> VerifiedEvent | Handshake:
        if request.method == "OPTIONS":
            self.authenticate(request)
            return _abuse_protection(request.headers)
        return super().verify(request)

    def signed_handshake(self, request: WebhookRequest, document: Any) -> Handshake | None:
        events = _events(document)
        if not events or not any(e.get("eventType") == VALIDATION for e in events):
            return None
        data = events[0].get("data")
        code = data.get("validationCode") if isinstance(data, dict) else None
        if len(events) != 1 or not isinstance(code, str) or not _CODE.fullmatch(code):
            raise Malformed("a subscription validation event without one validationCode")
        return Handshake(orjson.dumps({"validationResponse": code}))

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        header = signing.options.get("secret_header")
        if not isinstance(header, str):
            parameter = signing.options.get("secret_parameter", "code")
            raise ValueError(f"the secret travels in the URL: add ?{parameter}=<secret> to it")
        return {header.lower(): signing.secret, "content-type": "application/json"}


def _abuse_protection(headers: Mapping[str, str]) -> Handshake:
    """The CloudEvents 1.0 webhook validation answer (`OPTIONS`), for an authenticated request."""
    origin = headers.get("webhook-request-origin")
    if not origin:
        raise Malformed("an OPTIONS request without WebHook-Request-Origin")
    if not _ORIGIN.fullmatch(origin):
        raise Malformed("WebHook-Request-Origin is not a host name")
    rate = headers.get("webhook-request-rate", "")
    allowed = (
        ("webhook-allowed-origin", origin),
        ("webhook-allowed-rate", rate if _RATE.fullmatch(rate) else "*"),
        ("allow", "OPTIONS, POST"),
    )
    return Handshake(b"", content_type="text/plain", headers=allowed)
