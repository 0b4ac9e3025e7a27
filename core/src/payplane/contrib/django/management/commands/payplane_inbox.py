"""``manage.py payplane_inbox``: the ``payplane inbox`` commands, on the project's inbox.

Subcommands ``list``, ``show``, ``retry``, ``replay``, ``requeue``, ``work`` and
``prune`` take the options of their ``payplane inbox`` namesakes and print the same
tables, lines and JSON (the CLI's own formatting functions), with two differences: the
inbox is the project's (``settings.PAYPLANE_INBOX``), so there is no ``--db``,
``--postgres``, ``--handler`` or ``--setting``; and a failure is a ``CommandError``
(exit code 1, or 2 for bad usage), as Django's commands report them.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from payplane._cli import (
    CliConfigError,
    _age,
    _record_dict,
    _rejected_dict,
    _short,
    _when,
)
from payplane._inbox._receiver import Inbox
from payplane._inbox._store import InboxRecord, RecordState
from payplane._sandbox_table import render_table
from payplane.contrib.django._settings import get_inbox
from payplane.exceptions import ConfigurationError

_STATES = [state.value for state in RecordState]
_RECORD_COLUMNS = [
    "id",
    "provider",
    "account",
    "event key",
    "kind",
    "state",
    "attempts",
    "received at",
    "next attempt",
    "last error",
]


def _event(parser: Any) -> None:  # noqa: ANN401 - an argparse parser
    parser.add_argument("provider")
    parser.add_argument("event_key")
    parser.add_argument(
        "--account", default="", help="The merchant account (as in POST /{provider}/{account})."
    )


class Command(BaseCommand):  # type: ignore[misc]  # Django is untyped
    """Look at and operate the project's postback inbox."""

    help = "Look at and operate the project's postback inbox (settings.PAYPLANE_INBOX)."

    def add_arguments(self, parser: Any) -> None:  # noqa: ANN401 - Django's CommandParser
        """Declare the subcommands and their options (those of ``payplane inbox``)."""
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="command")

        listing = commands.add_parser("list", help="List records (or refused deliveries).")
        listing.add_argument("--state", choices=_STATES, help="Only records in this state.")
        listing.add_argument("--provider", help="Only records of this provider.")
        listing.add_argument("--account", help="Only this merchant account ('' for the default).")
        listing.add_argument("--limit", type=_page, default=50, help="At most this many (50).")
        listing.add_argument("--after", type=int, metavar="ID", help="The next page: older ids.")
        listing.add_argument("--rejected", action="store_true", help="Refused deliveries.")
        listing.add_argument("--json", action="store_true", dest="as_json")

        show = commands.add_parser("show", help="Show one record.")
        _event(show)
        show.add_argument("--body", action="store_true", help="Include the body (scrubbed).")
        show.add_argument("--json", action="store_true", dest="as_json")

        retry = commands.add_parser("retry", help="Apply a record not applied yet.")
        _event(retry)
        retry.add_argument("--json", action="store_true", dest="as_json")

        replay = commands.add_parser("replay", help="Run the handler again for an applied one.")
        _event(replay)
        replay.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        replay.add_argument("--json", action="store_true", dest="as_json")

        requeue = commands.add_parser("requeue", help="Make a dead or failed event due again.")
        requeue.add_argument("provider", nargs="?")
        requeue.add_argument("event_key", nargs="?")
        requeue.add_argument("--account", help="The merchant account.")
        requeue.add_argument("--all-dead", action="store_true", help="Every dead event.")
        requeue.add_argument("--provider", dest="only_provider", help="With --all-dead.")
        requeue.add_argument("--json", action="store_true", dest="as_json")

        work = commands.add_parser("work", help="Apply recorded events: a deferred worker.")
        work.add_argument("--lease", type=_positive, default=300.0, help="Seconds (300).")
        work.add_argument("--idle-wait", type=_positive, default=1.0, help="Seconds (1).")
        work.add_argument("--max-attempts", type=_count, help="Failed attempts before dead.")
        work.add_argument("--max-events", type=_count, help="Stop after this many attempts.")
        work.add_argument("--until-idle", action="store_true", help="Stop once nothing is due.")
        work.add_argument("--json", action="store_true", dest="as_json")

        prune = commands.add_parser("prune", help="Delete old applied records, in batches.")
        prune.add_argument("--applied-older-than", dest="applied", required=True, metavar="AGE")
        prune.add_argument("--rejected-older-than", dest="rejected", metavar="AGE")
        prune.add_argument("--batch", type=_batch, default=1000, help="Rows per transaction.")
        prune.add_argument("--dry-run", action="store_true")
        prune.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args: object, **options: Any) -> None:  # noqa: ANN401 - Django's options
        """Run the subcommand on the project's inbox."""
        del args
        try:
            inbox = get_inbox()
            getattr(self, f"_{options['subcommand']}")(inbox, **options)
        except CliConfigError as exc:
            raise CommandError(exc.format_message(), returncode=2) from exc
        except ConfigurationError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        except (LookupError, ValueError, ConnectionError) as exc:
            raise CommandError(str(exc), returncode=1) from exc

    # -- output ---------------------------------------------------------------------------

    def _line(self, text: str = "") -> None:
        self.stdout.write(text)

    def _json(self, data: object) -> None:
        self._line(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    def _table(self, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        for line in render_table(columns, [[str(cell) for cell in row] for row in rows]):
            self._line(line)

    def _more(self, page: Sequence[Any], limit: int) -> None:
        if len(page) == limit:
            self.stderr.write(f"(more: add --after {page[-1].id} for the next page)")

    @staticmethod
    def _record(inbox: Inbox, provider: str, event_key: str, account: str) -> InboxRecord:
        record = inbox.get(provider, event_key, account=account)
        if record is None:
            where = f"{provider}/{account}" if account else provider
            msg = f"no recorded postback {where}/{event_key}"
            raise LookupError(msg)
        return record

    # -- the subcommands ------------------------------------------------------------------

    def _list(self, inbox: Inbox, **options: Any) -> None:  # noqa: ANN401
        limit, after = options["limit"], options["after"]
        where = {"provider": options["provider"], "account": options["account"]}
        if options["rejected"]:
            refused = inbox.rejected(**where, after=after, limit=limit)
            if options["as_json"]:
                self._json([_rejected_dict(r) for r in refused])
                return
            self._table(
                ["id", "provider", "account", "received at", "error"],
                [
                    [r.id, r.provider, r.account or "-", _when(r.received_at), _short(r.error, 80)]
                    for r in refused
                ],
            )
            self._more(refused, limit)
            return
        state = RecordState(options["state"]) if options["state"] else None
        records = inbox.records(state=state, **where, after=after, limit=limit)
        if options["as_json"]:
            self._json([_record_dict(r) for r in records])
            return
        self._table(
            _RECORD_COLUMNS,
            [
                [
                    r.id,
                    r.provider,
                    r.account or "-",
                    r.event_key,
                    r.kind or "-",
                    r.state.value,
                    r.attempts,
                    _when(r.received_at),
                    _when(r.next_attempt_at),
                    _short(r.last_error),
                ]
                for r in records
            ],
        )
        self._more(records, limit)

    def _show(self, inbox: Inbox, **options: Any) -> None:  # noqa: ANN401
        record = self._record(inbox, options["provider"], options["event_key"], options["account"])
        data = _record_dict(record, body=options["body"])
        if options["as_json"]:
            self._json(data)
            return
        self._table(
            ["field", "value"],
            [
                [name, "-" if value in (None, {}) else value]
                for name, value in data.items()
                if name not in {"event", "body", "headers"}
            ],
        )
        if record.headers:
            self._line()
            self._line("headers:")
            for name, value in sorted(record.headers.items()):
                self._line(f"  {name}: {value}")
        self._line()
        self._line("event:")
        self._line(json.dumps(record.event_data, indent=2, ensure_ascii=False))
        if options["body"]:
            self._line()
            self._line("body:")
            self._line(str(data["body"]))

    def _retry(self, inbox: Inbox, **options: Any) -> None:  # noqa: ANN401
        provider, key, account = options["provider"], options["event_key"], options["account"]
        self._record(inbox, provider, key, account)
        state = inbox.retry(provider, key, account=account)
        record = inbox.get(provider, key, account=account)
        if options["as_json"]:
            self._json(_record_dict(record) if record else {"state": state.value})
        else:
            failed = state is not RecordState.APPLIED and record and record.last_error
            error = f" (last error: {record.last_error})" if failed and record else ""
            self._line(f"{provider}/{key}: {state.value}{error}")
        if state is not RecordState.APPLIED:
            msg = f"{provider}/{key} is {state.value}, not applied"
            raise CommandError(msg, returncode=1)

    def _replay(self, inbox: Inbox, **options: Any) -> None:  # noqa: ANN401
        provider, key, account = options["provider"], options["event_key"], options["account"]
        self._record(inbox, provider, key, account)
        if not options["yes"]:
            answer = input(f"Run the handler again for {provider}/{key}? [y/N]: ")
            if answer.strip().lower() not in {"y", "yes"}:
                msg = "Aborted!"
                raise CommandError(msg, returncode=1)
        completed = inbox.replay(provider, key, account=account)
        record = inbox.get(provider, key, account=account)
        if options["as_json"]:
            self._json({"completed": completed, "record": _record_dict(record) if record else None})
        else:
            replays = record.replays if record else "?"
            result = "replayed" if completed else "the handler failed"
            self._line(f"{provider}/{key}: {result} (replays: {replays})")
        if not completed:
            msg = f"{provider}/{key}: the handler failed"
            raise CommandError(msg, returncode=1)

    def _requeue(self, inbox: Inbox, **options: Any) -> None:  # noqa: ANN401
        provider, key, account = options["provider"], options["event_key"], options["account"]
        if options["all_dead"] == bool(provider or key):
            msg = "name one event (PROVIDER EVENT_KEY) or pass --all-dead, not both"
            raise CommandError(msg, returncode=2)
        if options["all_dead"]:
            count = inbox.requeue_dead(provider=options["only_provider"], account=account)
            if options["as_json"]:
                self._json({"requeued": count})
            else:
                self._line(f"{count} dead event(s) re-queued")
            return
        if provider is None or key is None:
            msg = "requeue needs PROVIDER and EVENT_KEY"
            raise CommandError(msg, returncode=2)
        state = inbox.requeue(provider, key, account=account or "")
        if options["as_json"]:
            self._json({"state": state.value})
        else:
            self._line(f"{provider}/{key}: {state.value}")
        if state is not RecordState.RECEIVED:
            msg = f"{provider}/{key} is {state.value}: only dead and failed events are re-queued"
            raise CommandError(msg, returncode=1)

    def _work(self, inbox: Inbox, **options: Any) -> None:  # noqa: ANN401
        stop = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()  # the event in hand is finished first, as in the CLI

        previous = signal.signal(signal.SIGTERM, on_signal)
        previous_int = signal.signal(signal.SIGINT, on_signal)
        try:
            summary = inbox.work(
                stop=stop,
                lease=options["lease"],
                idle_wait=options["idle_wait"],
                max_events=options["max_events"],
                until_idle=options["until_idle"],
                max_attempts=options["max_attempts"],
            )
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)
        data = {"applied": summary.applied, "failed": summary.failed, "dead": summary.dead}
        if options["as_json"]:
            self._json(data)
        else:
            self._line(", ".join(f"{count} {name}" for name, count in data.items()))

    def _prune(self, inbox: Inbox, **options: Any) -> None:  # noqa: ANN401
        rejected = options["rejected"]
        result = inbox.prune(
            applied_older_than=_age(options["applied"], "--applied-older-than"),
            rejected_older_than=None
            if rejected is None
            else _age(rejected, "--rejected-older-than"),
            batch=options["batch"],
            dry_run=options["dry_run"],
        )
        data = {"records": result.records, "rejected": result.rejected, "dry_run": result.dry_run}
        if options["as_json"]:
            self._json(data)
        else:
            verb = "would delete" if result.dry_run else "deleted"
            self._line(
                f"{verb} {result.records} record(s) and {result.rejected} refused delivery(ies)"
            )


def _number(kind: type[float | int], low: float, high: float | None, text: str) -> Any:  # noqa: ANN401
    try:
        value = kind(text)
    except ValueError:
        msg = f"{text!r} is not a number"
        raise argparse.ArgumentTypeError(msg) from None
    if value < low or (high is not None and value > high) or (kind is float and value == 0):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        msg = f"{text} is not {'positive' if kind is float else bound}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _page(text: str) -> int:
    value: int = _number(int, 1, 10_000, text)
    return value


def _batch(text: str) -> int:
    value: int = _number(int, 1, 100_000, text)
    return value


def _count(text: str) -> int:
    value: int = _number(int, 1, None, text)
    return value


def _positive(text: str) -> float:
    value: float = _number(float, 0, None, text)
    return value
