"""Microsoft Graph change notifications: no signature; every notification carries the
`clientState` the subscriber chose, which authenticates the sender, not the body.

The subscription check (`POST ?validationToken=…`, on creating or renewing a subscription) is
answered with the token as `text/plain` before anything else, never published. A notification
body is `{"value": [notification, …]}`; every item's `clientState` must equal one of the
source's secrets (compared in constant time; all items, not only the first). Rich
notifications' `validationTokens` (JWTs) are not checked here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from providers._fields import as_text, batch, collapse_batch, parse_json
from providers._provider import ProviderBase, Signing
from providers._signing import as_bytes, matches_any, require_secrets
from providers.base import Handshake, SourceSpec, WebhookRequest
from providers.errors import InvalidSignature, Malformed, MissingSignature, ProviderConfigError

#: Graph's tokens read "Validation: Testing client application reachability for subscription
#: Request-Id: <uuid>". Printable ASCII without markup or quotes, bounded: what is echoed can
#: never be HTML, and is sent as unsniffable text.
_TOKEN = re.compile(r"[ !#$%()*+,\-./0-9:;=?@A-Z\[\]^_a-z{|}~]{1,1024}")
#: A `"clientState": "<JSON string>"` member, found without parsing the body.
_CLIENT_STATE = re.compile(rb'"clientState"[ \t\r\n]*:[ \t\r\n]*"((?:[^"\\]|\\.){0,1024})"')
#: More `clientState`s than this in one body is no Graph delivery.
MAX_ITEMS = 10_000


@dataclass(frozen=True, slots=True)
class _ChangeKind:
    """Each notification's `changeType`, or `lifecycleEvent` for a lifecycle notification;
    several: the shared value, else `batch`."""

    needs_body = True

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        items = _items(document)
        if not items:
            return None
        kinds = [as_text(i.get("changeType")) or as_text(i.get("lifecycleEvent")) for i in items]
        return collapse_batch(kinds, "type")


def _items(document: Any) -> list[dict[str, Any]] | None:
    """The notifications of a parsed body, or None when it is not a collection of objects."""
    if not isinstance(document, dict):
        return None
    items = document.get("value")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return None
    return items


class MicrosoftGraphProvider(ProviderBase):
    """Microsoft Graph change and lifecycle notifications; `secrets` are the subscriptions'
    `clientState` values (any may match, for a rotation). ID: the notifications' `id` (a
    digest for several), else the body hash; type: `changeType` (`created`, `updated`,
    `deleted`) or `lifecycleEvent` (`reauthorizationRequired`, `subscriptionRemoved`,
    `missed`). The body is not covered by anything.
    """

    family: ClassVar[str] = "static-token"
    event_id = batch("/value", "id", kind="id")
    event_type = _ChangeKind()

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: Graph notifications carry no timestamp"
            )
        self._states = tuple(as_bytes(secret.reveal()) for secret in spec.secrets)

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        token = request.query.get("validationToken")
        if token is None:
            return None
        if not _TOKEN.fullmatch(token):
            raise InvalidSignature("validationToken is not a token Graph sends")
        return Handshake(
            token.encode("ascii"),
            content_type="text/plain; charset=utf-8",
            headers=(("x-content-type-options", "nosniff"),),
        )

    def authenticate(self, request: WebhookRequest) -> None:
        # Before parsing anything: every `"clientState": "…"` the body holds must match. A
        # forged body stops here at the cost of one scan; the parsed items are checked again
        # in `document` (a key written with escapes is found there, not here).
        found = 0
        for match in _CLIENT_STATE.finditer(request.body):
            found += 1
            if found > MAX_ITEMS:
                raise InvalidSignature("more notifications than Graph sends at once")
            self._check(match.group(1))
        if not found:
            raise MissingSignature("no notification carries a clientState")

    def _check(self, raw: bytes) -> None:
        state = raw
        if b"\\" in raw:
            try:
                decoded = orjson.loads(b'"' + raw + b'"')
            except orjson.JSONDecodeError:
                raise InvalidSignature("a clientState is not a JSON string") from None
            state = as_bytes(decoded) if isinstance(decoded, str) else b""
        if not matches_any(self._states, (state,)):
            raise InvalidSignature("a notification's clientState matches no secret")

    def document(self, request: WebhookRequest) -> Any:
        document = parse_json(request.body)
        items = _items(document)
        if items is None:
            raise Malformed("body is not a Graph notification collection")
        for item in items:
            state = item.get("clientState")
            if not isinstance(state, str):
                raise InvalidSignature("a notification carries no clientState")
            if not matches_any(self._states, (as_bytes(state),)):
                raise InvalidSignature("a notification's clientState matches no secret")
        return document

    @classmethod
    def signed_body(cls, signing: Signing) -> bytes:
        """The body with the secret as every notification's `clientState`."""
        items = _items(parse_json(signing.body))
        if items is None:
            raise ValueError('the body must be {"value": [notification, ...]}')
        for item in items:
            item["clientState"] = signing.secret
        return orjson.dumps({**orjson.loads(signing.body), "value": items})

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        return {"content-type": "application/json"}


def sign_body(body: bytes, secret: str) -> bytes:
    """`body` as Graph would send it to a subscription whose `clientState` is `secret`."""
    signing = Signing(body, secret, None, None, 0, {})
    return MicrosoftGraphProvider.signed_body(signing)
