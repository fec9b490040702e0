"""providers.keyfetch: the allow-listed, bounded, single-flight key cache, and the gateway's side
of it (`gateway.provider_io`). Real fetches go to a loopback server (`tests.keyserver`)."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest

from gateway.provider_io import FollowUps, verify_after_load
from gateway.testing import message_for
from providers import InvalidSignature, KeyUnavailable, VerifiedEvent, WebhookRequest
from providers.builtin.aws_sns import DEFAULT_TOPIC, AwsSnsProvider
from providers.keyfetch import Fetched, FetchFailed, KeyFetcher, Parsed, UrlRule
from tests.keyserver import KeyServer, LoopbackRule
from tests.unit.providers._catalogue import SNS_MESSAGE, rsa_pkcs8, sns_certificate, sns_sign_body

RULE = UrlRule(re.compile(r"keys\.example\.com"), re.compile(r"/[a-z0-9-]+\.pem"))


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingTransport:
    """Serves `body` for every URL after `delay` seconds (in the worker thread), counting."""

    def __init__(self, body: bytes = b"key", delay: float = 0.0, cache_control: str = "") -> None:
        self.body = body
        self.delay = delay
        self.cache_control = cache_control
        self.urls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, url: str, timeout: float, max_bytes: int) -> Fetched:
        with self._lock:
            self.urls.append(url)
        time.sleep(self.delay)
        return Fetched(self.body, self.cache_control)


def text(body: bytes) -> Parsed[str]:
    return Parsed(body.decode())


def _fetcher(transport: object, **kwargs: object) -> KeyFetcher[str]:
    return KeyFetcher("test", text, RULE, transport=transport, **kwargs)  # type: ignore[arg-type]


def _missing(fetcher: KeyFetcher[str], url: str, now: float = 1_000_000.0) -> KeyUnavailable:
    with pytest.raises(KeyUnavailable) as caught:
        fetcher.get(url, now)
    return caught.value


async def _load(fetcher: KeyFetcher[str], url: str, now: float = 1_000_000.0) -> str:
    missing = _missing(fetcher, url, now)
    assert missing.load is not None
    await missing.load()
    return fetcher.get(url, now)


def test_a_miss_is_key_unavailable_with_a_load_then_the_value() -> None:
    transport = CountingTransport(b"the-key")
    fetcher = _fetcher(transport, clock=Clock())
    assert asyncio.run(_load(fetcher, "https://keys.example.com/a.pem")) == "the-key"
    assert transport.urls == ["https://keys.example.com/a.pem"]
    assert KeyUnavailable.status == "key_unavailable"


@pytest.mark.parametrize(
    "url",
    [
        "http://keys.example.com/a.pem",
        "HTTPS://keys.example.com/a.pem",
        "https://keys.example.com:443/a.pem",
        "https://user@keys.example.com/a.pem",
        "https://user:pw@keys.example.com/a.pem",
        "https://keys.example.com./a.pem",
        "https://keys.example.com%2e/a.pem",
        "https://keys%2eexample.com/a.pem",
        "https://evil.example.com/a.pem",
        "https://keys.example.com.evil.net/a.pem",
        "https://127.0.0.1/a.pem",
        "https://[::1]/a.pem",
        "https://keys.example.com/a.pem?x=1",
        "https://keys.example.com/a.pem?",
        "https://keys.example.com/a.pem#frag",
        "https://keys.example.com/a.txt",
        "https://keys.example.com/../a.pem",
        "https://keys.example.com//a.pem",
        "https://keys.example.com\\@evil.net/a.pem",
        "https://keys.example.com/a .pem",
        "https://keys.example.com/a\n.pem",
        "https://keys.exämple.com/a.pem",
        "//keys.example.com/a.pem",
        "file:///etc/passwd",
        "",
        "https://keys.example.com/" + "a" * 3000 + ".pem",
    ],
)
def test_off_list_urls_are_refused_and_nothing_is_fetched(url: str) -> None:
    transport = CountingTransport()
    fetcher = _fetcher(transport)
    with pytest.raises(InvalidSignature) as caught:
        fetcher.get(url, 1_000_000.0)
    assert not isinstance(caught.value, KeyUnavailable)
    assert caught.value.status == "invalid_signature"
    with pytest.raises(InvalidSignature):
        fetcher.reload(url, 1_000_000.0)
    assert transport.urls == []
    assert len(fetcher) == 0


def test_many_concurrent_requests_share_one_fetch() -> None:
    transport = CountingTransport(b"shared", delay=0.2)
    fetcher = _fetcher(transport)
    url = "https://keys.example.com/a.pem"

    async def main() -> list[str]:
        return await asyncio.gather(*(_load(fetcher, url) for _ in range(50)))

    assert asyncio.run(main()) == ["shared"] * 50
    assert transport.urls == [url]
    assert fetcher.fetches == 1


def test_the_cache_is_bounded_least_recently_used_out_first() -> None:
    transport = CountingTransport()
    fetcher = _fetcher(transport, max_entries=3)
    urls = [f"https://keys.example.com/k{i}.pem" for i in range(5)]

    async def main() -> None:
        for url in urls[:3]:
            await _load(fetcher, url)
        fetcher.get(urls[0], time.time())  # k0 used: k1 is now the oldest
        for url in urls[3:]:
            await _load(fetcher, url)

    asyncio.run(main())
    assert len(fetcher) == 3
    assert fetcher.get(urls[0], time.time()) == "key"
    for gone in urls[1:3]:
        assert _missing(fetcher, gone, time.time()).load is not None


def test_entries_expire_at_the_first_of_not_after_max_age_and_cache_control() -> None:
    clock = Clock()
    start = clock.now
    url = "https://keys.example.com/a.pem"

    def expiry(parsed_expiry: float | None, cache_control: str, **kwargs: float) -> float:
        def parse(body: bytes) -> Parsed[str]:
            return Parsed("k", parsed_expiry)

        transport = CountingTransport(cache_control=cache_control)
        fetcher = KeyFetcher("t", parse, RULE, transport=transport, clock=clock, **kwargs)  # type: ignore[arg-type]
        asyncio.run(_load(fetcher, url, start))
        low, high = start, start + 10 * 86400
        while high - low > 0.01:  # the first instant the entry is a miss
            mid = (low + high) / 2
            try:
                fetcher.get(url, mid)
                low = mid
            except KeyUnavailable:
                high = mid
        return round(high - start)

    assert expiry(None, "") == 86400
    assert expiry(None, "", max_age=3600) == 3600
    assert expiry(start + 7200, "") == 7200
    assert expiry(None, "public, max-age=19800, must-revalidate") == 19800
    assert expiry(start + 7200, "max-age=19800") == 7200
    assert expiry(start - 50, "") == 60  # an expired value is still kept min_age: not hammered
    assert expiry(None, "max-age=0") == 60


def test_an_expired_entry_is_fetched_again() -> None:
    clock = Clock()
    transport = CountingTransport()
    fetcher = _fetcher(transport, clock=clock, max_age=100)
    url = "https://keys.example.com/a.pem"
    asyncio.run(_load(fetcher, url, clock.now))
    clock.now += 101
    asyncio.run(_load(fetcher, url, clock.now))
    assert transport.urls == [url, url]


def test_a_failing_url_is_not_fetched_again_until_failure_seconds_pass() -> None:
    clock = Clock()

    def failing(url: str, timeout: float, max_bytes: int) -> Fetched:
        calls.append(url)
        raise FetchFailed("answered HTTP 503", refused=False)

    calls: list[str] = []
    fetcher = KeyFetcher("t", text, RULE, transport=failing, clock=clock, failure_seconds=60)
    url = "https://keys.example.com/a.pem"
    missing = _missing(fetcher, url)
    assert missing.load is not None
    asyncio.run(missing.load())
    again = _missing(fetcher, url, clock.now + 1)
    assert again.load is None  # 503 at once, nothing fetched
    asyncio.run(fetcher.load(url))  # a stray load does not fetch either
    assert calls == [url]
    clock.now += 61
    later = _missing(fetcher, url, clock.now)
    assert later.load is not None
    asyncio.run(later.load())
    assert calls == [url, url]


def test_an_unusable_key_is_invalid_signature_and_remembered() -> None:
    def parse(body: bytes) -> Parsed[str]:
        raise ValueError("not a certificate")

    transport = CountingTransport()
    fetcher = KeyFetcher("t", parse, RULE, transport=transport)
    url = "https://keys.example.com/a.pem"
    missing = _missing(fetcher, url, time.time())
    assert missing.load is not None
    asyncio.run(missing.load())
    with pytest.raises(InvalidSignature) as caught:
        fetcher.get(url, time.time())
    assert not isinstance(caught.value, KeyUnavailable)
    assert len(transport.urls) == 1


def test_reload_is_rate_limited() -> None:
    clock = Clock()
    transport = CountingTransport()
    fetcher = _fetcher(transport, clock=clock, refresh_seconds=300)
    url = "https://keys.example.com/a.pem"
    asyncio.run(_load(fetcher, url, clock.now))
    fetcher.reload(url, clock.now + 10)  # fetched 10 s ago: no reload, the caller refuses
    with pytest.raises(KeyUnavailable) as caught:
        fetcher.reload(url, clock.now + 301)
    clock.now += 301
    assert caught.value.load is not None
    asyncio.run(caught.value.load())
    assert len(transport.urls) == 2
    fetcher.reload(url, clock.now + 1)


def _loopback(server: KeyServer, **kwargs: object) -> KeyFetcher[str]:
    return KeyFetcher("loop", text, LoopbackRule(server.port), **kwargs)  # type: ignore[arg-type]


def _run_load(fetcher: KeyFetcher[str], url: str) -> KeyUnavailable | InvalidSignature | str:
    try:
        return asyncio.run(_load(fetcher, url, time.time()))
    except (InvalidSignature, KeyUnavailable) as err:
        return err


def test_a_real_fetch_over_loopback() -> None:
    with KeyServer({"/cert.pem": b"pem-bytes"}, cache_control="max-age=600") as server:
        fetcher = _loopback(server)
        assert _run_load(fetcher, server.url("/cert.pem")) == "pem-bytes"
        assert server.hits["/cert.pem"] == 1


def test_redirects_are_not_followed() -> None:
    with KeyServer({"/cert.pem": b"pem-bytes"}) as server:
        fetcher = _loopback(server)
        result = _run_load(fetcher, server.url("/redirect"))
        assert isinstance(result, InvalidSignature)
        assert not isinstance(result, KeyUnavailable)
        assert server.hits["/redirect"] == 1
        assert server.hits["/cert.pem"] == 0


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_responses_over_the_size_cap_are_refused(path: str) -> None:
    with KeyServer() as server:
        fetcher = _loopback(server, max_bytes=10_000)
        result = _run_load(fetcher, server.url(path))
        assert isinstance(result, InvalidSignature)
        assert not isinstance(result, KeyUnavailable)


@pytest.mark.parametrize(("path", "refused"), [("/missing", True), ("/fail", False)])
def test_http_errors(path: str, refused: bool) -> None:
    with KeyServer() as server:
        result = _run_load(_loopback(server), server.url(path))
        assert isinstance(result, KeyUnavailable if not refused else InvalidSignature)
        assert isinstance(result, KeyUnavailable) is not refused


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_key_server_times_out(path: str) -> None:
    with KeyServer(slow_seconds=5) as server:
        fetcher = _loopback(server, timeout=0.5)
        started = time.monotonic()
        result = _run_load(fetcher, server.url(path))
        assert time.monotonic() - started < 2.5
        assert isinstance(result, KeyUnavailable)
        assert result.load is None


def test_a_slow_url_delays_no_other_source_nor_url() -> None:
    with KeyServer({"/cert.pem": b"fast"}, slow_seconds=3) as server:
        slow_source = _loopback(server, timeout=5)
        other_source = _loopback(server)

        async def main() -> tuple[float, float, bool]:
            slow = asyncio.ensure_future(_load(slow_source, server.url("/slow"), time.time()))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            assert await _load(other_source, server.url("/cert.pem"), time.time()) == "fast"
            other = time.monotonic() - started
            started = time.monotonic()
            same = await _load(slow_source, server.url("/cert.pem"), time.time())
            same_source = time.monotonic() - started
            assert same == "fast"
            done = slow.done()
            await slow
            return other, same_source, done

        other, same_source, slow_done = asyncio.run(main())
        assert other < 1.0
        assert same_source < 1.0
        assert not slow_done


def test_the_gateway_verifies_once_more_after_the_load() -> None:
    calls: list[str] = []

    class Provider:
        family = "test"
        methods = frozenset({"POST"})

        def verify(self, request: WebhookRequest) -> VerifiedEvent:
            calls.append("verify")
            raise KeyUnavailable("still missing")

    async def load() -> None:
        calls.append("load")

    request = WebhookRequest("POST", "http://x/", {}, b"", time.time())
    with pytest.raises(KeyUnavailable):
        asyncio.run(verify_after_load(Provider(), request, KeyUnavailable("m", load)))
    assert calls == ["load", "verify"]  # one load, one more verify, then the 503


def test_the_gateway_bounds_the_wait_for_a_load() -> None:
    async def never() -> None:
        await asyncio.sleep(60)

    class Provider:
        family = "test"
        methods = frozenset({"POST"})

        def verify(self, request: WebhookRequest) -> VerifiedEvent:
            raise AssertionError("not verified again after a timeout")

    request = WebhookRequest("POST", "http://x/", {}, b"", time.time())
    started = time.monotonic()
    with pytest.raises(KeyUnavailable) as caught:
        asyncio.run(verify_after_load(Provider(), request, KeyUnavailable("m", never), 0.2))
    assert time.monotonic() - started < 2
    assert caught.value.load is None


def test_follow_ups_are_bounded_and_never_raise() -> None:
    ran: list[str] = []

    async def main() -> int:
        follow_ups = FollowUps(limit=2, timeout=0.2)

        async def ok() -> None:
            ran.append("ok")

        async def boom() -> None:
            raise RuntimeError("a bug")

        async def hang() -> None:
            await asyncio.sleep(10)

        assert follow_ups.start("s", hang)
        assert follow_ups.start("s", boom)
        assert not follow_ups.start("s", ok)  # two running: dropped
        await follow_ups.wait()
        assert follow_ups.start("s", ok)
        await follow_ups.wait()
        return len(follow_ups)

    assert asyncio.run(main()) == 0
    assert ran == ["ok"]


class LoopbackSns(AwsSnsProvider):
    """Given the loopback server's allow-list by the test below."""


