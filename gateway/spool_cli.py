"""`hookgate spool list|show|drop|retry`: look into the spool file and deal with quarantined
events, while `hookgate serve` keeps running.

Every command opens the file itself (never creating one), runs one short transaction and
closes it; SQLite's WAL lets the gateway go on appending and forwarding meanwhile. The path
comes from `--path`, else from the config file's `[spool]` table alone, so no source secret
has to be in the environment. Text that came from a request (event IDs, types, headers) is
printed with control characters escaped: it may hold terminal escape sequences.

`drop` deletes for good an event that was answered 2xx: it needs `--yes`, and a row that is
still waiting to be forwarded (not quarantined) also needs `--force`.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from gateway import spool_file
from gateway.config import SpoolSettings
from gateway.errors import GatewayError
from hookgate.terminal import safe


def add_spool_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    config_arg: Callable[[argparse.ArgumentParser], None],
    config_path: Callable[[argparse.Namespace], str],
) -> None:
    """Add `spool` and its commands to `hookgate`'s parser."""
    spool = commands.add_parser(
        "spool",
        help="list, show, drop or retry events in the gateway's disk spool",
        description="Work with the gateway's disk spool (spool.path): events waiting for the "
        "broker, and quarantined ones the forwarder moved aside because RabbitMQ can never "
        "take them. Safe while `hookgate serve` runs.",
    )
    spool.set_defaults(run=lambda _: _usage(spool))
    spool_commands = spool.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        name: str, help_: str, description: str, run: Callable[[argparse.Namespace, str], int]
    ) -> argparse.ArgumentParser:
        parser = spool_commands.add_parser(name, help=help_, description=description)
        config_arg(parser)
        parser.add_argument("--path", help="the spool file (default: spool.path from the config)")
        parser.set_defaults(run=lambda args: run(args, _path(args, config_path)))
        return parser

    listing = command(
        "list",
        "list quarantined events, then the oldest waiting ones",
        "List the spool's quarantined events (with the reason) and then its oldest waiting "
        "ones: seq, state, source, event ID, type, size, receipt time. Nothing is changed.",
        _list,
    )
    listing.add_argument("--limit", type=_positive_int, default=50, help="at most (50)")
    show = command(
        "show",
        "show one spooled event's metadata and forwarded headers",
        "Show one event (waiting or quarantined): its metadata, the quarantine reason, and the "
        "request headers it will be published with. Control characters are escaped.",
        _show,
    )
    show.add_argument("seq", type=_positive_int, metavar="SEQ", help="the event's seq (list)")
    show.add_argument("--body", action="store_true", help="print the body too (escaped)")
    drop = command(
        "drop",
        "delete quarantined events for good",
        "Delete quarantined events. They were answered 2xx, so this loses them: it needs "
        "--yes. A waiting (not quarantined) event also needs --force.",
        _drop,
    )
    drop.add_argument("seqs", type=_positive_int, nargs="+", metavar="SEQ")
    drop.add_argument("--yes", action="store_true", help="really delete them")
    drop.add_argument("--force", action="store_true", help="delete waiting events too")
    retry = command(
        "retry",
        "move quarantined events back to the queue",
        "Move quarantined events back to the queue under their own seq, ahead of newer ones; "
        "the running gateway forwards them (and quarantines them again if the broker still "
        "refuses them).",
        _retry,
    )
    retry.add_argument("seqs", type=_positive_int, nargs="*", metavar="SEQ")
    retry.add_argument("--all", action="store_true", help="every quarantined event")


def _list(args: argparse.Namespace, path: str) -> int:
    with _open(path) as db:
        totals = spool_file.read_totals(db)
        rows = spool_file.rows(db, args.limit)
    print(
        f"{totals.events} waiting, {totals.quarantined} quarantined "
        f"({totals.bytes + totals.quarantined_bytes} bytes) in {path}"
    )
    if not rows:
        return 0
    print(
        f"{'SEQ':>8}  {'STATE':<11}  {'SOURCE':<14}  {'EVENT ID':<36}  {'TYPE':<24}  "
        f"{'SIZE':>8}  {'RECEIVED':<20}  REASON"
    )
    for row in rows:
        event = row.event
        print(
            f"{event.seq:>8}  {row.state:<11}  {_cut(event.source, 14):<14}  "
            f"{_cut(event.event_id, 36):<36}  {_cut(event.event_type, 24):<24}  "
            f"{row.size:>8}  {_time(event.received_at):<20}  {_cut(row.reason, 100)}"
        )
    return 0


