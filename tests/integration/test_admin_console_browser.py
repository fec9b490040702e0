"""The web console in Debian's headless chromium (Selenium; deploy/dev/ensure-chromium.sh
installs it, nothing downloads a browser): the real admin app served by uvicorn on a loopback
port, the real gateway app, a real consumer service and the recorder, all on the real broker.

An event fails until its handler is fixed and is dead-lettered; in the browser an operator
signs in, finds it by ID, opens its timeline, replays it and watches it turn `completed`.
Screenshots of each step go to tests/artifacts/console/ (gitignored); deploy/console.png is a
copy of `events.png` from a run. Without chromium the test fails, it does not skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import aiormq
import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from admin.app import create_admin_app
from admin.ledger import LedgerStore
from consumers import Event, Service
from hookgate.status import Status, StatusChange
from hookgate.status_publisher import StatusPublisher
from hookgate.topology import dead_queue
from tests.integration.broker import AMQP_URL
from tests.integration.cases import CASES
from tests.integration.conftest import Gateway, make_config, running_gateway
from tests.integration.consumer_kit import REPO, depth_is, eventually
from tests.integration.status_kit import emitting_worker, running_recorder, settled

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

TOKEN = "console-browser-token-0123456789abcdef"
CASE = CASES["stripe"]
ARTIFACTS = REPO / "tests" / "artifacts" / "console"
CHROMIUM = os.environ.get("HOOKGATE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HOOKGATE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 20.0  # seconds, for anything the browser waits on


@contextlib.contextmanager
def chromium() -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            pytest.fail(f"{path} is missing: run deploy/dev/ensure-chromium.sh")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1360,900")
    driver = webdriver.Chrome(options=options, service=DriverService(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # pytest keeps its own SIGINT handler


@contextlib.asynccontextmanager
async def serving(app: object) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free loopback port, in this event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started, 10, "uvicorn to start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def send(gw: Gateway, event_id: str) -> None:
    body = CASE.body(event_id)
    headers = CASE.sign(body, CASE.secrets[0], event_id, int(time.time()))
    answer = await gw.client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text


async def other_sources(ledger: LedgerStore) -> None:
    """A few events of other sources in other states, so the list looks like a real day's."""
    now = time.time()
    changes = []
    for status, source, kind, minutes in [
        (Status.RETRYING, "github", "push", 3),
        (Status.RUNNING, "shopify", "orders/create", 12),
        (Status.QUEUED, "github", "pull_request", 41),
    ]:
        event_id, at = f"{source}-{uuid.uuid4().hex[:12]}", now - 60 * minutes
        retrying = status is Status.RETRYING
        changes += [
            StatusChange(source, event_id, Status.ACCEPTED, at, event_type=kind, received_at=at),
            StatusChange(
                source,
                event_id,
                status,
                at + 1,
                service="notifier",
                attempt=1,
                detail="TimeoutError: upstream took 30 s" if retrying else None,
                next_attempt_at=now + 240 if retrying else None,
            ),
        ]
    await ledger.record(changes)


