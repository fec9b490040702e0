"""consumers.service: handler registration, topic matching, and the retry schedule."""

from __future__ import annotations

import pytest

from consumers import Event, Service, ServiceDefinitionError
from hookgate.routing import topic_matches


def _matches(pattern: str, key: str) -> bool:
    return topic_matches(tuple(pattern.split(".")), tuple(key.split(".")))


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("stripe.invoice.*", "stripe.invoice.paid", True),
        ("stripe.invoice.*", "stripe.invoice", False),
        ("stripe.invoice.*", "stripe.invoice.payment.failed", False),
        ("stripe.#", "stripe", True),
        ("stripe.#", "stripe.invoice.payment.failed", True),
        ("#", "anything.at.all", True),
        ("*.push", "github.push", True),
        ("*.push", "github.pull_request.opened", False),
        ("github.#.opened", "github.pull_request.opened", True),
        ("github.#.opened", "github.opened", True),
        ("github.#.opened", "github.pull_request.closed", False),
        ("github.push", "github.push", True),
        ("github.push", "github.pushed", False),
    ],
)
def test_topic_matching_follows_amqp_rules(pattern: str, key: str, expected: bool) -> None:
    assert _matches(pattern, key) is expected


def test_first_registered_matching_handler_wins() -> None:
    service = Service("svc")

    @service.handler("stripe.invoice.paid")
    async def paid(event: Event) -> None: ...

    @service.handler("stripe.#")
    def everything(event: Event) -> None: ...

    assert service.match("stripe.invoice.paid") is service.handlers[0]
    assert service.match("stripe.charge.failed") is service.handlers[1]
    assert service.match("github.push") is None
    assert service.handlers[0].is_async
    assert not service.handlers[1].is_async
    assert [h.name for h in service.handlers] == ["paid", "everything"]


def test_handler_registered_after_a_lookup_is_found() -> None:
    service = Service("svc")
    assert service.match("a.b") is None

    @service.handler("a.*")
    async def late(event: Event) -> None: ...

    assert service.match("a.b") is service.handlers[0]


@pytest.mark.parametrize("name", ["", "has space", "dots.not.allowed", "-leading", "x" * 102, "ü"])
def test_bad_service_names_are_refused_with_the_name(name: str) -> None:
    with pytest.raises(ServiceDefinitionError, match="service name"):
        Service(name)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retry_delays": (0,)}, "retry_delays"),
        ({"retry_delays": (-1, 5)}, "retry_delays"),
        ({"retry_delays": (86_400 * 8,)}, "retry_delays"),
        ({"handler_timeout": 0}, "handler_timeout"),
        ({"concurrency": 0}, "concurrency"),
        ({"delivery_limit": 0}, "delivery_limit"),
    ],
)
def test_bad_service_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ServiceDefinitionError, match=message):
        Service("svc", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("pattern", ["", "a..b", "a.b c", "a.**", "stripe.inv*", "a/b"])
def test_bad_patterns_are_refused(pattern: str) -> None:
    service = Service("svc")
    with pytest.raises(ServiceDefinitionError, match="pattern"):
        service.handler(pattern)


def test_a_pattern_can_have_one_handler_only() -> None:
    service = Service("svc")
    service.handler("a.*")(lambda event: None)
    with pytest.raises(ServiceDefinitionError, match="already has a handler"):
        service.handler("a.*")


def test_retry_schedule_follows_attempts_then_runs_out() -> None:
    service = Service("svc", retry_delays=(5, 30, 30, 600))
    assert [service.retry_delay(attempt) for attempt in range(1, 6)] == [5, 30, 30, 600, None]
    assert service.tiers == (5, 30, 600)


@pytest.mark.parametrize(
    ("requested", "tier"), [(0, 5), (5, 5), (6, 30), (30, 30), (100, 600), (10_000, 600)]
)
def test_requested_retry_delay_picks_the_shortest_tier_at_least_as_long(
    requested: float, tier: float
) -> None:
    service = Service("svc", retry_delays=(5, 30, 600))
    assert service.retry_delay(1, requested) == tier


def test_requested_retry_delay_still_counts_as_an_attempt() -> None:
    service = Service("svc", retry_delays=(5, 30))
    assert service.retry_delay(3, 5) is None


def test_no_retry_delays_means_the_first_failure_dead_letters() -> None:
    assert Service("svc", retry_delays=()).retry_delay(1) is None


def test_delays_are_whole_milliseconds_so_tiers_cannot_collide() -> None:
    service = Service("svc", retry_delays=(1.0001, 1.0004, 2.5))
    assert service.retry_delays == (1.0, 1.0, 2.5)
    assert service.tiers == (1.0, 2.5)
