"""The gateway's own errors. Messages name the key, the value or the fix."""

from __future__ import annotations

from urllib.parse import urlsplit

from hookgate.observe import PublishFailure


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""


class ConfigError(GatewayError):
    """The config file is missing, unreadable or invalid. The message starts with the key path."""


class DedupeUnavailable(GatewayError):
    """The dedupe store cannot be read or written (locked too long, disk error)."""


class PublishFailed(GatewayError):
    """The broker did not confirm a publish: `reason` is a bounded metric label."""

    def __init__(self, reason: PublishFailure, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def describe(err: BaseException, url: str) -> str:
    """An exception as one line for logs and CLI errors, with the URL's password masked."""
    return redact(f"{type(err).__name__}: {err}".strip(": "), url)


def redact(text: str, url: str) -> str:
    """`text` with the URL's password masked, cut to one short line."""
    password = urlsplit(url).password
    if password:
        text = text.replace(password, "***")  # before truncating, or a cut password leaks
    return text[:300]
