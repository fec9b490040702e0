"""Connect to a broker that may be a cluster: try its nodes in turn, move on when one dies.

Every long-lived component (the gateway's publisher, a consumer's two connections, the status
publisher, `hookgate admin`'s recorder, archiver and cancels) keeps one `BrokerNodes` and asks it
for a connection each time it (re)connects. The first attempt starts at a node picked at random,
so that replicas spread over the cluster; after that each connection starts at the node after
the last one that was connected, so a component whose node died tries the others first rather
than waiting on the dead one. With several nodes each gets its own connect timeout, so a node
that swallows packets cannot stall the others.

With one URL this is `aiormq.connect` with a name, as before (the heartbeat below aside): no
timeout of its own, and the caller sees the exception as aiormq raised it.

A URL without a `heartbeat` parameter gets `heartbeat=10` (aiormq's default is 60): a node that
dies without closing its sockets (a host crash, a partition) is noticed after about 33 s
(three missed beats) rather than three minutes. `?heartbeat=N` in a URL keeps N.
"""

from __future__ import annotations

import asyncio
import random

import aiormq
import aiormq.abc
from yarl import URL

from hookgate import broker_urls
from hookgate.settings import display_url

#: Per node, when there are several: a TCP connect plus AMQP's handshake, on a live node well
#: under a second; a blackholed node takes the full timeout before the next is tried.
NODE_TIMEOUT = 5.0
HEARTBEAT_SECONDS = 10

# A node that answers but refuses these credentials says more than one that is not there.
_REFUSED = (aiormq.exceptions.ProbableAuthenticationError, aiormq.exceptions.AuthenticationError)
_UNREACHABLE = (OSError, TimeoutError)  # ConnectionError and aiormq's connection errors too


class BrokerNodes:
    """The nodes of one broker (or cluster), and which one to try first."""

    def __init__(self, urls: str, *, node_timeout: float = NODE_TIMEOUT) -> None:
        self.urls = broker_urls.split(urls)
        if not self.urls:
            raise ValueError("no broker URL given")
        self._targets = [_with_heartbeat(url) for url in self.urls]
        self._node_timeout = node_timeout
        self._next = random.randrange(len(self.urls))  # noqa: S311 - spreading load, not a secret
        #: The URL of the node the last connection went to ("" before the first).
        self.current = ""

    async def connect(self, name: str) -> aiormq.abc.AbstractConnection:
        """A connection to the first node that takes it, starting after the last one used.

        When none does, raises what the most telling node raised: an error that is not "the
        node is not there" (a refused login, a vhost without access) before an unreachable one,
        so that wrong credentials are reported as such even while some nodes are down.
        """
        if len(self.urls) == 1:
            self.current = self.urls[0]
            target = self._targets[0]
            return await aiormq.connect(target, client_properties={"connection_name": name})
        telling: BaseException | None = None
        unreachable: BaseException | None = None
        for _ in self.urls:
            # Moved on before trying: a caller's timeout that cuts this loop short leaves the
            # next attempt starting at a node this one has not tried.
            index, self._next = self._next, (self._next + 1) % len(self.urls)
            try:
                async with asyncio.timeout(self._node_timeout):
                    connection = await aiormq.connect(
                        self._targets[index], client_properties={"connection_name": name}
                    )
            except Exception as err:  # another node may take it
                if isinstance(err, _UNREACHABLE) and not isinstance(err, _REFUSED):
                    unreachable = unreachable or err
                else:
                    telling = telling or err
                continue
            self.current = self.urls[index]
            return connection
        error = telling or unreachable
        assert error is not None
        raise error

    def display(self) -> str:
        """Every node's URL, passwords masked, for logs."""
        return ", ".join(display_url(url) for url in self.urls)


def _with_heartbeat(url: str) -> URL:
    parsed = URL(url)
    if "heartbeat" in parsed.query:
        return parsed
    return parsed.update_query(heartbeat=HEARTBEAT_SECONDS)