def test_message_for_loads_the_key_as_the_gateway_does() -> None:
    key = rsa_pkcs8()
    with KeyServer({"/cert.pem": sns_certificate(key).encode()}) as server:
        LoopbackSns.url_rule = LoopbackRule(server.port)
        body = sns_sign_body(SNS_MESSAGE, key, int(time.time()), "m-1").replace(
            AwsSnsProvider.signing_cert_url.encode(), server.url("/cert.pem").encode()
        )
        provider = f"{__name__}:LoopbackSns"
        topics = {"topic_arns": [DEFAULT_TOPIC]}
        message = message_for(provider, body, {}, secrets=[], source="sns", options=topics)
        assert message.message_id == "m-1"
        assert message.body == body
        assert server.hits["/cert.pem"] == 1


def test_failing_urls_never_push_a_good_key_out() -> None:
    def transport(url: str, timeout: float, max_bytes: int) -> Fetched:
        if "bad" in url:
            raise FetchFailed("answered HTTP 404", refused=True)
        return Fetched(b"good")

    fetcher = KeyFetcher("t", text, RULE, transport=transport, max_entries=2, burst=100)
    good = "https://keys.example.com/good.pem"

    async def main() -> None:
        await _load(fetcher, good, time.time())
        for i in range(50):
            missing = _missing(fetcher, f"https://keys.example.com/bad{i}.pem", time.time())
            assert missing.load is not None
            await missing.load()

    asyncio.run(main())
    assert fetcher.get(good, time.time()) == "good"


