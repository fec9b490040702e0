"""A three-node RabbitMQ cluster owned by one test run, built from `RabbitNode`s.

    cluster = RabbitCluster.create(base, size=3)
    cluster.start()                   # start every node, join the others to the first
    cluster.urls                      # each node's AMQP URL, in order
    cluster.leader("billing")         # the node that leads quorum queue `billing`
    cluster.stop()                    # stop every node; idempotent

Every node has its own name, ports and data dir (never the shared broker's). They find each
other through the machine's epmd and share the `rabbitmq` user's Erlang cookie, as nodes of one
host do. Joining follows RabbitMQ's clustering guide: `stop_app`, `join_cluster`, `start_app`.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from tests.chaos.node import NodeError, RabbitNode


class RabbitCluster:
    def __init__(self, nodes: list[RabbitNode]) -> None:
        self.nodes = nodes

    @classmethod
    def create(cls, base: Path, *, size: int = 3) -> RabbitCluster:
        return cls([RabbitNode.create(base / f"node{i}") for i in range(size)])

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> None:
        first, *others = self.nodes
        first.start()
        for node in others:
            node.start()
            node.ctl("stop_app")
            node.ctl("join_cluster", first.name, timeout=60)
            node.ctl("start_app", timeout=60)
        running = self.running_nodes(first)
        if sorted(running) != sorted(node.name for node in self.nodes):
            raise NodeError(f"the cluster formed with {running}, not all {len(self.nodes)} nodes")

    def running_nodes(self, via: RabbitNode) -> list[str]:
        status = json.loads(via.ctl("cluster_status", "--formatter", "json"))
        return list(status.get("running_nodes", []))

    def node_named(self, name: str) -> RabbitNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise NodeError(f"no node of this cluster is named {name!r}")

    def queues(self, via: RabbitNode | None = None) -> dict[str, dict[str, object]]:
        """Each queue's name → its `type`, `leader`, `members` and `messages`, as a live node
        of the cluster reports them."""
        via = via or self.nodes[0]
        text = via.ctl(
            "list_queues", "name", "type", "leader", "members", "messages", "--formatter", "json"
        )
        return {row["name"]: row for row in json.loads(text)}

    def leader(self, queue: str, via: RabbitNode | None = None) -> RabbitNode:
        """The node leading quorum queue `queue`."""
        row = self.queues(via).get(queue)
        if row is None:
            raise NodeError(f"queue {queue!r} does not exist on the cluster")
        return self.node_named(str(row["leader"]))

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()
