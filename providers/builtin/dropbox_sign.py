"""Dropbox Sign (formerly HelloSign): no signature header; the body's `event.event_hash` is hex
HMAC-SHA256 keyed with the account's API key over `event_time + event_type`, as the
`dropbox-sign` SDK's `EventCallbackHelper.is_valid`.

Only those two fields are signed: the rest of the body (the signature request, signers,
metadata, the IDs) is **not** covered. A valid hash proves the sender held the API key when it
sent that event time and type, not what the body says; re-fetch the object by its ID before
acting on it, as Dropbox Sign advises. Callbacks are `multipart/form-data` with the event JSON in
the `json` field (a JSON body is read too). Dropbox Sign retries a callback until the answer's
body is `Hello API Event Received`: that is this provider's `acknowledgement`, answered for a
delivery taken or a duplicate, and for the `callback_test` event it sends when a callback URL is
set (answered, never published).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any, ClassVar

import orjson

from providers._fields import NOT_JSON, as_text, parse_json
from providers._provider import ProviderBase, Signing
from providers._signing import as_bytes, matches_any, require_secrets
from providers.base import Handshake, SourceSpec, VerifiedEvent, WebhookRequest
from providers.errors import InvalidSignature, MissingSignature, ProviderConfigError

ACKNOWLEDGEMENT = Handshake(b"Hello API Event Received", content_type="text/plain")
TEST_EVENT = "callback_test"
#: The largest event JSON parsed before its hash is checked (a callback is a few KiB).
MAX_DOCUMENT = 256 * 1024
#: Multipart bounds: parts looked at for `json`, and the size of one part's header block.
MAX_PARTS = 8
MAX_PART_HEADERS = 1024
_BOUNDARY = re.compile(
    r'\s*multipart/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))', re.I
)
_JSON_FIELD = re.compile(
    rb'(?im)^content-disposition:\s*form-data\s*;(?:.*;)?\s*name="?json"?\s*(?:;|$)'
)


def event_hash(api_key: str, event_time: str, event_type: str) -> str:
    """The `event_hash` Dropbox Sign puts on an event."""
    return hmac.digest(api_key.encode(), f"{event_time}{event_type}".encode(), "sha256").hex()


class DropboxSignProvider(ProviderBase):
    """Dropbox Sign callbacks. Secrets: the account's API key.

    ID: `event_time:event_type:` + the signature request's ID (else the template's, else the
    account's) + `:related_signature_id` when present (one `event_hash` covers every event of
    a type within a second); type: `event.event_type`. Nothing bounds a replay in time.
    """

    family: ClassVar[str] = "parsed-fields-hmac"
    content_type = "multipart/form-data"
    sample_type = "signature_request_sent"
    acknowledgement: Handshake | None = ACKNOWLEDGEMENT

    def configure(self, spec: SourceSpec) -> None:
        require_secrets(spec.secrets, spec.name)
        if spec.tolerance_seconds is not None:
            raise ProviderConfigError(
                f"sources.{spec.name}.tolerance_seconds: Dropbox Sign retries with the first"
                " event_time, so none is held"
            )
        self._keys = tuple(secret.reveal().encode() for secret in spec.secrets)

    def verify(self, request: WebhookRequest) -> VerifiedEvent | Handshake:
        callback = _callback(request)
        event = callback.get("event")
        event = event if isinstance(event, dict) else {}
        fields = [event.get(key) for key in _SIGNED]
        received, event_time, event_type = (as_text(value) for value in fields)
        if received is None:
            raise MissingSignature("the callback has no event.event_hash")
        if event_time is None or event_type is None:
            raise InvalidSignature("event.event_time and event.event_type must be strings")
        message = f"{event_time}{event_type}".encode()
        expected = (as_bytes(hmac.digest(key, message, "sha256").hex()) for key in self._keys)
        if not matches_any(expected, (as_bytes(received),)):
            raise InvalidSignature("event.event_hash matches no configured API key")
        if event_type == TEST_EVENT:
            return ACKNOWLEDGEMENT
        return VerifiedEvent(
            id=":".join([event_time, event_type, *_subject(callback, event)]),
            type=event_type,
            occurred_at=float(event_time) if event_time.isdigit() else None,
            # The body is not signed: a digest of it, as for the token-only providers (a
            # digest of the signed time and type would drop distinct events of one second).
            replay_key=hashlib.sha256(request.body).hexdigest(),
        )

    @classmethod
    def sign(cls, signing: Signing) -> dict[str, str]:
        """The content type for `signed_body`'s form (or JSON, for a body that is not one)."""
        first = signing.body.split(b"\r\n", 1)[0]
        if first.startswith(b"--") and len(first) > 2:
            boundary = first[2:].decode("ascii", "replace")
            return {"content-type": f"multipart/form-data; boundary={boundary}"}
        return {"content-type": "application/json"}

    @classmethod
    def signed_body(cls, signing: Signing) -> bytes:
        """`signing.body` (a callback JSON object) with `event.event_hash` set, in the
        `json` field of a multipart form, as Dropbox Sign posts it. A missing `event_time`
        is the signing time; a missing `event_type`, the signer's event type."""
        try:
            callback = orjson.loads(signing.body)
        except orjson.JSONDecodeError as err:
            raise ValueError("a dropbox-sign payload is a callback JSON object") from err
        if not isinstance(callback, dict):
            raise ValueError("a dropbox-sign payload is a callback JSON object")
        event = callback.setdefault("event", {})
        if not isinstance(event, dict):
            raise ValueError("a dropbox-sign callback's event must be an object")
        event.setdefault("event_time", str(signing.timestamp))
        event.setdefault("event_type", signing.event_type or cls.sample_type)
        event["event_hash"] = event_hash(
            signing.secret, str(event["event_time"]), str(event["event_type"])
        )
        return multipart_form({"json": orjson.dumps(callback)})


