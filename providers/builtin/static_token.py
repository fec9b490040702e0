"""Static-token providers: the request carries a shared secret, compared in constant time.

No signature covers the body, so these are only as strong as TLS and the secret's secrecy;
GitLab's newer signing token (Standard Webhooks) is preferred where the instance offers it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import orjson

from providers._fields import batch, body, first, header, joined
from providers._provider import GET_AND_POST, ProviderBase, Signing
from providers._signing import as_bytes, matches_any, require_header, require_secrets
from providers._standard_scheme import (
    DEFAULT_TOLERANCE,
    check_signature,
    decode_secrets,
)
from providers._standard_scheme import sign as sign_standard
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature, ProviderConfigError

#: An RFC 9110 field name (a token), lower-cased.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class TokenProvider(ProviderBase):
    """A header whose whole value must equal one of the source's secrets."""

    family: ClassVar[str] = "static-token"
    token_header: ClassVar[str]
    #: The option that names another header for the token (the sender lets it be chosen).
    header_option: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        token = cls.__dict__.get("token_header")
        if isinstance(token, str):
            cls.credential_headers = frozenset({token})
        super().__init_subclass__(**kwargs)

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: a static token carries no timestamp"
            )
        self._tokens = tuple(as_bytes(self.expected(s.reveal())) for s in spec.secrets)
        self._header = self.token_header
        if self.header_option is not None:
            name = spec.options.string(self.header_option, self.token_header)
            assert name is not None
            if not _HEADER_NAME.fullmatch(name):
                raise spec.options.error(self.header_option, "expected an HTTP header name")
            self._header = name.lower()
            self.credential_headers = frozenset({self._header})

    @classmethod
    def expected(cls, secret: str) -> str:
        """The header value a secret stands for (the secret itself by default)."""
        return secret

    def authenticate(self, request: WebhookRequest) -> None:
        value = require_header(request.headers, self._header)
        if not matches_any(self._tokens, (as_bytes(value),)):
            raise InvalidSignature(f"{self._header} matches no configured secret")

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        token = cls.expected(signing.secret)
        metadata = cls.metadata_headers(signing)
        header = cls.token_header
        if cls.header_option is not None:
            header = str(signing.options.get(cls.header_option, header)).lower()
        return {**metadata, header: token, "content-type": "application/json"}


class OktaProvider(TokenProvider):
    """Okta event hooks: the secret chosen when creating the hook, in `Authorization` or in the
    header named by the `auth_header` option (Okta's "Authentication field").

    The one-time verification GET (`X-Okta-Verification-Challenge`) is answered with
    `{"verification": …}`. Events arrive in batches: one event gives its `uuid`, several a digest.
    """

    methods = GET_AND_POST
    token_header = "authorization"  # noqa: S105 - a header name
    header_option = "auth_header"
    source_keys = ("secrets", "auth_header")
    event_id = batch("/data/events", "uuid", kind="id")
    event_type = batch("/data/events", "eventType", kind="type")

    def unsigned_handshake(self, request: WebhookRequest) -> Handshake | None:
        if request.method != "GET":
            return None
        challenge = request.headers.get("x-okta-verification-challenge")
        if not challenge:
            raise MissingSignature("x-okta-verification-challenge header is missing")
        return Handshake(orjson.dumps({"verification": challenge}))


class PostmarkProvider(TokenProvider):
    """Postmark: HTTP Basic credentials in the webhook URL. Secrets are `user:password`.

    Postmark sends the same open or click more than once for distinct events, so the ID is the
    body hash (a retry resends the same bytes); the type is `RecordType`.
    """

    token_header = "authorization"  # noqa: S105 - a header name
    event_type = body("/RecordType")

    @classmethod
    def expected(cls, secret: str) -> str:
        return "Basic " + base64.b64encode(secret.encode()).decode("ascii")

    def authenticate(self, request: WebhookRequest) -> None:
        value = require_header(request.headers, self.token_header)
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() != "basic":
            raise InvalidSignature("authorization is not HTTP Basic")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError) as err:
            raise InvalidSignature("authorization is not valid base64") from err
        canonical = "Basic " + base64.b64encode(decoded).decode("ascii")
        if not matches_any(self._tokens, (as_bytes(canonical),)):
            raise InvalidSignature("credentials match no configured secret")