def test_fetches_per_source_are_rate_limited() -> None:
    clock = Clock()
    transport = CountingTransport()
    fetcher = _fetcher(transport, clock=clock, burst=3, fetches_per_minute=6)

    def load(i: int) -> None:
        missing = _missing(fetcher, f"https://keys.example.com/k{i}.pem", clock.now)
        assert missing.load is not None
        asyncio.run(missing.load())

    for i in range(5):
        load(i)
    assert len(transport.urls) == 3  # the burst; the other two answered 503 unfetched
    _missing(fetcher, "https://keys.example.com/k4.pem", clock.now)
    clock.now += 10  # one token per 10 s
    load(4)
    assert len(transport.urls) == 4
    assert fetcher.get("https://keys.example.com/k4.pem", clock.now) == "key"


class PayPalLike:
    """PayPal's cert server as forged requests meet it: the genuine URL serves a certificate,
    every other allowed URL answers 404."""

    def __init__(self, genuine: str, cache_control: str = "max-age=3600") -> None:
        self.genuine = genuine
        self.cache_control = cache_control
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float, max_bytes: int) -> Fetched:
        self.urls.append(url)
        if url != self.genuine:
            raise FetchFailed("answered HTTP 404", refused=True)
        return Fetched(b"genuine", self.cache_control)


