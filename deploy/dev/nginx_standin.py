"""deploy/compose/nginx.conf run by Debian's nginx on loopback, in front of gateways on this
host: the compose proxy's stand-in for deploy/dev/smoke_compose_roles.py.

Only what ties the file to the compose network changes: each `gateway-N:8000` becomes the port
that gateway listens on here, the listener moves to a free loopback port, and the paths nginx
writes (pid, temp files) move into a directory of the run's own. Everything else (routes,
upstream, headers, limits) is the file as compose mounts it. When nginx is not installed, the
Debian package is downloaded with `apt-get download` and unpacked into that directory, not
installed (installing would start a system nginx on port 80).
"""

from __future__ import annotations

import contextlib
import glob
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "compose" / "nginx.conf"


def nginx_binary(work: Path) -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found:
        return found
    apt_get, dpkg = shutil.which("apt-get"), shutil.which("dpkg")
    if apt_get is None or dpkg is None:
        raise SystemExit("FAILED: nginx is not installed, and this is not a Debian machine")
    download = work / "nginx-deb"
    download.mkdir()
    subprocess.run([apt_get, "download", "-q", "nginx"], cwd=download, check=True)  # noqa: S603
    [package] = glob.glob(str(download / "nginx_*.deb"))
    subprocess.run([dpkg, "-x", package, str(download / "root")], check=True)  # noqa: S603
    return str(download / "root" / "usr" / "sbin" / "nginx")


def local_config(gateway_ports: Mapping[str, int], port: int, work: Path) -> str:
    text = CONFIG.read_text()
    for name, gateway_port in gateway_ports.items():
        text, count = re.subn(
            rf"\bserver {re.escape(name)}:\d+", f"server 127.0.0.1:{gateway_port}", text
        )
        assert count == 1, f"{name} is not in nginx.conf's upstream"
    text, count = re.subn(r"\blisten \d+;", f"listen 127.0.0.1:{port};", text)
    assert count == 1, "nginx.conf's listen line changed: update this stand-in"
    text = re.sub(r"\bpid [^;]+;", f"pid {work}/nginx.pid;", text)
    temp = " ".join(
        f"{kind}_temp_path {work}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return text.replace("http {\n", f"http {{\n    {temp}\n", 1)


@contextlib.contextmanager
def nginx(gateway_ports: Mapping[str, int], port: int, work: Path) -> Iterator[None]:
    """Run nginx in the foreground of a child process until the block ends."""
    work.mkdir()
    binary = nginx_binary(work)
    config = work / "nginx.conf"
    config.write_text(local_config(gateway_ports, port, work))
    command = [binary, "-p", str(work), "-c", str(config), "-e", "/dev/stderr"]
    subprocess.run([*command, "-t", "-q"], check=True)  # noqa: S603
    process = subprocess.Popen(  # noqa: S603
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