def browse(base: str, broken_id: str, service: str, fix: Callable[[], None]) -> None:
    """The operator's steps (blocking: run in a thread, the servers share this loop)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        wait = WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException])

        def shot(name: str) -> None:
            browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))

        browser.get(f"{base}/")
        assert browser.find_element(By.CSS_SELECTOR, "form.signin")  # no session: sign in
        browser.find_element(By.NAME, "token").send_keys("not-the-token-0123456789")
        browser.find_element(By.CSS_SELECTOR, "form.signin button").click()
        wait.until(lambda b: "not the admin token" in b.page_source)
        shot("sign-in-refused")
        browser.find_element(By.NAME, "token").send_keys(TOKEN)
        browser.find_element(By.CSS_SELECTOR, "form.signin button").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "table.events"))
        assert TOKEN not in browser.page_source
        assert all(c["name"] != "token" and TOKEN not in c["value"] for c in browser.get_cookies())
        wait.until(lambda b: "ago" in b.find_element(By.CSS_SELECTOR, "table.events time").text)
        shot("events")

        browser.find_element(By.NAME, "id").send_keys(broken_id)
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()

        def searched(b: WebDriver) -> list[str]:
            # The search's own page, loaded (not the list on screen before the browser left it).
            if f"id={broken_id}" not in b.current_url:
                return []
            if b.execute_script("return document.readyState") != "complete":
                return []
            return [r.text for r in b.find_elements(By.CSS_SELECTOR, "table.events tbody tr")]

        found = wait.until(searched)
        assert len(found) == 1, (browser.current_url, found)
        assert broken_id in found[0]
        rows = browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")
        shot("search")
        rows[0].find_element(By.LINK_TEXT, broken_id).click()

        def status(b: WebDriver) -> str:
            return str(b.find_element(By.ID, "event-status").text)

        wait.until(lambda b: status(b) == "failed")
        assert "is broken" in browser.find_element(By.CSS_SELECTOR, "ol.timeline").text
        shot("event-failed")

        browser.get(f"{base}/services/{service}")
        letters = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "ul.letters li"))
        assert broken_id in letters[0].text
        assert "RuntimeError" in letters[0].text
        letters[0].find_element(By.TAG_NAME, "summary").click()  # the traceback
        shot("dead-letters")
        browser.back()

        fix()
        replay = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "button.act.replay"))
        replay.click()
        wait.until(lambda b: "Replayed" in b.find_element(By.ID, "flash").text)
        wait.until(lambda b: status(b) == "completed")
        timeline = browser.find_element(By.CSS_SELECTOR, "ol.timeline").text
        assert "replayed" in timeline
        shot("event-completed")

        browser.get(f"{base}/services")
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "table.services"))
        shot("services")
        browser.get(f"{base}/sources")
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "table.sources"))
        shot("sources")
        # Nothing the pages do breaks their own Content-Security-Policy.
        logs = [entry["message"] for entry in browser.get_log("browser")]
        assert not [line for line in logs if "Content Security Policy" in line], logs


async def test_sign_in_find_a_dead_lettered_event_replay_it_and_watch_it_complete(
    exchange: str, make_service: Callable[..., Service], amqp: aiormq.abc.AbstractChannel
) -> None:
    broken: set[str] = set()
    service = make_service(retry_delays=(0.2, 0.3))

    @service.handler("stripe.#")
    async def handle(event: Event) -> None:
        if event.id in broken:
            raise RuntimeError(f"{event.id} is broken: no customer record yet")

    config = make_config(exchange, {"stripe": CASE.source_table()})
    status = StatusPublisher(AMQP_URL, exchange, name="hookgate-status-gateway")
    async with (
        running_recorder(exchange) as (recorder, ledger),
        running_gateway(config, status=status) as gw,
        emitting_worker(service, exchange, ledger),
    ):
        await gw.wait_connected()
        broken_id = f"evt_{uuid.uuid4().hex[:20]}"
        broken.add(broken_id)
        done = [f"evt_{uuid.uuid4().hex[:20]}" for _ in range(4)]
        for event_id in [done[0], done[1], broken_id, done[2], done[3]]:
            await send(gw, event_id)
        await other_sources(ledger)
        for event_id in done:
            await settled(ledger, "stripe", event_id, ["completed"])
        await settled(ledger, "stripe", broken_id, ["failed"])
        dead = dead_queue(service)
        await eventually(lambda: depth_is(amqp, dead, 1), 10, "the dead letter")
        app = create_admin_app(
            ledger, token=TOKEN, broker_url=AMQP_URL, exchange=exchange, record=recorder.record
        )
        async with serving(app) as base:
            await asyncio.to_thread(
                browse, base, broken_id, service.name, lambda: broken.discard(broken_id)
            )
        detail = await ledger.event("stripe", broken_id)
        assert detail is not None
        assert detail.summary.status is Status.COMPLETED
