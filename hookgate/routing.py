"""The routing key an event travels under (`{source}.{event_type}`, normalised), and how a
topic pattern matches it.

The gateway publishes under it and consumer services match their handlers against it, so both
must compute it the same way: one function, here.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NOT_ROUTABLE = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_ROUTING_KEY = 255  # AMQP shortstr


@lru_cache(maxsize=4096)
def routing_key(source: str, event_type: str) -> str:
    """`{source}.{event_type}`, the type normalised to `[A-Za-z0-9_.-]` (`unknown` if empty).

    >>> routing_key("shopify", "orders/create")
    'shopify.orders_create'
    """
    normalised = _NOT_ROUTABLE.sub("_", event_type) or "unknown"
    return f"{source}.{normalised}"[:_MAX_ROUTING_KEY]


def topic_matches(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(topic_matches(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and topic_matches(rest, words[1:])
