"""A RabbitMQ node owned by one test run: its own name, ports, config, data and log dirs.

Chaos tests kill this node, never the shared broker on 127.0.0.1:5672 that other tests and
engineers use. The Debian `rabbitmq-server` wrapper, run as root, drops to the `rabbitmq` user
(`su` keeps the environment), so the node's directories belong to `rabbitmq`. The system
config pins the shared listener, so the node gets its own config file; no plugins are loaded.

    node = RabbitNode.create(tmp_dir)
    node.start()          # -detached, then ping + await_startup
    node.url              # amqp://guest:guest@127.0.0.1:<port>/
    node.kill9()          # SIGKILL the node's beam.smp; returns its OS pid
    node.restart()        # start again on the same data dir (messages survive)
    node.stop()           # rabbitmqctl stop, then SIGKILL whatever is left; idempotent

Every wait is bounded; a node that does not come up raises `NodeError` with its log tail.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
_TOOL_TIMEOUT = 30.0


class NodeError(RuntimeError):
    """The test's RabbitMQ node could not be started, stopped or inspected."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_tool(tool: str) -> str:
    """The path of a RabbitMQ command-line tool; `NodeError` when it is not installed."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/lib/rabbitmq/bin")
    if path is None:
        # Never a skip: a chaos suite that silently does not run proves nothing.
        raise NodeError(
            f"{tool} is not installed: the chaos tests need a local RabbitMQ installation "
            "(deploy/dev/ensure-rabbitmq.sh installs it with apt-get)"
        )
    return path


class RabbitNode:
    """One RabbitMQ node on loopback, started and killed by the test that owns it."""

    def __init__(self, base: Path, *, port: int, dist_port: int, name: str) -> None:
        self.base = base
        self.port = port
        self.dist_port = dist_port
        self.name = name
        self._server = require_tool("rabbitmq-server")
        self._ctl = require_tool("rabbitmqctl")
        self._diagnostics = require_tool("rabbitmq-diagnostics")
        self._pid_file = base / "node.pid"
        self._log_dir = base / "log"
        self._started = False
        self.pid: int | None = None

    @classmethod
    def create(cls, base: Path) -> RabbitNode:
        """A node with fresh free ports and a unique name, its files under `base`."""
        node = cls(
            base,
            port=_free_port(),
            dist_port=_free_port(),
            name=f"hgchaos-{uuid.uuid4().hex[:8]}@localhost",
        )
        node._prepare()
        return node

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start the node detached and wait until it accepts AMQP connections."""
        self._started = True
        result = subprocess.run(
            [self._server, "-detached"],
            env=self._env(),
            capture_output=True,
            timeout=_TOOL_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise NodeError(
                f"rabbitmq-server -detached exited {result.returncode}: "
                f"{result.stderr.decode(errors='replace')[-500:]}"
            )
        self._await_startup()

    def kill9(self) -> int:
        """SIGKILL the node's Erlang VM (no clean shutdown); return the killed OS pid."""
        pid = self._os_pid()
        os.kill(pid, signal.SIGKILL)
        self._wait_gone(pid, 10.0)
        self._wait_port_closed(10.0)
        return pid

    def restart(self) -> None:
        """Start the node again on the same data dir (after `kill9` or `stop`)."""
        self.start()

    def stop(self) -> None:
        """Stop the node (cleanly if it answers, SIGKILL otherwise). Safe to call twice."""
        if not self._started:
            return
        pid = self._read_pid()
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [self._ctl, "-n", self.name, "stop"],
                env=self._env(),
                capture_output=True,
                timeout=STOP_TIMEOUT,
                check=False,
            )
        pid = self._read_pid() or pid
        if pid is not None and process_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 10.0)
        self._started = False

    def ctl(self, *args: str, timeout: float = _TOOL_TIMEOUT) -> str:
        """Run `rabbitmqctl -n NODE ARGS…` and return its stdout; raise `NodeError` on failure."""
        result = subprocess.run(
            [self._ctl, "-n", self.name, *args],
            env=self._env(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise NodeError(
                f"rabbitmqctl {' '.join(args)} exited {result.returncode}: "
                f"{result.stderr.decode(errors='replace')[-500:]}"
            )
        return result.stdout.decode(errors="replace")

    def log_tail(self, chars: int = 3000) -> str:
        texts = []
        for path in sorted(self._log_dir.glob("*.log")):
            with contextlib.suppress(OSError):
                texts.append(f"== {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(texts)

    def _prepare(self) -> None:
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            # The test box is shared and small: never let a disk alarm block the chaos run.
            "disk_free_limit.absolute = 50MB\n"
        )
        (self.base / "enabled_plugins").write_text("[].\n")
        if os.geteuid() != 0:
            raise NodeError(
                "the chaos tests start their own RabbitMQ node through the Debian "
                "rabbitmq-server wrapper, which needs root (it drops to the rabbitmq user)"
            )
        user = pwd.getpwnam("rabbitmq")
        for path in [self.base, *self.base.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        # The rabbitmq user must reach the base through every parent directory.
        for parent in self.base.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)

    def _env(self) -> dict[str, str]:
        base = str(self.base)
        return {
            **os.environ,
            "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin",
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": f"{base}/rabbitmq.conf",
            "RABBITMQ_MNESIA_BASE": f"{base}/mnesia",
            "RABBITMQ_LOG_BASE": f"{base}/log",
            "RABBITMQ_PID_FILE": str(self._pid_file),
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{base}/enabled_plugins",
            "RABBITMQ_PLUGINS_EXPAND_DIR": f"{base}/plugins-expand",
        }

    def _await_startup(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            ping = subprocess.run(
                [self._diagnostics, "-n", self.name, "-q", "ping"],
                env=self._env(),
                capture_output=True,
                timeout=_TOOL_TIMEOUT,
                check=False,
            )
            if ping.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise NodeError(f"node {self.name} did not answer ping\n{self.log_tail()}")
            time.sleep(0.5)
        remaining = max(5.0, deadline - time.monotonic())
        self.ctl("await_startup", "--timeout", str(int(remaining)), timeout=remaining + 10)
        self.pid = self._os_pid()
        self._wait_port_open(max(5.0, deadline - time.monotonic()))

    def _os_pid(self) -> int:
        pid = self._read_pid()
        if pid is not None and process_alive(pid):
            return pid
        text = self.ctl("eval", "os:getpid().").strip().strip('"')
        return int(text)

    def _read_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(self._pid_file.read_text().strip())
        return None

    def _wait_port_open(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not _port_open(self.port):
            if time.monotonic() > deadline:
                raise NodeError(f"node {self.name} is up but port {self.port} is closed")
            time.sleep(0.1)

    def _wait_port_closed(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while _port_open(self.port):
            if time.monotonic() > deadline:
                raise NodeError(f"port {self.port} still open after killing {self.name}")
            time.sleep(0.05)

    def _wait_gone(self, pid: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while process_alive(pid):
            if time.monotonic() > deadline:
                raise NodeError(f"pid {pid} of {self.name} survived SIGKILL for {seconds}s")
            time.sleep(0.05)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not: init here may be slow to reap killed nodes)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes (its parent, su or the shell, may not have reaped it).
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def private_node(prefix: str = "hgchaos-") -> Iterator[RabbitNode]:
    """A started node in a fresh directory under /tmp (not pytest's tmp_path: the node runs as
    `rabbitmq`, which must reach it); stopped and its files removed on the way out."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    node = RabbitNode.create(base)
    try:
        node.start()
        yield node
    finally:
        try:
            node.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)