def _forge(fetcher: KeyFetcher[str], count: int, now: float, prefix: str = "x") -> None:
    """`count` forged requests, each naming a new allowed URL: each spends a token or is
    skipped ("too many")."""
    for i in range(count):
        missing = _missing(
            fetcher, f"https://api-m.paypal.com/v1/notifications/certs/{prefix}{i}", now
        )
        assert missing.load is not None
        asyncio.run(missing.load())


@pytest.mark.parametrize("lost", ["expired", "evicted"])
def test_forged_urls_never_starve_a_url_that_served_a_key(lost: str) -> None:
    """The review's reproducer: forged requests spend the source's whole budget on new allowed
    URLs; a URL that served a usable key before is still fetched again when its value expires
    or is pushed out, without spending that budget."""
    from providers.builtin.paypal import PayPalProvider

    clock = Clock()
    genuine = "https://api-m.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
    transport = PayPalLike(genuine)
    fetcher = KeyFetcher(
        "paypal", text, PayPalProvider.url_rule, transport=transport, clock=clock, max_entries=2
    )
    assert asyncio.run(_load(fetcher, genuine, clock.now)) == "genuine"
    if lost == "expired":
        clock.now += 3601
    else:  # two other URLs that served a key push it out of a 2-entry cache
        transport.genuine = "https://api.paypal.com/v1/notifications/certs/other"
        for url in (transport.genuine, transport.genuine.replace("other", "else")):
            transport.genuine = url
            asyncio.run(_load(fetcher, url, clock.now))
        transport.genuine = genuine
        clock.now += 60  # min_age after its last fetch
    _forge(fetcher, 30, clock.now)  # the burst and more: the budget is spent
    fetched = len(transport.urls)
    assert asyncio.run(_load(fetcher, genuine, clock.now)) == "genuine"
    assert transport.urls[fetched:] == [genuine]
    _forge(fetcher, 5, clock.now, prefix="y")
    assert len(transport.urls) == fetched + 1  # the forged ones still wait for tokens


