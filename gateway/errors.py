"""The gateway's own errors. Messages name the key, the value or the fix."""

from __future__ import annotations

from hookgate.errors import ConfigError, HookgateError, describe, redact

__all__ = [
    "ConfigError",
    "DedupeUnavailable",
    "GatewayError",
    "PublishFailed",
    "describe",
    "redact",
]

from hookgate.observe import PublishFailure


class GatewayError(HookgateError):
    """Root of every error the gateway raises on purpose (`ConfigError` is `hookgate`'s)."""


class DedupeUnavailable(GatewayError):
    """The dedupe store cannot be read or written (locked too long, disk error)."""


class PublishFailed(GatewayError):
    """The broker did not confirm a publish: `reason` is a bounded metric label."""

    def __init__(self, reason: PublishFailure, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
