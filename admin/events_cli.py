"""`hookgate events list|show|replay|replay-range|cancel`: event status through the admin API.

The token comes from `$HOOKGATE_ADMIN_TOKEN` only (a flag would show in `ps`); the URL from
`--admin-url`, else `[admin]` host and port in the config file, else http://127.0.0.1:8081.
Everything an event carries (IDs, types, errors) came from the internet: printed through
`hookgate.terminal.safe`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from admin.client import AdminClient, AdminClientError
from hookgate.cli import DEFAULT_CONFIG, config_arg, positive_int, usage
from hookgate.terminal import safe

if TYPE_CHECKING:
    from hookgate.cli import Commands

TOKEN_ENV = "HOOKGATE_ADMIN_TOKEN"  # noqa: S105 - the variable's name, not a token
DEFAULT_URL = "http://127.0.0.1:8081"


def add_events_commands(commands: Commands) -> None:
    events = commands.add_parser(
        "events",
        help="list, show, replay or cancel events through the admin API",
        description=f"Event status from `hookgate admin`. The token comes from ${TOKEN_ENV}.",
    )
    events_commands = events.add_subparsers(title="commands", metavar="COMMAND")
    events.set_defaults(run=lambda _: usage(events))

    listing = events_commands.add_parser(
        "list", help="list events, newest first", description="List events, newest first."
    )
    _common(listing)
    listing.add_argument("--source", help="only this source's events")
    listing.add_argument("--status", help="only events with this status (e.g. failed)")
    listing.add_argument("--type", help="only events of this type")
    listing.add_argument("--service", help="only events this service has seen")
    listing.add_argument("--limit", type=positive_int, default=50, help="at most (50)")
    listing.add_argument("--cursor", help="the next page (printed at the end of a page)")
    listing.set_defaults(run=_list)

    show = events_commands.add_parser(
        "show",
        help="show one event: each service's status and the timeline",
        description="Show one event: its status, each service's, and its timeline.",
    )
    _common(show)
    show.add_argument("source", metavar="SOURCE")
    show.add_argument("event_id", metavar="EVENT_ID")
    show.set_defaults(run=_show)

    _add_event_action(
        events_commands,
        "replay",
        _replay,
        help="send one event to its services' work queues again",
        description="Move the event from the dead-letter queue of --service (default: of "
        "every service whose dead-letter queue holds it) back to the work queue. When no "
        "dead-letter queue holds it (it completed), copy it from the archive of accepted "
        "events to --service (default: every service that saw it or binds it). A message "
        "whose signature does not verify with [broker] message_key is not replayed.",
    )
    _add_replay_range(events_commands)
    _add_event_action(
        events_commands,
        "cancel",
        _cancel,
        help="skip an event wherever it waits (work queue, retry tier), without running it",
        description="Tell the consumers of --service (default: every service not done with "
        "the event) to ack it without running it, wherever it waits. Exits 1 when every "
        "service already completed or failed it.",
    )


def _add_event_action(
    events_commands: Any, name: str, run: Any, *, help: str, description: str
) -> None:
    """`hookgate events NAME SOURCE EVENT_ID [--service NAME]`."""
    action = events_commands.add_parser(name, help=help, description=description)
    _common(action)
    action.add_argument("source", metavar="SOURCE")
    action.add_argument("event_id", metavar="EVENT_ID")
    action.add_argument("--service", metavar="NAME", help="only this service")
    action.set_defaults(run=run)


def _add_replay_range(events_commands: Any) -> None:
    bulk = events_commands.add_parser(
        "replay-range",
        help="send every archived event of a time range to one service again",
        description="Copy the events received between --since and --until (of --source, "
        "of --type) from the archive of accepted events to the work queue of --service, "
        "oldest first, at most --limit; only those the service binds. Each is recorded in "
        "the ledger as replayed. Times are RFC 3339 with an offset, e.g. "
        "2026-12-01T00:00:00Z.",
    )
    _common(bulk)
    bulk.add_argument("--service", metavar="NAME", required=True, help="the service (required)")
    bulk.add_argument("--since", metavar="TIME", required=True, help="received at or after")
    bulk.add_argument("--until", metavar="TIME", help="received at or before (default: now)")
    bulk.add_argument("--source", help="only this source's events (default: every source)")
    bulk.add_argument(
        "--type", metavar="PATTERN", help="only these types: exact, or invoice.* / invoice.#"
    )
    bulk.add_argument("--limit", type=positive_int, help="at most this many (1000; max 100000)")
    bulk.set_defaults(run=_replay_range)


def _common(parser: argparse.ArgumentParser) -> None:
    config_arg(parser)
    parser.add_argument(
        "--admin-url",
        help=f"the admin API (default: [admin] host and port in the config, else {DEFAULT_URL})",
    )


def _client(args: argparse.Namespace) -> AdminClient:
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise AdminClientError(f"set ${TOKEN_ENV} to the admin token ([admin] token)")
    return AdminClient(args.admin_url or admin_url(args), token)


def admin_url(args: argparse.Namespace) -> str:
    """Where `hookgate admin` listens, from `[admin]` in the config file (only host and port
    are read: the token need not be set to find the address)."""
    from hookgate.settings import read_toml

    named = args.config or os.environ.get("HOOKGATE_CONFIG")
    path = named or (DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else None)
    table = read_toml(path).get("admin") if path else None
    if not isinstance(table, dict):
        return DEFAULT_URL
    host, port = table.get("host", "127.0.0.1"), table.get("port", 8081)
    if not isinstance(host, str) or not isinstance(port, int):
        return DEFAULT_URL
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - listening everywhere: ask locally
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _list(args: argparse.Namespace) -> int:
    page = _client(args).events(
        source=args.source,
        status=args.status,
        type=args.type,
        service=args.service,
        limit=args.limit,
        cursor=args.cursor,
    )
    rows = [
        [e["received_at"] or "-", e["source"], e["event_id"], e["type"] or "-", e["status"]]
        for e in page["events"]
    ]
    if not rows:
        print("no events")
    else:
        _table(["RECEIVED AT", "SOURCE", "EVENT ID", "TYPE", "STATUS"], rows)
    if page.get("next"):
        print(f"more: --cursor {safe(page['next'])}")
    return 0


def _show(args: argparse.Namespace) -> int:
    event = _client(args).event(args.source, args.event_id)
    print(f"event     {safe(event['event_id'])}")
    print(f"source    {safe(event['source'])}")
    print(f"type      {safe(event['type'] or '-')}")
    print(f"received  {safe(event['received_at'] or '-')}")
    print(f"status    {safe(event['status'])}")
    if event.get("duplicates"):
        print(f"duplicates absorbed  {safe(event['duplicates'])}")
    services: dict[str, dict[str, Any]] = event.get("services") or {}
    if services:
        print("\nservices:")
        _table(
            ["SERVICE", "STATUS", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"],
            [
                [
                    name,
                    s["status"],
                    s["attempts"],
                    s["next_attempt_at"] or "-",
                    s["last_error"] or "-",
                ]
                for name, s in services.items()
            ],
        )
    print("\ntimeline:")
    _table(
        ["AT", "SERVICE", "STATUS", "ATTEMPT", "DETAIL"],
        [
            [
                step["at"],
                step["service"] or "(gateway)",
                step["status"],
                step["attempt"] if step["attempt"] is not None else "-",
                step["detail"] or "",
            ]
            for step in event.get("timeline", [])
        ],
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    answer = _client(args).replay(args.source, args.event_id, args.service)
    names = ", ".join(safe(name) for name in answer.get("replayed", []))
    origins = sorted(set((answer.get("from") or {}).values()))
    where = f" from the {' and the '.join(origins)}" if origins else ""
    print(f"replayed {safe(args.source)} {safe(args.event_id)} to {names}{safe(where)}")
    if answer.get("refused"):
        refused = ", ".join(safe(name) for name in answer["refused"])
        print(f"hookgate: warning: not replayed to {refused}: its signature does not verify")
    if answer.get("detail"):
        print(f"hookgate: warning: {safe(answer['detail'])}")
    return 0


def _replay_range(args: argparse.Namespace) -> int:
    answer = _client(args).replay_range(
        service=args.service,
        since=args.since,
        until=args.until,
        source=args.source,
        type=args.type,
        limit=args.limit,
    )
    print(
        f"replayed {answer.get('replayed', 0)} events to {safe(args.service)} "
        f"({answer.get('scanned', 0)} archived read; stopped: {safe(answer.get('stopped', '-'))})"
    )
    if answer.get("refused"):
        print(f"hookgate: warning: {answer['refused']} not replayed: signature does not verify")
    if answer.get("next_since"):
        more = "stopped at --limit" if answer.get("stopped") == "limit" else "stopped at a bound"
        print(f"hookgate: {more}; to go on: --since {safe(answer['next_since'])}")
    if answer.get("detail"):
        print(f"hookgate: warning: {safe(answer['detail'])}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    answer = _client(args).cancel(args.source, args.event_id, args.service)
    names = ", ".join(safe(name) for name in answer.get("cancelled", []))
    print(f"cancelled {safe(args.source)} {safe(args.event_id)} for {names}")
    if answer.get("detail"):
        print(f"hookgate: warning: {safe(answer['detail'])}")
    return 0


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Aligned columns; the last one is not padded (error text runs on)."""
    cells = [list(header), *([safe(str(cell)) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*padded, row[-1]]).rstrip())