_SIGNED = ("event_hash", "event_time", "event_type")


def _subject(callback: dict[str, Any], event: dict[str, Any]) -> list[str]:
    """What the event is about: the signature request, template or account, and signature."""
    metadata = event.get("event_metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    candidates = [
        ("signature_request", "signature_request_id"),
        ("template", "template_id"),
    ]
    subject = None
    for container, key in candidates:
        inner = callback.get(container)
        subject = subject or (as_text(inner.get(key)) if isinstance(inner, dict) else None)
    subject = subject or as_text(metadata.get("reported_for_account_id")) or ""
    signature = as_text(metadata.get("related_signature_id"))
    return [subject] if signature is None else [subject, signature]


def _callback(request: WebhookRequest) -> dict[str, Any]:
    """The callback's JSON object: the multipart `json` field, or the body; bounded, and
    `missing_signature` when there is none to carry an `event_hash`."""
    text: bytes | None = request.body
    match = _BOUNDARY.match(request.headers.get("content-type", ""))
    if match is not None:
        text = multipart_field(request.body, (match.group(1) or match.group(2)).encode())
    elif request.body.startswith(b"--"):  # a form whose content type was lost on the way
        first = request.body[2 : 2 + 72].split(b"\r\n", 1)[0]
        text = multipart_field(request.body, first) if 0 < len(first) <= 70 else None
    if text is None or b"event_hash" not in text:
        raise MissingSignature("the callback carries no event.event_hash")
    if len(text) > MAX_DOCUMENT:
        raise InvalidSignature("the callback is larger than any Dropbox Sign event")
    document = parse_json(text)
    if document is NOT_JSON or not isinstance(document, dict):
        raise MissingSignature("the callback is not a JSON object carrying event.event_hash")
    return document


def multipart_field(body: bytes, boundary: bytes) -> bytes | None:
    """The value of the form field `json` in a multipart body, or None. Looks at `MAX_PARTS`
    parts at most, each with a header block under `MAX_PART_HEADERS` bytes."""
    delimiter = b"--" + boundary
    at = body.find(delimiter)
    for _ in range(MAX_PARTS):
        if at < 0 or body.startswith(b"--", at + len(delimiter)):
            return None
        start = at + len(delimiter)
        head_end = body.find(b"\r\n\r\n", start, start + MAX_PART_HEADERS)
        if head_end < 0:
            return None
        end = body.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            return None
        if _JSON_FIELD.search(body[start:head_end]):
            return body[head_end + 4 : end]
        at = end + 2
    return None


def multipart_form(fields: dict[str, bytes]) -> bytes:
    """A `multipart/form-data` body of these fields; `sign` reads its boundary back."""
    digest = hashlib.sha256(b"\0".join(fields.values())).hexdigest()
    boundary = b"hookgate" + digest[:24].encode()  # the same form for the same fields
    parts = [
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(parts) + b"--" + boundary + b"--\r\n"
