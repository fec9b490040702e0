"""The listening socket, bound before anything else starts (`hookgate serve`, `hookgate admin`).

A taken port must stop the command with one line, before it connects to the broker or
starts a worker. Binding the real socket here (and handing it to uvicorn) is exact: there is no
window between a check and the bind in which another process could take the port.
"""

from __future__ import annotations

import os
import socket

from hookgate.errors import HookgateError


class ListenError(HookgateError):
    """The listen address cannot be bound: taken, not ours, or not resolvable."""


def bind_listener(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket on `host:port`, as uvicorn binds one for its workers:
    SO_REUSEADDR (a restart need not wait out TIME_WAIT), IPv6 when the host has a colon."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    shown = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as err:
        sock.close()
        if isinstance(err, socket.gaierror):  # its errno is a resolver code, not errno
            reason = err.strerror or str(err)
        else:
            reason = os.strerror(err.errno) if err.errno else str(err)
        raise ListenError(f"cannot listen on {shown}: {reason.lower()}") from err
    sock.set_inheritable(True)  # the workers inherit it
    return sock