def test_a_known_url_is_fetched_again_freely_at_most_once_per_min_age_and_not_while_failed() -> (
    None
):
    clock = Clock()
    outcome: list[Exception | None] = [None]

    def transport(url: str, timeout: float, max_bytes: int) -> Fetched:
        urls.append(url)
        if outcome[0] is not None:
            raise outcome[0]
        return Fetched(b"key")

    urls: list[str] = []
    fetcher = _fetcher(transport, clock=clock, max_entries=1, burst=2, fetches_per_minute=0.5)
    url, other = "https://keys.example.com/a.pem", "https://keys.example.com/b.pem"
    asyncio.run(_load(fetcher, url, clock.now))
    asyncio.run(_load(fetcher, other, clock.now))  # the last token; `url` is pushed out
    missing = _missing(fetcher, url, clock.now + 59)
    assert missing.load is not None
    clock.now += 59
    asyncio.run(missing.load())  # fetched 59 s ago: it needs a token, and there is none
    assert urls == [url, other]
    clock.now += 1
    outcome[0] = FetchFailed("answered HTTP 503", refused=False)
    asyncio.run(missing.load())  # 60 s: fetched again, without a token; it fails
    assert urls == [url, other, url]
    clock.now += 59  # failure_seconds (60) not yet over
    asyncio.run(fetcher.load(url))
    assert urls == [url, other, url]


