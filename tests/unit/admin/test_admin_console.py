"""The web console over a memory ledger, through httpx's ASGI transport: signing in, the
session cookie, CSRF, escaping, and the pages (the broker is down: a closed port)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from admin.headers import CONTENT_SECURITY_POLICY
from admin.ledger_memory import MemoryLedger
from admin.sessions import COOKIE, Sessions, session_id
from admin.sparkline import sparkline
from hookgate.status import Status, StatusChange
from tests.unit.admin.test_admin_api import ROUTES, TOKEN, client_for, filled

pytestmark = pytest.mark.anyio

PAGES = ["/", "/?status=failed", "/events/stripe/evt_1", "/services", "/services/billing"]
PAGES += ["/sources", "/nowhere"]
REPLAY = "/api/events/stripe/evt_1/replay"


async def sign_in(client: httpx.AsyncClient, token: str = TOKEN, **form: str) -> httpx.Response:
    return await client.post("/login", data={"token": token, **form})


def csrf_of(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(await filled()) as c:
        yield c


@pytest.fixture
async def signed_in(client: httpx.AsyncClient) -> tuple[httpx.AsyncClient, str]:
    assert (await sign_in(client)).status_code == 303
    page = await client.get("/")
    return client, csrf_of(page.text)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    "credentials",
    [{}, {"cookie": f"{COOKIE}=made-up"}, {"Authorization": "Bearer wrong-token"}],
)
async def test_every_page_without_a_session_answers_401_with_the_sign_in_form(
    client: httpx.AsyncClient, path: str, credentials: dict[str, str]
) -> None:
    response = await client.get(path, headers=credentials)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert 'action="/login"' in response.text
    assert 'name="token"' in response.text
    assert TOKEN not in response.text


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_an_api_route_with_a_made_up_session_is_401_json(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, headers={"cookie": f"{COOKIE}=made-up"})
    assert response.status_code == 401
    assert response.json() == {"status": "unauthorized"}


async def test_a_wrong_token_gets_the_form_again_and_no_cookie(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, "wrong-token-0123456789")
    assert response.status_code == 401
    assert "not the admin token" in response.text
    assert "set-cookie" not in response.headers


async def test_signing_in_sets_a_strict_http_only_cookie_holding_no_token(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_in(client, next="/sources")
    assert response.status_code == 303
    assert response.headers["location"] == "/sources"
    set_cookie = response.headers["set-cookie"]
    flags = [part.strip() for part in set_cookie.split(";")]
    assert flags[0].startswith(f"{COOKIE}=")
    assert {"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"} <= set(flags)
    assert "Secure" not in flags  # plain http: a Secure cookie would never come back
    assert TOKEN not in set_cookie


async def test_over_https_the_cookie_is_secure() -> None:
    async with client_for(MemoryLedger()) as client:
        client.base_url = httpx.URL("https://admin")
        response = await sign_in(client)
    assert "Secure" in [part.strip() for part in response.headers["set-cookie"].split(";")]


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil", "x"])
async def test_sign_in_never_redirects_elsewhere(client: httpx.AsyncClient, target: str) -> None:
    response = await sign_in(client, next=target)
    assert response.headers["location"] == "/"


async def test_sign_in_from_another_origin_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/login", data={"token": TOKEN}, headers={"origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


async def test_a_session_opens_pages_and_api_reads(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = signed_in
    page = await client.get("/")
    assert page.status_code == 200
    assert "evt_1" in page.text
    assert "gh_1" in page.text
    assert TOKEN not in page.text
    api = await client.get("/api/events")
    assert api.status_code == 200
    assert len(api.json()["events"]) == 3


async def test_a_post_with_the_cookie_but_no_csrf_token_is_403(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, csrf = signed_in
    for headers in ({}, {"x-csrf-token": "wrong"}, {"x-csrf-token": csrf + "x"}):
        response = await client.post(REPLAY, headers=headers)
        assert response.status_code == 403
        assert response.json()["status"] == "forbidden"
        assert response.json()["detail"].startswith("csrf:")
    # with it, the request gets through to the route (whose broker is down)
    response = await client.post(REPLAY, headers={"x-csrf-token": csrf})
    assert response.status_code == 503


@pytest.mark.parametrize(
    "headers",
    [{"origin": "https://evil.example"}, {"origin": "null"}, {"sec-fetch-site": "cross-site"}],
)
async def test_a_post_from_another_site_is_403_even_with_the_csrf_token(
    signed_in: tuple[httpx.AsyncClient, str], headers: dict[str, str]
) -> None:
    client, csrf = signed_in
    response = await client.post(REPLAY, headers={"x-csrf-token": csrf, **headers})
    assert response.status_code == 403
    assert response.json()["detail"].startswith("origin:")


async def test_a_post_from_the_same_origin_passes(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, csrf = signed_in
    headers = {"x-csrf-token": csrf, "origin": "http://admin", "sec-fetch-site": "same-origin"}
    assert (await client.post(REPLAY, headers=headers)).status_code == 503


async def test_signing_out_needs_the_csrf_token_and_ends_the_session(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, csrf = signed_in
    assert (await client.post("/logout")).status_code == 403
    response = await client.post("/logout", headers={"x-csrf-token": csrf})
    assert response.status_code == 204
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert (await client.get("/api/events")).status_code == 401
    assert (await client.get("/")).status_code == 401


def test_a_session_expires() -> None:
    now = [1000.0]
    sessions = Sessions(lifetime=60, clock=lambda: now[0])
    new_id, _ = sessions.create()
    assert sessions.find(new_id) is not None
    now[0] += 61
    assert sessions.find(new_id) is None


def test_the_cookie_header_is_read_strictly() -> None:
    assert session_id(f"a=1; {COOKIE}=abc; b=2") == "abc"
    assert session_id(f"{COOKIE}=abc; {COOKIE}=def") is None  # which one? neither
    assert session_id(f"{COOKIE}=") is None
    assert session_id(None) is None


@pytest.mark.parametrize("path", ["/", "/api/events", "/login", "/static/console.css"])
async def test_every_answer_carries_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_style_sheet_and_script_are_served_without_a_session(
    client: httpx.AsyncClient,
) -> None:
    for path, kind in (("/static/console.css", "text/css"), ("/static/console.js", "javascript")):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"]


async def test_what_senders_chose_is_escaped_everywhere() -> None:
    nasty_id = '<script>alert("id")</script>'
    nasty_error = '<img src=x onerror="alert(1)">'
    ledger = MemoryLedger()
    await ledger.record(
        [
            StatusChange(
                "shop", nasty_id, Status.ACCEPTED, 1.0, event_type="<b>t</b>", received_at=1.0
            ),
            StatusChange(
                "shop", nasty_id, Status.FAILED, 2.0, service="svc", attempt=1, detail=nasty_error
            ),
        ]
    )
    async with client_for(ledger) as client:
        await sign_in(client)
        pages = [await client.get("/"), await client.get(f"/?id={nasty_id}")]
        listed = pages[0].text
        link = re.search(r'href="(/events/shop/[^"]+)"', listed)
        assert link
        pages.append(await client.get(link.group(1)))
    assert pages[2].status_code == 200
    for page in pages:
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "<b>t</b>" not in page.text
    assert "&lt;script&gt;" in pages[2].text
    assert "&lt;img src=x" in pages[2].text


async def test_searching_by_id_finds_the_event_in_any_source(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = signed_in
    page = await client.get("/?id=gh_1")
    assert page.status_code == 200
    assert "/events/github/gh_1" in page.text
    assert "evt_1" not in page.text
    none = await client.get("/?id=nope")
    assert "No event with that ID" in none.text


async def test_an_events_timeline_services_and_buttons(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = signed_in
    page = (await client.get("/events/stripe/evt_1")).text
    assert "KeyError: &#39;amount&#39;" in page
    assert 'data-action="/api/events/stripe/evt_1/replay" data-service="billing"' in page
    assert 'data-action="/api/events/stripe/evt_1/cancel" data-service="billing"' in page
    assert page.count('class="badge s-failed"') >= 2
    assert 'data-copy="evt_1"' in page


async def test_a_bad_filter_or_an_unknown_event_is_an_error_page(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = signed_in
    bad = await client.get("/?status=done")
    assert bad.status_code == 400
    assert "status: expected one of" in bad.text
    missing = await client.get("/events/stripe/nope")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]


async def test_services_and_sources_pages_with_the_broker_down(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = signed_in
    services = await client.get("/services")
    assert services.status_code == 200
    assert "billing" in services.text
    assert "broker-pw" not in services.text
    sources = await client.get("/sources")
    assert sources.status_code == 200
    assert "github" in sources.text
    assert "<svg" in sources.text  # per-minute counts (all zero: the events are old)
    assert (await client.get("/services/payroll")).status_code == 404


def test_a_sparkline_draws_a_bar_per_nonzero_minute() -> None:
    svg = str(sparkline([0, 1, 2, 0, 4]))
    assert svg.startswith("<svg")
    assert svg.count("<rect") == 3
    assert "7 in 5 min, at most 4" in svg


@pytest.mark.parametrize("values", [None, [], "1,2", [1, "2"], [True, 1], [-1, 2], {"a": 1}])
def test_a_sparkline_without_counts_says_no_data(values: object) -> None:
    assert "no data" in str(sparkline(values))


async def test_signing_in_again_ends_the_session_the_browser_had(
    signed_in: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = signed_in
    old = client.cookies[COOKIE]
    assert (await sign_in(client)).status_code == 303
    new = client.cookies[COOKIE]
    assert new != old
    client.cookies.clear()
    for value, status in ((old, 401), (new, 200)):
        response = await client.get("/api/events", headers={"cookie": f"{COOKIE}={value}"})
        assert response.status_code == status


def test_rates_are_charted_once_the_api_gives_per_minute_counts() -> None:
    # What `GET /api/sources` and `/api/services` add (refused, per_minute, outcomes).
    from starlette.requests import Request

    from admin.pages import Pages

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    minutes = [0] * 58 + [3, 5]
    sources = [
        {
            "source": "stripe",
            "accepted": 8,
            "duplicates": 1,
            "refused": {"invalid_signature": 2},
            "last_event_at": "2026-12-02T10:00:00.000Z",
            "per_minute": minutes,
        }
    ]
    page = Pages().render(request, "sources.html", sources=sources, complete=True).body
    assert b'<svg class="spark"' in page
    assert b"invalid_signature 2" in page
    service = {
        "name": "billing",
        "patterns": ["stripe.#"],
        "queues": {"work": "billing", "retry": [], "dead": "billing.dead"},
        "ready": 0,
        "consumers": 1,
        "retrying": 0,
        "dead": 0,
        "error": None,
        "outcomes_last_hour": {"completed": 7, "retrying": 1, "failed": 0},
        "per_minute": minutes,
    }
    page = Pages().render(request, "services.html", services=[service]).body
    assert b'<svg class="spark"' in page
    assert b'class="badge s-completed">completed 7' in page


async def test_older_events_follow_the_cursor_keeping_the_filters() -> None:
    ledger = MemoryLedger()
    await ledger.record(
        [
            StatusChange("shop", f"evt_{n:03}", Status.ACCEPTED, 1000.0 + n, received_at=1000.0 + n)
            for n in range(60)
        ]
    )
    async with client_for(ledger) as client:
        await sign_in(client)
        first = await client.get("/?source=shop")
        assert first.text.count('class="badge s-accepted"') == 50
        older = re.search(r'href="(/\?[^"]*cursor=[^"]+)">Older events', first.text)
        assert older
        assert "source=shop" in older.group(1)
        second = await client.get(older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert second.text.count('class="badge s-accepted"') == 10
    assert "evt_000" in second.text
    assert "Older events" not in second.text
