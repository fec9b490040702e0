"""Cancel through the admin API (`admin.cancel`, over a memory ledger; the stream publish is
replaced by a list, or points at a closed port), the ledger model's rule that a cancel outranks
`running` and `retrying`, and `hookgate events cancel`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from admin.app import create_admin_app
from admin.cancel import CancelSender
from admin.ledger_memory import MemoryLedger
from admin.model import EventState
from hookgate.cancel import Cancellation
from hookgate.cli import main
from hookgate.status import Status, StatusChange
from tests.cli_output import one_error_line
from tests.unit.admin.test_admin_api import AUTH, TOKEN, client_for, filled
from tests.unit.admin.test_admin_cli import served

pytestmark = pytest.mark.anyio
T = 1_700_000_000.0


def _change(status: Status, at: float, attempt: int | None = None, **kw: object) -> StatusChange:
    return StatusChange("stripe", "evt_1", status, at, service="billing", attempt=attempt, **kw)  # type: ignore[arg-type]


async def _ledger() -> MemoryLedger:
    """evt_1 failed for billing (filled()); evt_3 retrying for billing, completed for ci."""
    ledger = await filled()
    await ledger.record(
        [
            StatusChange(
                "stripe", "evt_3", Status.ACCEPTED, T, event_type="invoice.paid", received_at=T
            ),
            StatusChange("stripe", "evt_3", Status.QUEUED, T, service="billing"),
            StatusChange("stripe", "evt_3", Status.QUEUED, T, service="ci"),
            StatusChange("stripe", "evt_3", Status.COMPLETED, T + 1, service="ci", attempt=1),
            StatusChange(
                "stripe",
                "evt_3",
                Status.RETRYING,
                T + 1,
                service="billing",
                attempt=1,
                next_attempt_at=T + 3601,
            ),
        ]
    )
    return ledger


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Cancellation]:
    cancels: list[Cancellation] = []

    async def send(self: CancelSender, cancel: Cancellation) -> None:
        cancels.append(cancel)

    monkeypatch.setattr(CancelSender, "send", send)
    return cancels


@pytest.mark.parametrize(
    ("later", "first_cancel"),
    [
        (_change(Status.RETRYING, T + 2, 1), True),
        (_change(Status.RETRYING, T + 2, 1), False),
        (_change(Status.RUNNING, T + 3, 2), True),
        (_change(Status.RUNNING, T + 3, 2), False),
    ],
)
def test_a_cancel_outranks_running_and_retrying_in_any_order(
    later: StatusChange, first_cancel: bool
) -> None:
    cancel = _change(Status.CANCELLED, T + 1, detail="cancelled by api")
    state = EventState("stripe", "evt_1").apply(_change(Status.QUEUED, T))
    for change in (cancel, later) if first_cancel else (later, cancel):
        state = state.apply(change)
    assert state.services["billing"].status is Status.CANCELLED
    assert state.status is Status.CANCELLED


def test_completed_failed_and_a_replays_queued_after_a_cancel_replace_it() -> None:
    cancelled = EventState("stripe", "evt_1").apply(_change(Status.CANCELLED, T))
    for status in (Status.COMPLETED, Status.FAILED, Status.QUEUED):
        after = cancelled.apply(_change(status, T + 1, 1 if status is not Status.QUEUED else None))
        assert after.services["billing"].status is status
    # ... but not when they came before it.
    assert cancelled.apply(_change(Status.QUEUED, T - 1)).services["billing"].status is (
        Status.CANCELLED
    )


async def test_cancel_sends_one_cancel_for_the_busy_services_and_records_it(
    sent: list[Cancellation],
) -> None:
    ledger = await _ledger()
    async with client_for(ledger) as client:
        response = await client.post("/api/events/stripe/evt_3/cancel", headers=AUTH)
    assert response.status_code == 202
    assert response.json() == {"cancelled": ["billing"]}  # ci completed it
    [cancel] = sent
    assert (cancel.source, cancel.event_id, cancel.services, cancel.by) == (
        "stripe",
        "evt_3",
        {"billing": 0},
        "api",
    )
    detail = await ledger.event("stripe", "evt_3")
    assert detail is not None
    assert detail.services["billing"].status is Status.CANCELLED
    assert detail.summary.status is Status.CANCELLED  # every service not completed cancelled
    [step] = [c for c in detail.timeline if c.status is Status.CANCELLED]
    assert (step.service, step.attempt, step.detail) == ("billing", None, "cancelled by api")


async def test_cancel_of_one_service_and_the_overall_status(sent: list[Cancellation]) -> None:
    ledger = await _ledger()
    await ledger.record([StatusChange("stripe", "evt_3", Status.QUEUED, T, service="audit")])
    async with client_for(ledger) as client:
        response = await client.post(
            "/api/events/stripe/evt_3/cancel", headers=AUTH, json={"service": "audit"}
        )
    assert response.json() == {"cancelled": ["audit"]}
    assert sent[0].services == {"audit": 0}
    detail = await ledger.event("stripe", "evt_3")
    assert detail is not None
    assert detail.summary.status is Status.RETRYING  # billing still retries


async def test_a_cancel_is_for_the_replay_round_the_ledger_knows(
    sent: list[Cancellation],
) -> None:
    ledger = await _ledger()
    await ledger.record(
        [
            StatusChange("stripe", "evt_1", Status.REPLAYED, T + 9, service="billing"),
            StatusChange("stripe", "evt_1", Status.QUEUED, T + 9, service="billing", replay=1),
        ]
    )
    async with client_for(ledger) as client:
        response = await client.post("/api/events/stripe/evt_1/cancel", headers=AUTH)
    assert response.status_code == 202
    assert sent[0].services == {"billing": 1}


async def test_cancel_of_a_finished_event_is_409(sent: list[Cancellation]) -> None:
    ledger = await _ledger()
    async with client_for(ledger) as client:
        failed = await client.post("/api/events/stripe/evt_1/cancel", headers=AUTH)
        done = await client.post(
            "/api/events/stripe/evt_3/cancel", headers=AUTH, json={"service": "ci"}
        )
    assert failed.status_code == done.status_code == 409
    assert failed.json()["status"] == "already_finished"
    assert "ci already completed or failed it" in done.json()["detail"]
    assert sent == []


async def test_cancel_of_an_unknown_event_or_service_is_404(sent: list[Cancellation]) -> None:
    async with client_for(await _ledger()) as client:
        event = await client.post("/api/events/stripe/nope/cancel", headers=AUTH)
        service = await client.post(
            "/api/events/stripe/evt_3/cancel", headers=AUTH, json={"service": "payroll"}
        )
    assert event.status_code == service.status_code == 404
    assert "no announced service" in service.json()["detail"]
    assert sent == []


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"service": 3}', b'{"x": 1}'])
async def test_cancel_refuses_a_bad_body(body: bytes, sent: list[Cancellation]) -> None:
    async with client_for(await _ledger()) as client:
        response = await client.post("/api/events/stripe/evt_3/cancel", headers=AUTH, content=body)
    assert response.status_code == 400
    assert sent == []


async def test_cancel_needs_the_token() -> None:
    async with client_for(await _ledger()) as client:
        response = await client.post("/api/events/stripe/evt_3/cancel")
    assert response.status_code == 401


async def test_cancel_with_the_broker_down_is_503_and_records_nothing() -> None:
    ledger = await _ledger()
    async with client_for(ledger) as client:
        response = await client.post("/api/events/stripe/evt_3/cancel", headers=AUTH)
    assert response.status_code == 503
    assert "broker-pw" not in response.text
    detail = await ledger.event("stripe", "evt_3")
    assert detail is not None
    assert detail.services["billing"].status is Status.RETRYING


@pytest.fixture(scope="module")
def admin_url() -> Iterator[str]:
    app = create_admin_app(
        asyncio.run(_ledger()), token=TOKEN, broker_url="amqp://127.0.0.1:1/", exchange="w"
    )
    with served(app) as url:
        yield url


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKGATE_ADMIN_TOKEN", TOKEN)


@pytest.mark.usefixtures("token")
def test_events_cancel_prints_the_services(
    admin_url: str, sent: list[Cancellation], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "cancel", "--admin-url", admin_url, "stripe", "evt_3"]) == 0
    assert capsys.readouterr().out == "cancelled stripe evt_3 for billing\n"
    assert [c.event_id for c in sent] == ["evt_3"]


@pytest.mark.usefixtures("token")
def test_events_cancel_of_a_finished_event_is_one_line(
    admin_url: str, sent: list[Cancellation], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["events", "cancel", "--admin-url", admin_url, "--service", "ci", "stripe", "evt_3"]
    assert main(argv) == 2
    assert "answered 409: ci already completed or failed it" in one_error_line(capsys)


@pytest.mark.usefixtures("token")
def test_events_cancel_with_the_broker_down_is_one_line(
    admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "cancel", "--admin-url", admin_url, "stripe", "evt_3"]) == 2
    assert "answered 503: the broker is unavailable" in one_error_line(capsys)


def test_events_cancel_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["events", "cancel", "--help"])
    assert exited.value.code == 0
    assert "--service NAME" in capsys.readouterr().out
    assert httpx  # the API tests' client
