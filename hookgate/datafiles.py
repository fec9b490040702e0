"""Private data files: created 0600 in a 0700 directory, whatever the process umask.

The spool, the dedupe store and a service's idempotency store hold webhook bodies, signature
headers and event IDs. `private_sqlite_file(path)` is called before SQLite opens such a file:

- each missing directory on the way is created 0700 (an existing one is left as it is: it may
  be shared, e.g. systemd's `StateDirectory=`);
- the file is created 0600 if missing, and an existing file (and SQLite's `-wal`, `-shm` and
  `-journal` siblings, which an older version may have left 0644) loses any group or other bits.

SQLite itself creates `-wal` and `-shm` with the main file's mode (and owner, when run as root),
so a 0600 main file is enough for the siblings it creates later. Modes are set with `chmod`
after creation, because `open(…, 0o600)` and `mkdir(…, 0o700)` are only ever narrowed by the
umask, never widened, but an explicit `chmod` states the result rather than relying on that.

It lives in the bottom package because the gateway's stores and the consumer services'
idempotency store both use it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["DIRECTORY_MODE", "FILE_MODE", "private_sqlite_file"]

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
_SIBLINGS = ("-wal", "-shm", "-journal")

_log = logging.getLogger("hookgate.datafiles")


def private_sqlite_file(path: str | os.PathLike[str]) -> None:
    """Make `path` a private file (see the module docstring). Raises `OSError` when the file
    or its directory cannot be created. In-memory and URI names are left alone."""
    name = os.fspath(path)
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    file = Path(name)
    _make_directories(file.parent)
    # A symlink is followed, as SQLite follows it: the file it points to is the data file.
    fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        _tighten(fd, file)
    finally:
        os.close(fd)
    for suffix in _SIBLINGS:
        sibling = file.with_name(file.name + suffix)
        try:
            fd = os.open(sibling, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue  # absent (the usual case), or not ours to touch
        try:
            _tighten(fd, sibling)
        finally:
            os.close(fd)


def _make_directories(directory: Path) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:
            continue  # another worker created it a moment ago
        os.chmod(created, DIRECTORY_MODE)


def _tighten(fd: int, path: Path) -> None:
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & 0o077 == 0:
        return
    try:
        os.fchmod(fd, mode & FILE_MODE)
    except PermissionError:
        # Someone else's file that we may still read and write: say so, do not stop.
        _log.warning(
            "data file is readable by others and not ours to change",
            extra={"fields": {"path": str(path), "mode": oct(mode)}},
        )