def test_case_variants_of_the_scheme_and_host_share_one_entry_and_one_fetch() -> None:
    transport = CountingTransport(b"cert")
    # A host rule that admits case variants (the SNS validators' own pattern; hookgate's SNS
    # rule now admits lower case only).
    mixed_case = UrlRule(
        re.compile(r"sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com"), re.compile(r"/[A-Za-z]+\.pem")
    )
    fetcher = KeyFetcher("t", text, mixed_case, transport=transport, max_entries=2, burst=100)
    real = "https://sns.us-east-1.amazonaws.com/Cert.pem"
    now = time.time()

    async def main() -> None:
        await _load(fetcher, real, now)
        await _load(fetcher, "https://sns.eu-west-1.amazonaws.com/Cert.pem", now)
        for region in ("US-EAST-1", "Us-East-1", "us-EAST-1", "EU-west-1", "eu-WEST-1"):
            assert fetcher.get(f"https://sns.{region}.amazonaws.com/Cert.pem", now) == "cert"

    asyncio.run(main())
    assert transport.urls == [real, "https://sns.eu-west-1.amazonaws.com/Cert.pem"]
    assert len(fetcher) == 2
    assert fetcher.get(real, now) == "cert"
    # The path keeps its case, and the allow-list refuses what it refused before lower-casing.
    assert _missing(fetcher, "https://sns.us-east-1.amazonaws.com/CERT.pem", now).load is not None
    for refused in (
        "HTTPS://sns.us-east-1.amazonaws.com/Cert.pem",
        "https://SNS.us-east-1.amazonaws.com/Cert.pem",
    ):
        with pytest.raises(InvalidSignature) as caught:
            fetcher.get(refused, now)
        assert not isinstance(caught.value, KeyUnavailable)


def test_the_previous_value_is_served_while_a_known_url_is_fetched_again_never_past_it() -> None:
    clock = Clock()
    start = clock.now
    not_after = start + 1000
    release = threading.Event()
    bodies = [b"old", b"new"]

    def transport(url: str, timeout: float, max_bytes: int) -> Fetched:
        body = bodies.pop(0)
        if body == b"new":
            assert release.wait(5)
        return Fetched(body, "max-age=100")

    def parse(body: bytes) -> Parsed[str]:
        return Parsed(body.decode(), not_after)

    fetcher = KeyFetcher("t", parse, RULE, transport=transport, clock=clock)
    url = "https://keys.example.com/a.pem"
    asyncio.run(_load(fetcher, url, start))
    clock.now = start + 101  # past max-age, within notAfter

    async def main() -> None:
        missing = _missing(fetcher, url, clock.now)  # nothing under way: load it
        assert missing.load is not None
        refresh = asyncio.create_task(missing.load())
        await asyncio.sleep(0)
        assert fetcher.get(url, clock.now) == "old"  # while the refresh runs
        assert fetcher.get(url, not_after - 1) == "old"
        with pytest.raises(KeyUnavailable):
            fetcher.get(url, not_after)  # never past the certificate's own expiry
        release.set()
        await refresh
        assert fetcher.get(url, clock.now) == "new"

    asyncio.run(main())
