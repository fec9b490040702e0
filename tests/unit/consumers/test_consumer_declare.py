"""consumers.declare (`hookgate topology declare`): a broker that cannot be reached is one
`ConsumerError` line, with the URL's password masked."""

from __future__ import annotations

from typing import Any

import aiormq
import pytest

from consumers.declare import declare_all
from consumers.errors import ConsumerError


@pytest.mark.anyio
async def test_declare_all_failure_is_one_consumer_error_with_the_password_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "amqp://admin:Sup3rS3cret@rabbit.invalid:5672/"

    async def refuse(address: str, *args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError(f"cannot connect to {address}")

    monkeypatch.setattr(aiormq, "connect", refuse)

    with pytest.raises(ConsumerError, match="cannot connect to the broker") as info:
        await declare_all(url, "webhooks")
    message = str(info.value)
    assert "Sup3rS3cret" not in message
    assert "admin:***@rabbit.invalid" in message
    assert "ConnectionRefusedError" in message
