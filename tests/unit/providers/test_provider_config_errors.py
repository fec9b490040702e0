"""Provider option errors: blank secrets and tokens are refused, and no error shows a value."""

from __future__ import annotations

from typing import Any

import pytest

from providers import ProviderConfigError, installed, load
from providers.testing import build_provider
from tests.unit.providers._catalogue import PUBLIC_HALF, TABLE, key_option

#: A value that must never appear in an error message.
CANARY = "sk_live_CANARY_9f8e7d"

BUILT_IN = sorted(p.name for p in installed() if p.target.startswith("providers."))
SHARED_SECRET = [name for name in BUILT_IN if name not in PUBLIC_HALF]


def _valid_options(name: str) -> dict[str, Any]:
    if name == "hmac":
        return {"signature_header": "x-signature"}
    return dict(TABLE[name][3]) if name in TABLE else {}


@pytest.mark.parametrize("blank", ["", " ", "\t", " \n "])
@pytest.mark.parametrize("name", SHARED_SECRET)
def test_blank_secret_is_refused_by_index_for_every_shared_secret_provider(
    name: str, blank: str
) -> None:
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.secrets\[1\]: "):
        build_provider(load(name), ["a-real-secret", blank], options=_valid_options(name))


@pytest.mark.parametrize("blank", ["", "  ", "\n"])
def test_blank_verify_token_is_refused(blank: str) -> None:
    with pytest.raises(ProviderConfigError, match=r"^sources\.test\.verify_token: .*blank"):
        build_provider(load("meta"), ["app-secret"], options={"verify_token": blank})


@pytest.mark.parametrize("name", sorted(PUBLIC_HALF))
def test_blank_public_key_in_a_list_is_refused_by_index(name: str) -> None:
    option = key_option(name)
    with pytest.raises(ProviderConfigError, match=rf"^sources\.test\.{option}\[0\]: "):
        build_provider(load(name), [], options={**_valid_options(name), option: ["   "]})


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("gitlab", {"scheme": CANARY}),
        ("hmac", {"signature_header": "x-sig", "algorithm": CANARY}),
        ("hmac", {"signature_header": "x-sig", "encoding": CANARY}),
        ("discord", {"public_key": CANARY}),
        ("sendgrid", {"public_key": CANARY}),
        ("plaid", {"public_key": CANARY}),
        ("standard-webhooks", {"public_key": CANARY}),
        ("twilio", {"public_url": CANARY}),
        ("square", {"public_url": CANARY}),
        ("hmac", {"signature_header": "x-sig", "event_id_pointer": CANARY}),
        ("okta", {"auth_header": f"{CANARY} x"}),
    ],
)
def test_option_errors_never_show_the_configured_value(name: str, options: dict[str, Any]) -> None:
    secrets: list[str] = [] if name in PUBLIC_HALF else ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    if name == "standard-webhooks":
        secrets = []

    with pytest.raises(ProviderConfigError) as caught:
        build_provider(load(name), secrets, options=options)

    assert CANARY not in str(caught.value)
    assert str(caught.value).startswith("sources.test.")


def test_bad_secret_errors_never_show_the_secret() -> None:
    with pytest.raises(ProviderConfigError) as caught:
        build_provider(load("svix"), [f"whsec_{CANARY}!"])

    assert CANARY not in str(caught.value)
    assert str(caught.value).startswith("sources.test.secrets[0]: ")
