"""Reading a Braintree `<notification>`: its kind, timestamp and subject ID, nothing else.

Only an authentic payload gets here (its HMAC verified), and it is still read defensively: with
expat directly, refusing any DTD (so no entity is ever declared or expanded, internal or
external), nesting at most `MAX_DEPTH` deep, and keeping only the few texts it needs, each at
most `MAX_TEXT` characters. Everything else in the document is skipped as it streams by.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn
from xml.parsers import expat

from providers.errors import Malformed

MAX_DEPTH = 32
MAX_TEXT = 128
#: The element paths whose text is kept: `("subject", "*", "id")` is the subject object's ID.
_KIND = ("notification", "kind")
_TIMESTAMP = ("notification", "timestamp")


@dataclass(frozen=True, slots=True)
class Notification:
    """What the gateway reads of a notification: its `kind` and event ID (`kind:timestamp:
    subject id`, the decoded XML's SHA-256 standing in for a subject without an `<id>`)."""

    kind: str
    timestamp: str
    subject_id: str | None
    digest: str

    @property
    def event_id(self) -> str:
        return f"{self.kind}:{self.timestamp}:{self.subject_id or self.digest}"

    @property
    def occurred_at(self) -> float | None:
        try:
            return datetime.fromisoformat(self.timestamp).timestamp()
        except ValueError:
            return None


class _Reader:
    def __init__(self) -> None:
        self.path: list[str] = []
        self.subject: str | None = None  # the tag of the subject's (first) object
        self.texts: dict[tuple[str, ...], list[str]] = {}

    def start(self, name: str, attributes: object) -> None:
        if len(self.path) >= MAX_DEPTH:
            raise Malformed("the notification nests deeper than any Braintree notification")
        if not self.path and name != "notification":
            raise Malformed("bt_payload is not a Braintree <notification>")
        if self.path == ["notification", "subject"] and self.subject is None:
            self.subject = name
        self.path.append(name)

    def end(self, name: str) -> None:
        self.path.pop()

    def text(self, data: str) -> None:
        key = self._key()
        if key is None:
            return
        parts = self.texts.setdefault(key, [])
        parts.append(data)
        if sum(len(part) for part in parts) > MAX_TEXT:
            raise Malformed(f"the notification's <{key[-1]}> is longer than Braintree writes")

    def _key(self) -> tuple[str, ...] | None:
        path = tuple(self.path)
        if path in (_KIND, _TIMESTAMP):
            return path
        if path == ("notification", "subject", self.subject, "id"):
            return ("subject", "id")
        return None

    def value(self, key: tuple[str, ...]) -> str | None:
        text = "".join(self.texts.get(key, ())).strip()
        return text or None


def _refuse_dtd(*args: object) -> NoReturn:
    raise Malformed("the notification declares a DTD, which Braintree never sends")


def read_notification(xml: bytes) -> Notification:
    """The notification's kind, timestamp and subject ID; `malformed` for anything else."""
    reader = _Reader()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    try:
        parser.Parse(xml, True)
    except (expat.ExpatError, ValueError) as err:
        raise Malformed("bt_payload is not well-formed XML") from err
    kind = reader.value(_KIND)
    if kind is None:
        raise Malformed("the notification has no <kind>")
    return Notification(
        kind=kind,
        timestamp=reader.value(_TIMESTAMP) or "",
        subject_id=reader.value(("subject", "id")),
        digest=hashlib.sha256(xml).hexdigest(),
    )
