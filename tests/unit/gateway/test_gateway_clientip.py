"""gateway.clientip: the caller's address, and X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.clientip import ClientAddress, allowed
from gateway.config import ConfigError, parse_config

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


def _resolve(peer: str | None, forwarded: str | None = None, trusted=PROXIES) -> str | None:
    scope = {"client": (peer, 443) if peer else None}
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    address = ClientAddress(trusted).resolve(scope, headers)
    return None if address is None else str(address)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "192.30.252.1", "203.0.113.9"),  # untrusted peer: header ignored
        ("10.1.2.3", "192.30.252.1", "192.30.252.1"),
        ("10.1.2.3", "6.6.6.6, 192.30.252.1", "192.30.252.1"),  # spoofed left part ignored
        ("10.1.2.3", "192.30.252.1, 10.9.9.9", "192.30.252.1"),  # a second trusted hop
        ("10.1.2.3", "10.5.5.5, 10.9.9.9", "10.5.5.5"),  # all trusted: the first
        ("10.1.2.3", None, "10.1.2.3"),
        ("10.1.2.3", "not-an-ip", None),  # unreadable: no guess
        ("10.1.2.3", "[2001:db8::1]:1234", "2001:db8::1"),
        ("10.1.2.3", "192.30.252.1:5555", "192.30.252.1"),
        ("fd00::1", "2001:db8::7", "2001:db8::7"),
        (None, "192.30.252.1", None),
        ("::ffff:192.30.252.1", None, "192.30.252.1"),  # a dual-stack listener's IPv4 peer
        ("::ffff:10.1.2.3", "192.30.252.1", "192.30.252.1"),
    ],
)
def test_forwarded_for_is_read_from_the_right_through_trusted_hops(
    peer: str | None, forwarded: str | None, client: str | None
) -> None:
    assert _resolve(peer, forwarded) == client


def test_without_trusted_proxies_the_header_never_counts() -> None:
    assert _resolve("10.1.2.3", "192.30.252.1", trusted=[]) == "10.1.2.3"


def test_allowed_needs_an_address_inside_a_range() -> None:
    github = [ipaddress.ip_network("192.30.252.0/22")]
    assert allowed(ipaddress.ip_address("192.30.253.7"), github)
    assert not allowed(ipaddress.ip_address("192.30.0.1"), github)
    assert not allowed(None, github)


def test_config_reads_and_checks_ranges() -> None:
    raw = {
        "gateway": {"trusted_proxies": ["10.0.0.0/8", "::1"]},
        "sources": {
            "github": {
                "provider": "github",
                "secrets": ["s"],
                "allowed_ips": ["192.30.252.0/22", "2a0a:a440::/29"],
            }
        },
    }
    config = parse_config(raw, {})
    assert [str(n) for n in config.gateway.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    assert [str(n) for n in config.sources["github"].allowed_ips] == [
        "192.30.252.0/22",
        "2a0a:a440::/29",
    ]
    assert "allowed_ips" not in config.sources["github"].options
    raw["sources"]["github"]["allowed_ips"] = ["192.30.252.0/33"]
    with pytest.raises(ConfigError, match=r"^sources\.github\.allowed_ips\[0\]: "):
        parse_config(raw, {})
    raw["sources"]["github"]["allowed_ips"] = ["10.0.0.5/8"]  # host bits: a typo, not a /8
    with pytest.raises(ConfigError, match="host bits set"):
        parse_config(raw, {})
    raw["sources"]["github"]["allowed_ips"] = "192.30.252.0/22"
    with pytest.raises(ConfigError, match="expected a list of IP addresses"):
        parse_config(raw, {})
