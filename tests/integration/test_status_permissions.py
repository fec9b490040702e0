"""The permissions deploy/README.md documents for event status (an `[admin]` table), on the real
broker, in a throwaway vhost with throwaway users: the gateway's user (`status=True`) gets
events accepted and their status through; a service's user (`status=True`) consumes, emits
status and reads operators' cancels; `hookgate admin`'s user records, archives, replays from a
dead-letter queue and from the archive, and cancels. None meets ACCESS_REFUSED doing its job,
each is refused what it does not need, and the gateway's line without status is refused the
status exchange."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import aiormq
import pytest
from prometheus_client import CollectorRegistry

from admin import archive
from admin.archive import ArchiveView
from admin.archiver import Archiver
from admin.cancel import CancelSender
from admin.ledger import LedgerStore
from admin.ledger_memory import MemoryLedger
from admin.queues import BrokerView
from admin.recorder import Recorder
from consumers import Event, Reject, Service
from consumers.cancellations import CancelReader, CancelSet
from consumers.permissions import (
    admin_permissions,
    deployer_permissions,
    gateway_permissions,
    service_permissions,
)
from consumers.status_observer import ConsumerStatus
from hookgate.cancel import Cancellation
from hookgate.status import Status
from hookgate.status_publisher import StatusPublisher
from hookgate.topology import (
    archive_inbox,
    cancel_stream,
    declare_service_topology,
    ledger_queue,
    status_exchange,
)
from tests.integration.cases import CASES
from tests.integration.conftest import make_config, running_gateway
from tests.integration.consumer_kit import eventually, running_worker
from tests.integration.permission_kit import Attempt, Broker, refusals, throwaway_broker
from tests.integration.status_kit import settled

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

EXCHANGE = "webhooks"  # the vhost is the test's own: the documented names can be used as they are
SERVICE = "billing"
GITHUB = CASES["github"]
MIB64 = 64 * 2**20


@pytest.fixture
def broker() -> Iterator[Broker]:
    with throwaway_broker() as b:
        yield b


async def test_with_event_status_each_user_does_its_job_and_the_old_gateway_line_cannot(
    broker: Broker,
) -> None:
    gateway_url = broker.user("gateway", gateway_permissions(EXCHANGE, status=True))
    old_gateway_url = broker.user("gateway-old", gateway_permissions(EXCHANGE))
    service_url = broker.user(SERVICE, service_permissions(SERVICE, EXCHANGE, status=True))
    admin_url = broker.user("admin", admin_permissions(EXCHANGE))
    deploy_url = broker.user("deploy", deployer_permissions(EXCHANGE, [SERVICE]))

    runs: list[str] = []
    service = Service(SERVICE, retry_delays=(0.3,))
    ok, parked, cancelled = (f"perm-{n}-{uuid.uuid4().hex[:8]}" for n in range(3))

    @service.handler("github.#")
    async def handle(event: Event) -> None:
        runs.append(event.id)
        if event.id == parked and runs.count(parked) == 1:
            raise Reject("parked on purpose")

    deployer = await aiormq.connect(deploy_url)
    try:
        await declare_service_topology(deployer, service, EXCHANGE)
    finally:
        await deployer.close()

    async with running_admin(admin_url, [h.pattern for h in service.handlers]) as ledger:
        # hookgate admin declares the cancel stream at its first cancel: before the service
        # starts, so its reader must read it (the service may not declare it).
        await CancelSender(admin_url, EXCHANGE).send(
            Cancellation("github", cancelled, {SERVICE: 0}, time.time(), "api")
        )
        async with (
            running_service(service, service_url) as reader,
            running_gateway(
                make_config(EXCHANGE, {"github": GITHUB.source_table()}, broker_url=gateway_url),
                status=StatusPublisher(gateway_url, EXCHANGE, name="hookgate-status-gateway"),
            ) as gw,
        ):
            assert reader.read == 1
            await gw.wait_connected()
            for delivery in (ok, parked, cancelled):
                body = GITHUB.body(delivery)
                headers = GITHUB.sign(body, GITHUB.secrets[0], delivery, 0)
                answer = await gw.client.post("/webhooks/github", content=body, headers=headers)
                assert answer.json()["status"] == "accepted", answer.text

            # The gateway's `accepted` and the service's outcomes reached the ledger.
            await settled(ledger, "github", ok, ["completed"])
            await settled(ledger, "github", parked, ["failed"])
            await settled(ledger, "github", cancelled, ["cancelled"])
            for event_id in (ok, parked, cancelled):
                assert Status.ACCEPTED in await _statuses(ledger, event_id)
            assert cancelled not in runs

            # hookgate admin replays the dead letter, then the completed event from the archive.
            replay = await BrokerView(admin_url).replay("github", parked, [SERVICE])
            assert replay.replayed == [SERVICE]
            await eventually(lambda: runs.count(parked) == 2, 15, "the dead letter replayed")
            async with ArchiveView(admin_url, EXCHANGE).session() as session:
                found, _ = await session.find("github", ok, None)
                assert found is not None
                await session.republish(found, SERVICE, 1)
            await eventually(lambda: runs.count(ok) == 2, 15, "the archived event replayed")

    await _assert_refused(gateway_url, old_gateway_url, service_url, admin_url)


@contextlib.asynccontextmanager
async def running_admin(url: str, patterns: list[str]) -> AsyncIterator[LedgerStore]:
    """What `hookgate admin` runs with the broker, as `url`: the recorder into a memory
    ledger, and the archive (declared, bound with `patterns`) with its archiver."""
    ledger = MemoryLedger()
    recorder = Recorder(url, EXCHANGE, ledger, CollectorRegistry(), linger=0.02)
    await archive.declare(url, EXCHANGE, 1, MIB64, patterns)
    archiver = Archiver(url, EXCHANGE, retention_days=1, max_bytes=MIB64)
    tasks = [asyncio.create_task(recorder.run()), asyncio.create_task(archiver.run())]
    try:
        async with asyncio.timeout(15):
            await recorder.consuming.wait()
            await archiver.consuming.wait()
        yield ledger
    finally:
        recorder.stop()
        archiver.stop()
        async with asyncio.timeout(15):
            await asyncio.gather(*tasks)


@contextlib.asynccontextmanager
async def running_service(service: Service, url: str) -> AsyncIterator[CancelReader]:
    """What `hookgate consume` runs with an `[admin]` table, as `url`: status out, cancels in
    (read before it consumes), the worker; its announcement sent."""
    publisher = StatusPublisher(url, EXCHANGE, name=f"hookgate-status-{service.name}")
    status = ConsumerStatus(publisher, service)
    reader = CancelReader(url, EXCHANGE, CancelSet())
    await publisher.start()
    reading = asyncio.create_task(reader.run())
    try:
        await reader.wait_caught_up()
        async with running_worker(
            service, EXCHANGE, url=url, observers=[status], cancellations=reader.cancels
        ):
            publisher.emit(status.announcement())
            yield reader
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await publisher.close()


async def _assert_refused(gateway: str, old_gateway: str, service: str, admin: str) -> None:
    """Each user is refused what its job does not need; the old gateway line, status."""
    status = status_exchange(EXCHANGE)

    def publish(exchange: str) -> Attempt:
        return lambda ch: ch.basic_publish(b"x", exchange=exchange, routing_key="x.y")

    expected: dict[str, dict[str, Attempt]] = {
        old_gateway: {"publish status": publish(status)},
        gateway: {
            "declare the status exchange": lambda ch: ch.exchange_declare(
                status, exchange_type="topic", durable=True
            ),
            "read the ledger queue": lambda ch: ch.basic_get(ledger_queue(EXCHANGE)),
            "read the cancel stream": lambda ch: ch.basic_get(cancel_stream(EXCHANGE)),
        },
        service: {
            "delete the cancel stream": lambda ch: ch.queue_delete(cancel_stream(EXCHANGE)),
            "read the ledger queue": lambda ch: ch.basic_get(ledger_queue(EXCHANGE)),
            "read the archive inbox": lambda ch: ch.basic_get(archive_inbox(EXCHANGE)),
            "publish to the ingress exchange": publish(EXCHANGE),
        },
        admin: {
            "publish to the ingress exchange": publish(EXCHANGE),
            "read a work queue": lambda ch: ch.basic_get(SERVICE),
            "declare a service's queue": lambda ch: ch.queue_declare("shipping"),
            "delete the ingress exchange": lambda ch: ch.exchange_delete(EXCHANGE),
        },
    }
    for url, attempts in expected.items():
        connection = await aiormq.connect(url)
        try:
            assert await refusals(connection, attempts) == set(attempts), url.split("@")[0]
        finally:
            await connection.close()


async def _statuses(ledger: LedgerStore, event_id: str) -> set[Status]:
    detail = await ledger.event("github", event_id)
    return set() if detail is None else {change.status for change in detail.timeline}
