"""Who is calling: the peer address, or the client a trusted proxy forwarded for.

`X-Forwarded-For` is honoured only when the peer itself is in `gateway.trusted_proxies`, and
then read from the right: each trusted hop is skipped, and the first address that is not a
trusted proxy is the client. Anything else in the header could have been written by the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from starlette.types import Scope

from gateway.config import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ClientAddress:
    def __init__(self, trusted_proxies: Sequence[Network]) -> None:
        self._trusted = tuple(trusted_proxies)

    def resolve(self, scope: Scope, headers: Mapping[str, str]) -> Address | None:
        """The client's address, or `None` when it cannot be told (no peer, garbage)."""
        client = scope.get("client")
        peer = _parse(client[0]) if client else None
        if peer is None or not self._trusted or not self._is_trusted(peer):
            return peer
        forwarded = headers.get("x-forwarded-for")
        if not forwarded:
            return peer
        hops = [_parse(hop) for hop in forwarded.split(",")]
        for hop in reversed(hops):
            if hop is None:
                return None  # a hop we cannot read: refuse to guess
            if not self._is_trusted(hop):
                return hop
        return hops[0]

    def _is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self._trusted)


def allowed(address: Address | None, networks: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def _parse(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; match them as IPv4.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address
