"""`application/x-www-form-urlencoded` bodies, read before their signature is checked (Twilio,
Square's forms, Mandrill, Plivo, Braintree, Travis): bounded, and decoded without the memory
`urllib.parse.parse_qsl` spends on a body full of escapes.
"""

from __future__ import annotations

from providers.errors import InvalidSignature

#: A Twilio request carries tens of parameters and a few thousand percent-escapes at most.
#: Decoding costs Python time per escape and sorting per field, so a body beyond either limit
#: is refused before any decoding (a 1 MiB form of 150k fields took 0.5 s to sort and sign).
MAX_FORM_FIELDS = 1000
MAX_FORM_ESCAPES = 32_768


def form_pairs(raw: bytes) -> list[tuple[str, str]]:
    """The `application/x-www-form-urlencoded` body's (name, value) pairs, in order, as
    `urllib.parse.parse_qsl(text, keep_blank_values=True)` reads them, or `invalid_signature`.

    A body beyond `MAX_FORM_FIELDS` or `MAX_FORM_ESCAPES`, or not UTF-8, is refused before any
    decoding. Escapes are decoded without splitting the body at every `%` (what `parse_qsl`
    does), so a forged body's decoding costs memory in proportion to its size: a 64 KiB body
    of 20,000 escapes peaked at 7 MiB through `parse_qsl`.
    """
    if raw.count(b"&") >= MAX_FORM_FIELDS:
        raise InvalidSignature("form body has more fields than a webhook sender sends")
    if raw.count(b"%") > MAX_FORM_ESCAPES:
        raise InvalidSignature("form body has more percent-escapes than a webhook sender sends")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidSignature("form body is not UTF-8") from err
    pairs = []
    for field in raw.split(b"&"):
        if field:
            name, _, value = field.partition(b"=")
            pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


#: Every two-character escape (either case) and the byte it stands for.
_ESCAPES = {
    bytes([a, b]): int(bytes([a, b]), 16)
    for a in b"0123456789abcdefABCDEF"
    for b in b"0123456789abcdefABCDEF"
}


def _unquote_plus(raw: bytes) -> str:
    """`urllib.parse.unquote_plus` for a UTF-8 field: `+` is a space, `%XX` a byte (a `%` not
    followed by two hex digits stays as is), decoded as UTF-8 with replacement."""
    raw = raw.replace(b"+", b" ")
    if b"%" not in raw:
        return raw.decode("utf-8", "replace")
    out = bytearray()
    start = 0
    while (at := raw.find(b"%", start)) >= 0:
        byte = _ESCAPES.get(raw[at + 1 : at + 3])
        if byte is None:
            out += raw[start : at + 1]
            start = at + 1
        else:
            out += raw[start:at]
            out.append(byte)
            start = at + 3
    out += raw[start:]
    return out.decode("utf-8", "replace")