class GitLabProvider(ProviderBase):
    """GitLab: `X-Gitlab-Token` (option `scheme = "token"`, the default), or the newer signing
    token (`scheme = "signing-token"`, `whsec_` secrets, Standard Webhooks headers).

    ID: `Idempotency-Key` (stable across retries), else `X-Gitlab-Event-UUID`. Type: the
    body's `object_kind`, refined by `object_attributes.action` (`merge_request.open`).
    """

    family: ClassVar[str] = "static-token"
    source_keys = ("secrets", "scheme", "tolerance_seconds")
    token_header: ClassVar[str] = "x-gitlab-token"  # noqa: S105 - a header name
    credential_headers = frozenset({token_header})
    signature_headers = frozenset({"webhook-signature", "webhook-timestamp"})
    signed_headers = frozenset({"webhook-id"})
    event_id = first(header("idempotency-key"), header("x-gitlab-event-uuid"))
    event_type = first(
        joined(".", body("/object_kind"), body("/object_attributes/action")),
        header("x-gitlab-event"),
    )

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        self._signing = (
            spec.options.choice("scheme", {"token", "signing-token"}, "token") == "signing-token"
        )
        if self._signing:
            self._keys = decode_secrets(spec)
            tolerance = spec.tolerance_seconds
            self._tolerance = DEFAULT_TOLERANCE if tolerance is None else tolerance
            self.signed_timestamp = bool(self._tolerance)
            # The ID is the signed `webhook-id`; only a type missing from the body is unsigned.
            self.unsigned_headers = frozenset({"x-gitlab-event"})
        elif spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: a GitLab token carries no timestamp "
                '(set scheme = "signing-token" for signed webhooks)'
            )
        self._tokens = tuple(as_bytes(s.reveal()) for s in spec.secrets)

    def authenticate(self, request: WebhookRequest) -> None:
        if self._signing:
            check_signature(request, self._keys, self._tolerance)
            return
        value = require_header(request.headers, self.token_header)
        if not matches_any(self._tokens, (as_bytes(value),)):
            raise InvalidSignature(f"{self.token_header} matches no configured secret")

    def event(self, request: WebhookRequest, document: Any) -> VerifiedEvent:
        event = super().event(request, document)
        webhook_id = request.headers.get("webhook-id") if self._signing else None
        return event if not webhook_id else replace(event, id=webhook_id)

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        metadata = cls.metadata_headers(signing)
        headers = {**metadata, "x-gitlab-event": signing.event_type or "Push Hook"}
        if signing.options.get("scheme") == "signing-token":
            msg_id = metadata["idempotency-key"]
            signature = sign_standard(signing.body, signing.secret, msg_id, signing.timestamp)
            headers.update(
                {
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(signing.timestamp),
                    "webhook-signature": signature,
                }
            )
        else:
            headers[cls.token_header] = signing.secret
        return {**headers, "content-type": "application/json"}


@dataclass(frozen=True, slots=True)
class _UpdateKind:
    """A Telegram update's type: the name of the one object it carries beside `update_id`."""

    needs_body = True

    def read(self, headers: Mapping[str, str], document: Any) -> str | None:
        if not isinstance(document, dict):
            return None
        for key, value in document.items():
            if key != "update_id" and isinstance(value, dict):
                return str(key)
        return None


#: What Telegram accepts as `secret_token` in `setWebhook`.
_TELEGRAM_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramProvider(TokenProvider):
    """Telegram Bot API: the `secret_token` given to `setWebhook`, sent back in
    `X-Telegram-Bot-Api-Secret-Token`. ID: `update_id`; type: the update's one object
    (`message`, `callback_query`, `edited_message`, …).
    """

    token_header = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
    event_id = body("/update_id")
    event_type = _UpdateKind()
    id_required = True

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        for i, secret in enumerate(spec.secrets):
            if not _TELEGRAM_TOKEN.fullmatch(secret.reveal()):
                raise ProviderConfigError(
                    f"sources.{spec.name}.secrets[{i}]: a Telegram secret_token is 1-256 "
                    "characters of A-Z, a-z, 0-9, _ and -"
                )
        super().configure(spec)
