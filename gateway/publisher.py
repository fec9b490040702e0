"""Publish events to RabbitMQ and wait for the broker's confirm.

One long-lived connection and one confirm channel per process. Concurrent requests pipeline
their publishes on that channel; each awaits its own `Basic.Ack`. We drive aiormq (aio-pika's
transport) directly: aio-pika's `Exchange.publish` costs about a third of the gateway's
throughput, and its robust connection makes a publish wait for a reconnect, where the gateway
must answer 503 at once. Publishes themselves skip aiormq's `basic_publish` too
(`gateway.confirms`): the publishes of one event-loop turn leave in one socket write.

A background task keeps the connection: it connects, declares the gateway's topology and, when
the connection or channel closes, reconnects with backoff. While disconnected, `publish` fails
immediately with reason `disconnected`, or `auth_refused` when the broker refused the login
(credentials changed or revoked while the gateway runs: an operator must act, a retry alone will
not help). `check_login` refuses to start with credentials the broker rejects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

import aiormq
from pamqp.commands import Basic

from gateway.confirms import ConfirmChannel
from gateway.errors import GatewayError, PublishFailed, describe
from gateway.message import FRAME_OVERHEAD, MAX_PROPERTIES_BYTES
from gateway.metrics import GatewayMetrics
from hookgate.connect import BrokerNodes
from hookgate.errors import TopologyError
from hookgate.observe import PublishFailure
from hookgate.settings import display_url as masked
from hookgate.topology import ensure_gateway_topology
from providers import Secret

_log = logging.getLogger("hookgate.publisher")

_RECONNECT_MIN, _RECONNECT_MAX = 0.25, 5.0
_CONNECT_TIMEOUT = 10.0
_CHECK_TIMEOUT = 3.0  # a broker slower than this at startup is treated as down, not refusing
_LOGIN_REFUSED_FIX = "check the user, password and vhost in broker.url (or HOOKGATE_BROKER_URL)"


class BrokerLoginRefused(GatewayError):
    """The broker refused the configured user: its password, or its access to the vhost."""


def login_refused(err: BaseException) -> bool:
    """Did the broker refuse this user: a wrong password (403 ACCESS_REFUSED, which aiormq
    raises as `ProbableAuthenticationError`), or no access to the virtual host (530, which
    aiormq reports only as an unexpected `Connection.Close` in answer to `Connection.Open`)?"""
    if isinstance(err, aiormq.exceptions.ProbableAuthenticationError):
        return True
    text = str(err)
    return (
        isinstance(err, aiormq.exceptions.InvalidFrameError)
        and "Connection.OpenOk" in text
        and "Connection.Close" in text
    )


async def check_login(url: Secret, display_url: str) -> None:
    """Log in to the broker once; raise `BrokerLoginRefused` if it refuses the credentials.

    Any other failure (broker down, unreachable, slow) is not an error here: the gateway starts
    and spools until the broker is back. Wrong credentials never fix themselves.
    """
    # Each node gets the check's time, so a silent first node cannot hide the others' answer.
    nodes = BrokerNodes(url.reveal(), node_timeout=_CHECK_TIMEOUT)
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT * len(nodes.urls)):
            connection = await nodes.connect("hookgate-gateway-check")
    except Exception as err:
        if not login_refused(err):
            return  # not a credentials problem: the workers retry, and spool meanwhile
        if isinstance(err, aiormq.exceptions.ProbableAuthenticationError):
            why = describe(err, url.reveal())  # RabbitMQ's reason: "ACCESS_REFUSED - Login …"
        else:
            why = "no access to the virtual host: does the user have permissions on it?"
        raise BrokerLoginRefused(
            f"broker.url: the broker at {display_url} refused the login ({why}); "
            f"{_LOGIN_REFUSED_FIX}"
        ) from err
    with contextlib.suppress(Exception):
        await connection.close()


class EventPublisher(Protocol):
    """What the gateway needs of a publisher: `Publisher` (RabbitMQ, confirmed), or
    `gateway.testing.MemoryPublisher` for unit tests."""

    #: The broker refused the last login (credentials changed or revoked).
    login_refused: bool
    #: The largest encoded message properties the broker takes in one frame.
    max_properties_bytes: int

    @property
    def connected(self) -> bool:
        """A publish can be confirmed now."""
        ...

    async def start(self, wait: float = 0.0) -> None: ...
    async def close(self) -> None: ...

    async def publish(self, body: bytes, routing_key: str, properties: Basic.Properties) -> None:
        """Return once the broker confirmed the message; raise `PublishFailed` otherwise."""
        ...


class Publisher:
    """Confirmed, persistent publishes to one exchange."""

    def __init__(
        self,
        url: Secret,
        exchange: str,
        *,
        timeout: float,
        metrics: GatewayMetrics,
        max_in_flight: int = 1024,
    ) -> None:
        self._url = url
        self._nodes = BrokerNodes(url.reveal())  # a cluster's nodes, tried in turn
        self._exchange = exchange
        self._timeout = timeout
        self._metrics = metrics
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._channel: ConfirmChannel | None = None
        self._connection: aiormq.abc.AbstractConnection | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._dropping: asyncio.Task[None] | None = None  # closing a silent node's connection
        #: The last connection attempt failed because the broker refused the login.
        self.login_refused = False
        #: The largest encoded message properties the broker takes in one frame: RabbitMQ's
        #: default until a connection tells (a broker may be configured with a smaller
        #: `frame_max`); the last one known while disconnected, for the spool's sake.
        self.max_properties_bytes = MAX_PROPERTIES_BYTES

    @property
    def connected(self) -> bool:
        """Connected, and not blocked by a broker alarm: a publish can be confirmed now."""
        return self._channel is not None and not self.blocked

    @property
    def blocked(self) -> bool:
        """RabbitMQ blocked this connection (`connection.blocked`: a memory or disk alarm).

        aiormq tracks the state but does not expose it; it is read from the connection's
        private `unblocked` event. Should that ever disappear, a blocked publish still fails
        after `publish_timeout_seconds`, only more slowly.
        """
        unblocked = getattr(self._connection, "_Connection__connection_unblocked", None)
        return isinstance(unblocked, asyncio.Event) and not unblocked.is_set()

    async def start(self, wait: float = 0.0) -> None:
        """Start the connection keeper; wait up to `wait` seconds for the first connection."""
        self._task = asyncio.create_task(self._keep_connected(), name="hookgate-publisher")
        if wait:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._connected.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def publish(self, body: bytes, routing_key: str, properties: Basic.Properties) -> None:
        """Return once the broker confirmed the message; raise `PublishFailed` otherwise."""
        channel = self._channel
        if channel is None:
            if self.login_refused:
                raise self._failed(
                    PublishFailure.AUTH_REFUSED, "the broker refused the gateway's login"
                )
            raise self._failed(PublishFailure.DISCONNECTED, "no connection to the broker")
        if self.blocked:
            raise self._failed(
                PublishFailure.BLOCKED, "the broker blocks publishers (memory or disk alarm)"
            )
        if self._in_flight >= self._max_in_flight:
            raise self._failed(
                PublishFailure.OVERLOADED, f"{self._in_flight} publishes awaiting confirms"
            )
        self._in_flight += 1
        started = time.perf_counter()
        try:
            # The timeout covers the whole publish, confirm included.
            result = await channel.publish(body, routing_key, properties)
        except TimeoutError as err:
            self._drop_silent(channel)
            raise self._failed(
                PublishFailure.TIMEOUT, f"no confirm within {self._timeout:g}s"
            ) from err
        except aiormq.exceptions.PublishError as err:
            # With the alternate exchange in place this means the topology is broken.
            raise self._failed(PublishFailure.UNROUTABLE, "broker returned the message") from err
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as err:
            raise self._failed(PublishFailure.CONNECTION_LOST, type(err).__name__) from err
        finally:
            self._in_flight -= 1
        if not isinstance(result, Basic.Ack):
            raise self._failed(PublishFailure.NACKED, f"broker answered {type(result).__name__}")
        self._metrics.publish_duration.observe(time.perf_counter() - started)

    def _drop_silent(self, channel: ConfirmChannel) -> None:
        """A confirm that never came on a connection the broker has not blocked: its node is
        likely gone without closing the socket (a host crash, a partition), which heartbeats
        would notice only after minutes. Drop the connection now: publishes fail fast (and
        are spooled) meanwhile, and the keeper reconnects, to the next node first."""
        connection = self._connection
        if channel is not self._channel or connection is None or self.blocked:
            return  # already dropped, or a broker alarm (which is not a dead node)
        self._channel = None
        _log.warning(
            "no confirm from the broker in time; dropping the connection and reconnecting",
            extra={"fields": {"node": masked(self._nodes.current), "timeout": self._timeout}},
        )
        self._dropping = asyncio.get_running_loop().create_task(connection.close())

    def _failed(self, reason: PublishFailure, detail: str) -> PublishFailed:
        self._metrics.publish_failed(reason)
        return PublishFailed(reason, detail)

    async def _keep_connected(self) -> None:
        delay = _RECONNECT_MIN
        while True:
            connection: aiormq.abc.AbstractConnection | None = None
            try:
                async with asyncio.timeout(_CONNECT_TIMEOUT):
                    connection = await self._nodes.connect("hookgate-gateway")
                    # Declared, or only checked where the gateway's user may just publish.
                    await ensure_gateway_topology(connection, self._exchange)
                    channel = await connection.channel(publisher_confirms=True)
                    assert isinstance(channel, aiormq.Channel)
                self._connection = connection
                self._channel = ConfirmChannel(
                    connection, channel, self._exchange, timeout=self._timeout
                )
                self.login_refused = False
                self.max_properties_bytes = _properties_limit(connection)
                self._connected.set()
                self._metrics.broker_connected.set(1)
                node = masked(self._nodes.current)
                _log.info(
                    "connected to the broker",
                    extra={"fields": {"exchange": self._exchange, "node": node}},
                )
                delay = _RECONNECT_MIN
                await asyncio.wait(
                    [connection.closing, channel.closing], return_when=asyncio.FIRST_COMPLETED
                )
                _log.warning(
                    "lost the broker connection; reconnecting",
                    extra={"fields": {"node": masked(self._nodes.current)}},
                )
            except asyncio.CancelledError:
                raise
            except TopologyError as err:
                self.login_refused = False
                _log.error(
                    "the ingress topology is missing and this user may not declare it; retrying",
                    extra={"fields": {"error": str(err), "retry_in": delay}},
                )
            except Exception as err:
                self.login_refused = login_refused(err)
                fields = {
                    "error": describe(err, self._url.reveal()),
                    "nodes": self._nodes.display(),
                    "retry_in": delay,
                }
                if self.login_refused:
                    # Credentials changed or revoked while running: retrying alone won't help.
                    _log.error(
                        f"the broker refused the login; {_LOGIN_REFUSED_FIX}; retrying",
                        extra={"fields": fields},
                    )
                else:
                    _log.warning("broker unreachable; retrying", extra={"fields": fields})
            finally:
                self._channel = None
                self._connection = None
                self._connected.clear()
                self._metrics.broker_connected.set(0)
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close())
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX)


def _properties_limit(connection: aiormq.abc.AbstractConnection) -> int:
    tune = getattr(connection, "connection_tune", None)
    frame_max = getattr(tune, "frame_max", 0)
    if not isinstance(frame_max, int) or frame_max <= 0:  # 0: the broker sets no limit
        return MAX_PROPERTIES_BYTES
    return min(MAX_PROPERTIES_BYTES, frame_max - FRAME_OVERHEAD)