def _show(args: argparse.Namespace, path: str) -> int:
    with _open(path) as db:
        row = spool_file.row(db, args.seq)
    if row is None:
        raise GatewayError(f"no event with seq {args.seq} in {path}")
    event = row.event
    print(f"seq          {event.seq}")
    print(f"state        {row.state}")
    print(f"source       {safe(event.source)} (provider {safe(event.provider)})")
    print(f"event id     {safe(event.event_id)}")
    print(f"type         {safe(event.event_type)}")
    print(f"routing key  {safe(event.routing_key)}")
    print(f"received     {_time(event.received_at)}")
    print(f"size         {row.size} bytes (body {len(event.body)})")
    if row.state == "quarantined":
        print(f"quarantined  {_time(row.quarantined_at or 0.0)}")
        print(f"reason       {safe(row.reason)}")
    else:
        print(f"strikes      {event.strikes}")
    print(f"headers ({len(event.headers)}):")
    for name, value in sorted(event.headers.items()):
        print(f"  {safe(name)}: {safe(value)}")
    if args.body:
        print(f"body ({len(event.body)} bytes):")
        print(safe(event.body, multiline=True))
    return 0


def _drop(args: argparse.Namespace, path: str) -> int:
    with _open(path) as db:
        found = {seq: spool_file.row(db, seq) for seq in args.seqs}
        missing = [str(seq) for seq, row in found.items() if row is None]
        if missing:
            raise GatewayError(f"no event with seq {', '.join(missing)} in {path}")
        waiting = [str(seq) for seq, row in found.items() if row and row.state != "quarantined"]
        if waiting and not args.force:
            raise GatewayError(
                f"seq {', '.join(waiting)} is waiting to be forwarded, not quarantined; "
                "add --force to delete it anyway"
            )
        if not args.yes:
            raise GatewayError(
                f"this would delete {len(found)} event(s) answered 2xx, for good; add --yes"
            )
        for seq, row in found.items():
            state = spool_file.drop(db, seq, queued_too=args.force)
            if state is None or row is None:  # forwarded or moved meanwhile
                print(f"seq {seq}: no longer there; nothing deleted")
            else:
                print(f"deleted {state} event {seq} ({safe(row.event.event_id)})")
    return 0


def _retry(args: argparse.Namespace, path: str) -> int:
    if bool(args.all) == bool(args.seqs):
        raise GatewayError("say which events to retry: SEQ (one or more) or --all")
    with _open(path) as db:
        wanted = spool_file.quarantined_seqs(db) if args.all else list(args.seqs)
        moved = spool_file.requeue(db, wanted)
    for seq in moved:
        print(f"seq {seq}: back in the queue")
    print(f"{len(moved)} event(s) moved back; a running gateway forwards them next")
    missing = sorted(set(wanted) - set(moved))
    if missing:
        raise GatewayError(f"not quarantined: seq {', '.join(map(str, missing))}")
    return 0


@contextmanager
def _open(path: str) -> Iterator[sqlite3.Connection]:
    if not os.path.isfile(path):
        raise GatewayError(
            f"no spool file at {path!r} (a relative spool.path is relative to the gateway's "
            "working directory: run from there, or pass --path)"
        )
    try:
        db = spool_file.connect(path)
    except (OSError, sqlite3.Error) as err:
        raise GatewayError(f"cannot open the spool {path!r}: {err}") from err
    try:
        yield db
    except sqlite3.Error as err:
        raise GatewayError(f"spool {path!r}: {err}") from err
    finally:
        db.close()


def _path(args: argparse.Namespace, config_path: Callable[[argparse.Namespace], str]) -> str:
    """`--path`, else `spool.path` from the config file: only its `[spool]` table is read."""
    if args.path:
        return str(args.path)
    config = config_path(args)
    try:
        with open(config, "rb") as file:
            raw = tomllib.load(file)
    except OSError as err:
        raise GatewayError(f"cannot read config file {config!r}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise GatewayError(f"{config}: not valid TOML: {err}") from err
    table = raw.get("spool", {})
    path = table.get("path", SpoolSettings().path) if isinstance(table, dict) else None
    if not isinstance(path, str) or not path or "$" in path:
        raise GatewayError("spool.path: expected a plain file name here; pass --path FILE")
    return path


def _cut(text: str, width: int) -> str:
    shown = safe(text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _time(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2
