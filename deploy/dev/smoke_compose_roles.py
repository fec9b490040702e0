"""Run deploy/compose.yaml's hookgate services from the real image, with podman, on this host.

    .venv/bin/python deploy/dev/smoke_compose_roles.py [IMAGE]   (default localhost/hookgate:dev)

No registry is reachable here, so the compose file's third-party images (rabbitmq, redis,
postgres, nginx, prometheus, grafana) cannot be pulled and `docker compose up` cannot run. This
runs everything else exactly as compose.yaml says: each hookgate service's command and
environment (its `${VAR}`s filled with random values), deploy/compose/hookgate.toml mounted
where the image reads it, a volume per service, read-only root filesystem. Stand-ins for the
rest, all private to this run: a RabbitMQ node of its own (tests/chaos/node.py) with the
compose user `hookgate`, a `redis-server` of its own with a password, a schema of its own in the
local PostgreSQL (deploy/dev/ensure-postgres.sh). The config's host names become 127.0.0.1 and
each process gets a free port (`--host`/`--port` appended to its command), as the containers
share the host's network.

Checks, each fatal: `topology` exits 0; every other service's image HEALTHCHECK passes with its
HOOKGATE_HEALTHCHECK_URL; a Stripe event sent through gateway-1 is accepted and the same event
through gateway-2 is `duplicate` (the replicas share Redis); the example service handles it;
`hookgate admin` records it `completed` in PostgreSQL and serves /metrics to its token; SIGTERM
stops every container with exit status 0. Everything is removed at the end. Needs podman and
the image (deploy/dev/build-image.sh), rabbitmq-server, redis-server and PostgreSQL installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deploy.dev.nginx_standin import nginx  # noqa: E402
from tests.chaos.node import RabbitNode  # noqa: E402
from tests.compose_kit import by_command, hookgate_services, load_compose  # noqa: E402
from tests.postgres_kit import private_schema  # noqa: E402

IMAGE = sys.argv[1] if len(sys.argv) > 1 else "localhost/hookgate:dev"
PODMAN = shutil.which("podman") or sys.exit("podman is not installed: deploy/dev/build-image.sh")
BASH = shutil.which("bash") or sys.exit("bash is not installed")
RUN = f"hgroles{os.getpid()}"
CONFIG_IN_IMAGE = "/etc/hookgate"
PROXIED = 4  # events sent through the proxy


def say(text: str) -> None:
    print(f"== {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def podman_flags() -> tuple[list[str], list[str]]:
    script = (
        f". deploy/dev/podman-flags.sh; pick_podman_flags {IMAGE} >&2 || exit 1; "
        'printf "%s\\n" "${PODMAN_GLOBAL[@]}" --- "${PODMAN_LIMITS[@]}"'
    )
    out = subprocess.run(  # noqa: S603 - our own script
        [BASH, "-c", script], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    global_part, _, limits = out.partition("---\n")
    return global_part.split(), limits.split()


GLOBAL, LIMITS = podman_flags()


def podman(*args: str, check: bool = True) -> str:
    result = subprocess.run(  # noqa: S603 - arguments built here
        [PODMAN, *args], capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise SystemExit(f"FAILED: podman {' '.join(args)}: {result.stderr.strip()[-800:]}")
    return result.stdout.strip()


def wait_for(what: str, probe: Any, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            value = probe()
            if value:
                return value
        time.sleep(0.3)
    raise SystemExit(f"FAILED: {what} within {seconds:.0f} s")


def http_get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)  # noqa: S310 - loopback, built here
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
        return response.status, response.read().decode()


@contextlib.contextmanager
def rabbit(base: Path, password: str) -> Iterator[RabbitNode]:
    node = RabbitNode.create(base)
    try:
        node.start()
        # As the rabbitmq image does for RABBITMQ_DEFAULT_USER/PASS.
        node.ctl("add_user", "hookgate", password)
        node.ctl("set_permissions", "-p", "/", "hookgate", ".*", ".*", ".*")
        yield node
    finally:
        node.stop()


@contextlib.contextmanager
def redis_server(base: Path, password: str) -> Iterator[int]:
    port = free_port()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("FAILED: redis-server is not installed (deploy/dev/ensure-redis.sh)")
    process = subprocess.Popen(  # noqa: S603 - our own arguments
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1", "--requirepass", password),
            *("--appendonly", "yes", "--maxmemory-policy", "noeviction", "--dir", str(base)),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port, password=password, socket_timeout=1)
        wait_for("redis-server answers", client.ping, 10)
        client.close()
        yield port
    finally:
        process.kill()
        process.wait(timeout=10)


def local_config(rabbit_port: int, redis_port: int) -> str:
    """deploy/compose/hookgate.toml with the compose host names pointed at the stand-ins."""
    text = (ROOT / "deploy/compose/hookgate.toml").read_text()
    text, brokers = re.subn(r"@rabbitmq:5672/", f"@127.0.0.1:{rabbit_port}/", text)
    text, stores = re.subn(r"@redis:6379/", f"@127.0.0.1:{redis_port}/", text)
    assert brokers == 1, "the compose config's broker URL changed: update this script"
    assert stores == 1, "the compose config's Redis URL changed: update this script"
    return text


def main() -> int:
    compose = load_compose()
    services = hookgate_services(compose)
    env_of = {name: dict(service.get("environment", {})) for name, service in services.items()}
    rabbit_password = env_of["topology"]["RABBITMQ_PASSWORD"]
    redis_password = env_of["gateway-1"]["REDIS_PASSWORD"]
    started: list[str] = []
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=RUN)))
        # The containers' user (UID 10001) reads the mounted config below it.
        os.chmod(work, 0o755)  # noqa: S103 - holds no secret: they come from the environment
        (work / "rabbit").mkdir()
        node = stack.enter_context(rabbit(work / "rabbit", rabbit_password))
        redis_port = stack.enter_context(redis_server(work, redis_password))
        ledger_url = stack.enter_context(_schema())
        config_dir = work / "config"
        config_dir.mkdir(mode=0o755)
        (config_dir / "hookgate.toml").write_text(local_config(node.port, redis_port))
        event_id = f"evt_{RUN}"
        payload = (ROOT / "deploy/examples/payloads/stripe-invoice-paid.json").read_text()
        (config_dir / "event.json").write_text(
            payload.replace("evt_1QuickstartDemo0000000000", event_id)
        )
        for number in range(PROXIED):
            (config_dir / f"event-{number}.json").write_text(
                payload.replace("evt_1QuickstartDemo0000000000", f"{event_id}_proxied_{number}")
            )
        for path in config_dir.iterdir():
            path.chmod(0o644)
        say(
            f"stand-ins: RabbitMQ node on {node.port}, redis-server on {redis_port}, "
            f"PostgreSQL schema {ledger_url.rsplit('=', 1)[-1]}"
        )

        ports = {name: free_port() for name in services}
        overrides = {
            "serve": lambda name: ["--host", "127.0.0.1", "--port", str(ports[name])],
            "admin": lambda name: ["--host", "127.0.0.1", "--port", str(ports[name])],
            "consume": lambda name: [
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                str(ports[name]),
            ],
            "topology": lambda name: [],
        }

        def run(name: str, *, detach: bool) -> str:
            service = services[name]
            command = [*service["command"], *overrides[service["command"][0]](name)]
            environment = dict(env_of[name])
            if "HOOKGATE_LEDGER_URL" in environment:
                environment["HOOKGATE_LEDGER_URL"] = ledger_url
            url = environment.get("HOOKGATE_HEALTHCHECK_URL", "http://127.0.0.1:8000/healthz")
            environment["HOOKGATE_HEALTHCHECK_URL"] = re.sub(r":\d+/", f":{ports[name]}/", url)
            container = f"{RUN}-{name}"
            args = [*GLOBAL, "run", *LIMITS, "--name", container, "--network", "host"]
            args += ["--read-only", "--health-interval", "disable"]
            args += [
                "-v",
                f"{config_dir}:{CONFIG_IN_IMAGE}:ro",
                "-v",
                f"{container}-data:/var/lib/hookgate",
            ]
            for key, value in environment.items():
                args += ["-e", f"{key}={value}"]
            started.append(container)
            if detach:
                podman(*args, "-d", IMAGE, *command)
            else:
                podman(*args, IMAGE, *command)
            return container

        stack.callback(_remove, started)

        say("topology (one shot): " + " ".join(services["topology"]["command"]))
        run("topology", detach=False)
        status = podman("inspect", "--format", "{{.State.ExitCode}}", f"{RUN}-topology")
        assert status == "0", f"topology exited {status}"
        print("   exit status 0")

        order = ["admin", *by_command(compose, "serve"), *by_command(compose, "consume")]
        for name in order:
            container = run(name, detach=True)
            wait_for(f"{name}'s HEALTHCHECK", lambda c=container: _healthy(c))
            print(
                f"   {name}: {' '.join(services[name]['command'])} -> healthy "
                f"(podman healthcheck run, {_url(container)})"
            )

        gateways = list(by_command(compose, "serve"))
        answers = []
        for name in gateways[:2]:
            url = f"http://127.0.0.1:{ports[name]}/webhooks/stripe"
            answers.append(
                podman(
                    "exec",
                    f"{RUN}-{name}",
                    "hookgate",
                    "send",
                    "--url",
                    url,
                    "stripe",
                    f"{CONFIG_IN_IMAGE}/event.json",
                )
            )
            print(f"   hookgate send via {name} -> {answers[-1]}")
        assert '"status":"accepted"' in answers[0], answers
        assert '"status":"duplicate"' in answers[1], answers

        check_proxy(gateways, ports, stack, work)

        [consumer] = by_command(compose, "consume")
        metrics_url = f"http://127.0.0.1:{ports[consumer]}/metrics"
        pattern = re.compile(
            r'hookgate_consumer_events_total\{[^}]*handler="invoice"'
            r'[^}]*outcome="success"[^}]*\} (\S+)'
        )

        def handled() -> re.Match[str] | None:
            match = pattern.search(http_get(metrics_url)[1])
            return match if match and float(match.group(1)) == 1 + PROXIED else None

        line = wait_for("the example service handles every event", handled, 30)
        print(f"   {consumer}: {line.group(0)}")

        token = env_of["admin"]["HOOKGATE_ADMIN_TOKEN"]
        admin_url = f"http://127.0.0.1:{ports['admin']}"

        def completed() -> dict[str, Any] | None:
            event = json.loads(http_get(f"{admin_url}/api/events/stripe/{event_id}", token)[1])
            return event if event["status"] == "completed" else None

        event = wait_for("hookgate admin records the event completed", completed, 30)
        print(
            f"   admin (PostgreSQL ledger): {event_id} {event['status']}, services "
            f"{ {k: v['status'] for k, v in event['services'].items()} }"
        )
        code, metrics = http_get(f"{admin_url}/metrics", token)
        assert code == 200, code
        assert "hookgate_ledger_" in metrics
        print(f"   admin /metrics with the token: {code}, {len(metrics.splitlines())} lines")

        for container in reversed(started[1:]):
            began = time.monotonic()
            podman("stop", "-t", "30", container)
            code_text = podman("inspect", "--format", "{{.State.ExitCode}}", container)
            print(
                f"   podman stop {container}: exit status {code_text} after "
                f"{time.monotonic() - began:.1f} s"
            )
            assert code_text == "0", podman("logs", "--tail", "20", container)
    say("compose roles smoke test passed")
    return 0


def check_proxy(
    gateways: list[str], ports: dict[str, int], stack: contextlib.ExitStack, work: Path
) -> None:
    """compose/nginx.conf in front of the gateways: its own health answer, /metrics kept
    private, and webhooks balanced over both replicas."""
    port = free_port()
    stack.enter_context(nginx({name: ports[name] for name in gateways}, port, work / "nginx"))
    proxy = f"http://127.0.0.1:{port}"
    wait_for("the proxy answers", lambda: _status(f"{proxy}/nginx-health") == 200, 10)
    assert _status(f"{proxy}/healthz") == 200
    assert _status(f"{proxy}/metrics") == 404, "the proxy exposes /metrics"
    before = {name: _accepted(ports[name]) for name in gateways}
    for number in range(PROXIED):
        answer = podman(
            "exec",
            f"{RUN}-{gateways[0]}",
            "hookgate",
            "send",
            "--url",
            f"{proxy}/webhooks/stripe",
            "stripe",
            f"{CONFIG_IN_IMAGE}/event-{number}.json",
        )
        assert '"status":"accepted"' in answer, answer
    gained = {name: _accepted(ports[name]) - before[name] for name in gateways}
    print(
        f"   proxy (compose/nginx.conf on Debian's nginx): /nginx-health 200, /healthz 200, "
        f"/metrics 404; {PROXIED} events accepted through it, per gateway {gained}"
    )
    assert sum(gained.values()) == PROXIED, gained
    assert all(gained.values()), f"the proxy did not balance: {gained}"


def _status(url: str) -> int:
    try:
        return http_get(url)[0]
    except urllib.error.HTTPError as err:
        return err.code


def _accepted(port: int) -> float:
    """The gateway's hookgate_requests_total for accepted Stripe events (0 before the first)."""
    for line in http_get(f"http://127.0.0.1:{port}/metrics")[1].splitlines():
        labels = line.partition("{")[2].partition("}")[0]
        if line.startswith("hookgate_requests_total{") and {
            'outcome="accepted"',
            'source="stripe"',
        } <= set(labels.split(",")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@contextlib.contextmanager
def _schema() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    manager = private_schema()
    try:
        yield loop.run_until_complete(manager.__aenter__())
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


def _healthy(container: str) -> bool:
    running = podman("inspect", "--format", "{{.State.Running}}", container)
    if running != "true":
        raise SystemExit(
            f"FAILED: {container} exited:\n{podman('logs', '--tail', '30', container, check=False)}"
        )
    result = subprocess.run(  # noqa: S603 - arguments built here
        [PODMAN, "healthcheck", "run", container], capture_output=True, check=False
    )
    return result.returncode == 0


def _url(container: str) -> str:
    env = json.loads(podman("inspect", "--format", "{{json .Config.Env}}", container))
    return next(e.split("=", 1)[1] for e in env if e.startswith("HOOKGATE_HEALTHCHECK_URL="))


def _remove(containers: list[str]) -> None:
    for container in containers:
        podman("rm", "-f", container, check=False)
        podman("volume", "rm", "-f", f"{container}-data", check=False)


if __name__ == "__main__":
    sys.exit(main())
