"""A broker address that names one node or several: the URLs of a RabbitMQ cluster's nodes.

`broker.url` is one URL or a list of them; `HOOKGATE_BROKER_URL` holds one or several,
separated by commas or whitespace. Inside hookgate the list travels as one string, the URLs
joined by a space (a URL never holds a raw space), so that every component taking "the broker
URL" takes a cluster as well; `split` gives the URLs back. A comma inside a URL (in a password,
say) is kept: only a comma or whitespace that comes before `amqp://` or `amqps://` separates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A separator is a run of commas and whitespace followed by the next URL's scheme.
_SEPARATOR = re.compile(r"[\s,]+(?=amqps?://)", re.IGNORECASE)


def split(urls: str) -> list[str]:
    """The node URLs in `urls` (one, or several joined by `join` or by commas), in order."""
    return [url for url in _SEPARATOR.split(urls.strip().strip(",").strip()) if url]


def join(urls: Iterable[str]) -> str:
    """Several node URLs as the one string the components take."""
    return " ".join(url.strip() for url in urls)
