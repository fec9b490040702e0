"""The root error every hookgate package derives its own from, and the two the base raises.

`hookgate` (the command) prints any `HookgateError` as one line and exits non-zero, whichever
package raised it: `gateway.GatewayError`, `consumers.ConsumerError` and these.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from hookgate import broker_urls


class HookgateError(Exception):
    """Root of every error hookgate raises on purpose."""


class ConfigError(HookgateError):
    """The config file is missing, unreadable or invalid. The message starts with the key path."""


class TopologyError(HookgateError):
    """The broker refused an exchange, queue or binding (e.g. declared before with other
    arguments), or the topology these credentials may only check is missing."""


def describe(err: BaseException, url: str) -> str:
    """An exception as one line for logs and CLI errors, with the URL's password masked."""
    return redact(f"{type(err).__name__}: {err}".strip(": "), url)


def redact(text: str, url: str) -> str:
    """`text` with the URL's password masked (each node's, for a cluster's URLs), cut to one
    short line."""
    for node in broker_urls.split(url):
        try:
            password = urlsplit(node).password
        except ValueError:
            continue
        # Both spellings, before truncating (or a cut password leaks): as written in the URL
        # and percent-decoded, as a client library may quote it.
        for spelling in {password, unquote(password)} if password else ():
            text = text.replace(spelling, "***")
    return " ".join(text.splitlines())[:300]
