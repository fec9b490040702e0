"""`hookgate dlq list|show|replay|purge SERVICE`: a consumer service's dead-letter queue."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from consumers.errors import ConsumerError
from hookgate import envelope
from hookgate.cli import broker_settings, config_arg, positive_int, usage
from hookgate.errors import redact

if TYPE_CHECKING:
    from hookgate.cli import Commands

T = TypeVar("T")


def add_dlq_commands(commands: Commands) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="inspect, replay or purge a service's dead-letter queue",
        description="Work with SERVICE.dead, the dead-letter queue of consumer service "
        "SERVICE (its name, or MODULE:SERVICE).",
    )
    dlq_commands = dlq.add_subparsers(title="commands", metavar="COMMAND")
    dlq.set_defaults(run=lambda _: usage(dlq))

    listing = dlq_commands.add_parser(
        "list",
        help="list dead-lettered events (they stay in the queue)",
        description="List dead-lettered events: event ID, type, attempts, error, failed-at. "
        "Nothing is removed.",
    )
    _dlq_common(listing)
    listing.add_argument("--limit", type=positive_int, default=100, help="at most (100)")
    listing.set_defaults(run=_dlq_list)

    show = dlq_commands.add_parser(
        "show",
        help="show one dead-lettered event in full",
        description="Show one dead-lettered event: error, traceback, headers and body.",
    )
    _dlq_common(show)
    show.add_argument("event_id", metavar="EVENT_ID")
    show.set_defaults(run=_dlq_show)

    replay = dlq_commands.add_parser(
        "replay",
        help="send dead-lettered events back to the work queue",
        description="Publish dead-lettered events back to the service's work queue with the "
        "attempt count reset; each leaves the dead-letter queue only after the broker "
        "confirmed its copy.",
    )
    _dlq_common(replay)
    replay.add_argument(
        "--event-id", action="append", default=[], metavar="ID", help="replay this event"
    )
    replay.add_argument("--all", action="store_true", help="replay every dead-lettered event")
    replay.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="with [broker] message_key set, replay messages whose signature does not verify "
        "too (by default they are refused and stay in the dead-letter queue); a consumer "
        "that checks signatures dead-letters them again, so this is for services without a key",
    )
    replay.set_defaults(run=_dlq_replay)

    purge = dlq_commands.add_parser(
        "purge",
        help="delete every dead-lettered event",
        description="Delete every message in the dead-letter queue. Needs --yes.",
    )
    _dlq_common(purge)
    purge.add_argument("--yes", action="store_true", help="really delete them")
    purge.set_defaults(run=_dlq_purge)


def _dlq_common(parser: argparse.ArgumentParser) -> None:
    config_arg(parser)
    parser.add_argument("service", metavar="SERVICE", help="service name (or MODULE:SERVICE)")


def _dlq_call(
    args: argparse.Namespace, call: Callable[[str, str, str], Coroutine[Any, Any, T]]
) -> T:
    """Run `call(url, dead_queue, work_queue)` with one-line errors."""
    name = _service_name(args)
    broker = broker_settings(args)
    url = broker.url.reveal()
    try:
        return asyncio.run(call(url, f"{name}.dead", name))
    except ConsumerError as err:
        raise ConsumerError(redact(str(err), url)) from err


def _dlq_list(args: argparse.Namespace) -> int:
    from consumers import dlq
    from hookgate.terminal import safe

    total, letters = _dlq_call(args, lambda url, dead, _: dlq.peek(url, dead, args.limit))
    print(
        f"{total} event(s) in {_dead_name(args)}" + (f", first {len(letters)}:" if letters else "")
    )
    if letters:
        print(f"{'EVENT ID':<36} {'TYPE':<28} {'ATTEMPTS':>8}  {'FAILED AT':<24} ERROR")
    for letter in letters:  # every field may hold bytes from the internet: escaped
        error = safe(f"{letter.error_type}: {letter.error_message}".replace("\n", " "))
        print(
            f"{safe(letter.event_id):<36} {safe(letter.source + '.' + letter.type):<28} "
            f"{letter.attempt:>8}  {safe(letter.failed_at):<24} {error[:100]}"
        )
    return 0


def _dlq_show(args: argparse.Namespace) -> int:
    from consumers import dlq
    from hookgate.terminal import safe

    letter = _dlq_call(args, lambda url, dead, _: dlq.find(url, dead, args.event_id))
    if letter is None:
        raise ConsumerError(f"no event {safe(args.event_id)!r} in {_dead_name(args)}")
    # Everything below but the attempt count came with the message: escaped.
    print(f"event     {safe(letter.event_id)}")
    print(f"source    {safe(letter.source)}")
    print(f"type      {safe(letter.type)}")
    print(f"attempts  {letter.attempt}")
    print(f"handler   {safe(letter.handler or '-')}")
    print(f"reason    {safe(letter.reason)}")
    print(f"failed at {safe(letter.failed_at)}")
    error = f"{letter.error_type}: {letter.error_message}"
    print(f"error     {safe(error)}")
    if letter.traceback:
        print("traceback:")
        print(safe(letter.traceback.rstrip(), multiline=True))
    print("message headers:")
    for key, value in sorted(letter.headers.items()):
        if key != envelope.ERROR_TRACEBACK:
            print(f"  {safe(key)}: {safe(value)}")
    print(f"body ({len(letter.body)} bytes, {safe(letter.content_type or 'no content type')}):")
    print(safe(letter.body, multiline=True))
    return 0


def _dlq_replay(args: argparse.Namespace) -> int:
    from consumers import dlq
    from hookgate.terminal import safe

    if bool(args.all) == bool(args.event_id):
        raise ConsumerError("say which events to replay: --event-id ID (repeatable) or --all")
    wanted = None if args.all else set(args.event_id)
    keys = (
        []
        if args.allow_unauthenticated
        else [k.reveal() for k in broker_settings(args).message_keys]
    )
    replayed: set[str] = set()
    refused: set[str] = set()

    def progress(letter: dlq.DeadLetter) -> None:
        replayed.add(letter.event_id)
        print(f"replayed {safe(letter.event_id)} ({safe(letter.source + '.' + letter.type)})")

    def refuse(letter: dlq.DeadLetter, why: str) -> None:
        refused.add(letter.event_id)
        print(f"hookgate: refused {safe(letter.event_id)}: {why}", file=sys.stderr)

    moved = _dlq_call(
        args,
        lambda url, dead, work: dlq.replay(
            url, dead, work, wanted, progress, message_keys=keys, refused=refuse
        ),
    )
    print(f"{moved} event(s) sent back to {_service_name(args)}")
    status = 0
    if refused:
        print(
            f"hookgate: error: {len(refused)} event(s) not replayed: their signature does not "
            "verify (left in the dead-letter queue; --allow-unauthenticated replays them)",
            file=sys.stderr,
        )
        status = 1
    missing = sorted((wanted or set()) - replayed - refused)
    if missing:
        shown = ", ".join(safe(m) for m in missing)
        print(f"hookgate: error: not in {_dead_name(args)}: {shown}", file=sys.stderr)
        status = 1
    return status


def _dlq_purge(args: argparse.Namespace) -> int:
    from consumers import dlq

    if not args.yes:
        count = _dlq_call(args, lambda url, dead, _: dlq.depth(url, dead))
        raise ConsumerError(
            f"this would delete {count} event(s) from {_dead_name(args)}; add --yes to do it"
        )
    purged = _dlq_call(args, lambda url, dead, _: dlq.purge(url, dead))
    print(f"purged {purged} event(s) from {_dead_name(args)}")
    return 0


def _service_name(args: argparse.Namespace) -> str:
    reference: str = args.service
    if ":" not in reference:
        return reference
    from consumers.run import load_service

    return load_service(reference).name


def _dead_name(args: argparse.Namespace) -> str:
    return f"{_service_name(args)}.dead"
