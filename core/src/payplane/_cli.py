"""The ``payplane`` command line: providers, sandbox, postbacks, inbox, demo.

Exit codes: 0 success; 1 a failure (a postback that does not verify, a demo step that
misbehaved, an event still failing); 2 bad usage or configuration (unknown provider or
option, missing keys, a missing extra, a port in use, a file that is not JSON, no inbox in
the file named). Errors are one line on stderr, ``payplane: error: ...``, never a traceback
(set ``PAYPLANE_DEBUG=1`` for one). No output ever shows a secret: every line is redacted
against the keys the command read.

Imports are lazy: ``payplane providers`` imports neither httpx nor Starlette. A module
that an extra provides and that is not installed is reported with the extra to install.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, NoReturn

import attrs
import click

from payplane._cli_settings import env_name, parse_pairs, read_settings, secret_texts
from payplane._models import OtherEvent
from payplane._registry import PluginLoadWarning, Registry, default_registry
from payplane._secrets import redact
from payplane.exceptions import ConfigurationError, PayplaneError, UnknownProviderError

if TYPE_CHECKING:
    from payplane._inbox import Inbox, InboxRecord, InboxTransaction, RejectedPostback, Store
    from payplane._models import PostbackEvent
    from payplane._sandbox import DeliveryCounts
    from payplane._spec import ProviderSpec

__all__ = ["cli", "main"]

DEBUG_ENV = "PAYPLANE_DEBUG"
INBOX_POSTGRES_ENV = "PAYPLANE_INBOX_POSTGRES"
DEFAULT_SANDBOX_PORT = 8765

_SECRETS: set[str] = set()
"""Values no output may show: every secret setting or key a command read."""


def _clean(text: str) -> str:
    return redact(text, _SECRETS)


def _out(text: str = "", *, err: bool = False) -> None:
    click.echo(_clean(text), err=err)


def _json_out(data: object) -> None:
    _out(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _table(columns: Sequence[str], rows: Iterable[Sequence[object]], indent: str = "") -> None:
    from payplane._sandbox_table import render_table  # noqa: PLC0415

    for line in render_table(columns, [[str(c) for c in row] for row in rows]):
        _out(indent + line)


class CliError(click.ClickException):
    """A failure shown as one line, ``payplane: error: ...``; exit code 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the one line on stderr."""
        del file
        _out(f"payplane: error: {self.format_message()}", err=True)


class CliConfigError(CliError):
    """Bad usage or configuration, shown as one line; exit code 2."""

    exit_code = 2


_EXTRA_MARKER = re.compile(r"""^\s*([A-Za-z0-9._-]+).*;\s*extra\s*==\s*["']([^"']+)["']""")


def _extras() -> dict[str, str]:
    """Map each module an extra of payplane installs to that extra (from the metadata).

    A requirement ``payplane-paykassma-wavepay; extra == "paykassma-wavepay"`` maps the
    module ``payplane_paykassma_wavepay``; a specific extra wins over ``all``.
    """
    from importlib.metadata import PackageNotFoundError, requires  # noqa: PLC0415

    try:
        requirements = requires("payplane") or []
    except PackageNotFoundError:  # pragma: no cover - payplane runs from an installed dist
        return {}
    found: dict[str, str] = {}
    for requirement in requirements:
        match = _EXTRA_MARKER.match(requirement)
        if match is None:
            continue
        module = match.group(1).lower().replace("-", "_").replace(".", "_")
        if found.get(module, "all") == "all":
            found[module] = match.group(2)
    return found


def _install_hint(module: str) -> str | None:
    extra = _extras().get(module.partition(".")[0])
    return None if extra is None else f'pip install "payplane[{extra}]"'


def _usage_line(exc: click.UsageError) -> CliConfigError:
    where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return CliConfigError(f"{exc.format_message()}{where}")


def _one_line(exc: Exception, command: str) -> CliError:  # noqa: PLR0911 - one line per kind
    """The one-line error for *exc*, raised while *command* ran (re-raised with DEBUG)."""
    if isinstance(exc, UnknownProviderError):
        # A provider's distribution is payplane-<id>; core lists some as extras.
        hint = _install_hint(f"payplane_{exc.provider}") if exc.provider else None
        return CliConfigError(f"{exc.message}; to install it: {hint}" if hint else exc.message)
    if isinstance(exc, ConfigurationError):
        return CliConfigError(exc.message)
    if isinstance(exc, PayplaneError):
        return CliError(str(exc))
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        hint = _install_hint(exc.name)
        if hint is not None:
            module = exc.name.partition(".")[0]
            return CliConfigError(f"{command} needs {module}, which is not installed: {hint}")
    if isinstance(exc, OSError):
        return CliError(exc.strerror or str(exc))
    if isinstance(exc, LookupError):
        return CliError(str(exc.args[0]) if exc.args else repr(exc))
    if os.environ.get(DEBUG_ENV):
        raise exc
    return CliError(f"unexpected {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for a traceback)")


class _Group(click.Group):
    """A group whose errors are one line with an exit code; its subgroups are the same."""

    group_class = type  # subgroups (sandbox, postback, inbox) are _Group too

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the group's options; a usage error is one line."""
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _usage_line(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:  # noqa: ANN401 - whatever the command returns
        """Run the subcommand; turn whatever it raises into one line and an exit code."""
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _usage_line(exc) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            raise  # the reader left (``| head``): click exits quietly, with status 1
        except Exception as exc:
            command = " ".join(filter(None, (ctx.command_path, ctx.invoked_subcommand)))
            raise _one_line(exc, command) from exc


# -- settings and keys ---------------------------------------------------------------------


def _settings(
    provider: str,
    given: Sequence[str],
    option: str,
    *,
    only: Sequence[str] | None = None,
    require: bool = True,
) -> dict[str, object]:
    """Collect a provider's settings from ``PAYPLANE_<PROVIDER>_<FIELD>`` and *given*.

    Values take the types the settings class declares (``max_postback_bytes=100000`` is
    an int); see :mod:`payplane._cli_settings`. Secret values are remembered so that no
    output shows them. With *only*, just those fields are read (a name outside them is
    refused) and, with *require*, all of them are required; otherwise every field
    without a default is required.
    """
    spec = default_registry().spec(provider)
    secret = spec.secret_fields()
    pairs = parse_pairs(given, option)
    _SECRETS.update(text for name, text in pairs.items() if name in secret and text)
    values = read_settings(
        provider,
        spec.load_settings_class(),
        secret,
        pairs,
        option,
        only=only,
        require=require,
    )
    _SECRETS.update(secret_texts(values, secret))
    return values


# -- the group ----------------------------------------------------------------------------


@click.group(name="payplane", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="payplane", prog_name="payplane")
def cli() -> None:
    """payplane: provider-neutral payments.

    List providers, run a provider's sandbox, verify or sign postbacks, operate the
    postback inbox, and watch a whole payment lifecycle offline with `payplane demo`.
    """


_LISTED_CODES = 6
"""A currency list longer than this is shown by count, first and last codes."""


def _codes_text(codes: Iterable[str]) -> str:
    listed = sorted(codes)
    if len(listed) <= _LISTED_CODES:
        return ", ".join(listed) or "none"
    return f"{len(listed)} currencies ({', '.join(listed[:3])}, … {listed[-1]})"


def _provider_row(spec: ProviderSpec, *, version: str | None, sandbox: bool) -> dict[str, object]:
    """One provider as ``providers --json`` shows it."""
    capabilities = sorted(spec.capabilities, key=lambda c: c.value)
    return {
        "id": spec.id,
        "name": spec.display_name,
        "version": version,
        "capabilities": [c.value for c in capabilities],
        "currencies": sorted(spec.currencies),
        "currencies_by_capability": {c.value: sorted(spec.currencies_for(c)) for c in capabilities},
        "minor_units": spec.minor_units,
        "sandbox": sandbox,
    }


def _provider_lines(row: Mapping[str, Any]) -> list[str]:
    """One provider as ``providers`` prints it: a heading, then capabilities by currencies."""
    from payplane._sandbox_table import render_table  # noqa: PLC0415 - standard library only

    version = row["version"] or "version unknown"
    sandbox = "sandbox installed" if row["sandbox"] else "no sandbox"
    lines = [f"{row['id']}  {row['name']} {version}, {sandbox}"]
    groups: dict[tuple[str, ...], list[str]] = {}
    for capability, codes in row["currencies_by_capability"].items():
        groups.setdefault(tuple(codes), []).append(capability)
    rows = [[", ".join(names), _codes_text(codes)] for codes, names in groups.items()]
    lines += ["  " + line for line in render_table(["capabilities", "currencies"], rows)]
    if row["minor_units"]:
        lines.append("  amounts: in minor units, each within its currency's ISO 4217 exponent")
    else:
        lines.append("  amounts: as the provider writes them (no minor-unit check)")
    return lines


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def providers(*, as_json: bool) -> None:
    """List installed providers: capabilities, their currencies, version, sandbox, problems.

    Each capability is shown with the currencies it moves (a provider may pay out in
    fewer currencies than it takes deposits in), and whether amounts must fit each
    currency's minor unit. Exits 0 even when a plugin failed to load; its problem is
    listed.
    """
    from importlib.metadata import entry_points  # noqa: PLC0415

    from payplane._registry import ENTRY_POINT_GROUP  # noqa: PLC0415

    registry = Registry()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        specs = registry.providers()
        problems = registry.problems
    versions = {
        ep.name: ep.dist.version
        for ep in entry_points(group=ENTRY_POINT_GROUP)
        if ep.dist is not None
    }
    sandboxes = {ep.name for ep in entry_points(group="payplane.sandboxes")}
    rows = [
        _provider_row(spec, version=versions.get(spec.id), sandbox=spec.id in sandboxes)
        for spec in specs.values()
    ]
    found = [attrs.asdict(problem) for problem in problems]
    if as_json:
        _json_out({"providers": rows, "problems": found})
        return
    if not rows:
        _out("No providers are installed (pip install 'payplane[paykassma-wavepay]').")
    for index, row in enumerate(rows):
        if index:
            _out()
        for line in _provider_lines(row):
            _out(line)
    if found:
        _out()
        _out("Load problems:")
        _table(
            ["plugin", "distribution", "reason"],
            ([p["name"], p["distribution"] or "-", p["reason"]] for p in found),
        )


# -- sandbox ---------------------------------------------------------------------------------


@cli.group()
def sandbox() -> None:
    """Run a provider's stateful sandbox on loopback (needs payplane[sandbox])."""


def _faults_text(faults: Any) -> str:  # noqa: ANN401 - a FaultConfig
    parts = []
    if faults.latency_ms:
        parts.append(f"latency {faults.latency_ms:g} ms")
    for name, rate in (
        ("5xx", faults.error_rate),
        ("malformed JSON", faults.malformed_rate),
        ("dropped connection", faults.drop_rate),
    ):
        if rate:
            parts.append(f"{name} {rate:.0%}")
    if not parts:
        return "none"
    return ", ".join(parts) + (f" (seed {faults.seed})" if faults.seed is not None else "")


@sandbox.command("serve")
@click.argument("provider")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_SANDBOX_PORT,
    show_default=True,
    help="Port to listen on (0: a free one).",
)
@click.option(
    "--host",
    type=click.Choice(["127.0.0.1", "localhost", "::1"]),
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to listen on.",
)
@click.option(
    "--postback-url",
    metavar="URL",
    help="Where to deliver postbacks (loopback only). Default: log them, send nothing.",
)
@click.option(
    "--no-check", is_flag=True, help="Do not check that the postback URL accepts connections."
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="NAME=VALUE",
    help="A key (secret setting) of the provider; default from PAYPLANE_<PROVIDER>_<NAME>.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="NAME=VALUE",
    help="A scenario option of the provider's sandbox (balance=...); see the how-to.",
)
@click.option(
    "--latency-ms", type=click.FloatRange(min=0), default=0, help="Delay added to every answer."
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Probability of a 503 (request not processed).",
)
@click.option(
    "--malformed-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Probability of a cut-short JSON answer (request processed).",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Probability of a dropped connection (request processed, answer lost).",
)
@click.option("--seed", type=int, help="Seed of the fault draws, for reproducible runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the start-up information as JSON.")
def serve(
    provider: str,
    *,
    port: int,
    host: str,
    postback_url: str | None,
    no_check: bool,
    keys: Sequence[str],
    options: Sequence[str],
    latency_ms: float,
    error_rate: float,
    malformed_rate: float,
    drop_rate: float,
    seed: int | None,
    as_json: bool,
) -> None:
    """Serve PROVIDER's sandbox until Ctrl+C (or SIGTERM).

    Keys are read from PAYPLANE_<PROVIDER>_<NAME> (PAYPLANE_PAYKASSMA_WAVEPAY_PLUGINAPI_SECRET,
    ...) or --key; they are never shown. The delivery log is at /_sandbox/deliveries.
    """
    from payplane._sandbox import (  # noqa: PLC0415 - Starlette and uvicorn on use
        FaultConfig,
        SandboxConfig,
        check_reachable,
        load_sandbox,
        start_sandbox,
    )

    spec = default_registry().spec(provider)
    load_sandbox(provider)
    key_values = _settings(provider, keys, "--key", only=spec.secret_fields())
    config = SandboxConfig(
        provider=provider,
        host=host,
        port=port,
        postback_url=postback_url,
        keys={name: str(value) for name, value in key_values.items()},
        options=parse_pairs(options, "--option"),
        faults=FaultConfig(
            latency_ms=latency_ms,
            error_rate=error_rate,
            malformed_rate=malformed_rate,
            drop_rate=drop_rate,
            seed=seed,
        ),
    )
    if postback_url and not no_check:
        check_reachable(postback_url)
    running = start_sandbox(config)
    try:
        settings = running.plugin.client_settings(running.url)
        info = {
            "provider": provider,
            "url": running.url,
            "settings": settings,
            "postback_url": postback_url,
            "deliveries_url": f"{running.url}/_sandbox/deliveries",
            "faults": attrs.asdict(config.faults),
        }
        if as_json:
            _out(json.dumps(info))
        else:
            _out(f"payplane sandbox: {provider} on {running.url}")
            # One setting a line: the lines stay short whatever the provider's settings.
            for index, (name, value) in enumerate(settings.items()):
                _out(f"  {'client settings' if index == 0 else '':15}  {name}={value}")
            _out("                   + your keys (not shown)")
            if postback_url:
                _out(f"  postbacks to     {postback_url}")
            else:
                _out("  postbacks        not sent (no --postback-url); the delivery log lists each")
            _out(f"  delivery log     {info['deliveries_url']}")
            _out(f"  faults           {_faults_text(config.faults)}")
            _out("Press Ctrl+C to stop.")
        sys.stdout.flush()
        _wait_for_stop()
    finally:
        running.close()
    if not as_json:
        _out(_stopped_text(running.deliverer.counts(), sent_to=postback_url))


def _stopped_text(counts: DeliveryCounts, *, sent_to: str | None) -> str:
    """The last line of ``sandbox serve``: what became of the run's postbacks.

    Only requests really made count as attempts; a postback that was not sent (no
    postback URL, or stopped before its turn) is said to be not sent.
    """
    if sent_to is None:
        return f"Stopped. {counts.postbacks} postback(s) not sent (no --postback-url)."
    text = (
        f"Stopped. {counts.delivered} of {counts.postbacks} postback(s) delivered, "
        f"{counts.attempts} attempt(s)"
    )
    if counts.not_accepted:
        text += f"; {counts.not_accepted} not accepted"
    if counts.not_sent:
        text += f"; {counts.not_sent} not sent (stopped before their turn)"
    return text + "."


def _wait_for_stop() -> None:
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    previous_int = signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


# -- postbacks -------------------------------------------------------------------------------


@cli.group()
def postback() -> None:
    """Verify a postback file, or sign one to test a receiver."""


def _read_json_file(path: Path) -> tuple[bytes, Any]:
    body = path.read_bytes()
    try:
        return body, json.loads(body)
    except ValueError as exc:
        msg = f"{path} is not JSON ({exc})"
        raise CliConfigError(msg) from exc


def _event_rows(event: PostbackEvent | OtherEvent) -> list[tuple[str, object]]:
    if isinstance(event, OtherEvent):
        return [
            ("provider", event.provider),
            ("kind", event.kind.value),
            ("event key", event.event_key),
            ("event type", event.event_type or "-"),
            ("occurred at", event.occurred_at.isoformat() if event.occurred_at else "-"),
        ]
    return [
        ("provider", event.provider),
        ("kind", event.kind.value),
        ("event key", event.event_key),
        ("status", f"{event.status.status.name} (raw {event.status.raw!r})"),
        ("amount", event.amount),
        ("customer", event.customer_id or "-"),
        ("reference", event.reference or "-"),
        ("occurred at", event.occurred_at.isoformat() if event.occurred_at else "-"),
        ("transactions", len(event.transactions)),
    ]


HEADERS_FILE_LIMIT = 64 * 1024
"""The largest ``--headers`` file read, in bytes (servers refuse far smaller headers)."""

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP field name: a token (RFC 9110, section 5.1)."""

_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""What no HTTP field value holds (RFC 9110, section 5.5): controls but tab."""


class _Pairs(list[tuple[str, Any]]):
    """A JSON object's members in order, repeats kept (``object_pairs_hook``)."""


def _header_problem(name: str, value: str) -> str | None:
    if not _HEADER_NAME.fullmatch(name):
        return "a name that is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
    if _HEADER_CONTROL.search(value):
        return f"header {name!r} holds a control character (CR, LF, NUL...) in its value"
    return None


def _headers_file(file: Path) -> dict[str, str]:
    with file.open("rb") as stream:
        raw = stream.read(HEADERS_FILE_LIMIT + 1)
    if len(raw) > HEADERS_FILE_LIMIT:
        msg = f"--headers {file}: over the limit of {HEADERS_FILE_LIMIT} bytes"
        raise CliConfigError(msg)
    try:
        data = json.loads(raw, object_pairs_hook=_Pairs)
    except ValueError as exc:
        msg = f"{file} is not JSON ({exc})"
        raise CliConfigError(msg) from exc
    if not isinstance(data, _Pairs) or not all(isinstance(value, str) for _, value in data):
        msg = f"--headers {file}: expected a JSON object of header names to string values"
        raise CliConfigError(msg)
    headers: dict[str, str] = {}
    for name, value in data:
        problem = _header_problem(name, value)
        if problem is not None:
            msg = f"--headers {file}: {problem}"
            raise CliConfigError(msg)
        if name.lower() in headers:
            # Which one the PSP sent would be a guess: header names ignore case.
            msg = f"--headers {file}: header {name!r} is given twice (names ignore case)"
            raise CliConfigError(msg)
        headers[name.lower()] = value
    return headers


def _postback_headers(lines: Sequence[str], file: Path | None) -> dict[str, str]:
    """Headers from ``--headers FILE`` (a JSON object of strings), then each ``--header``.

    Names are lower-cased, as the inbox passes them; a ``--header`` replaces the file's
    header of that name. No error shows a header's value (it may be a credential).

    Raises:
        CliConfigError: a ``--header`` without ``NAME: VALUE``; FILE not a JSON object of
            strings, over :data:`HEADERS_FILE_LIMIT` bytes, or naming a header twice
            (in any case); a name that is not an HTTP token, or a value holding a
            control character (CR, LF, NUL...), in either.
    """
    headers = {} if file is None else _headers_file(file)
    for number, line in enumerate(lines, start=1):
        name, sep, value = line.partition(":")
        where = f"--header expects 'NAME: VALUE' (--header number {number}"
        if not sep:
            msg = f"{where} has no ':')"
            raise CliConfigError(msg)
        problem = _header_problem(name, value.strip())
        if problem is not None:
            msg = (
                f"{where} has {problem})"
                if problem.startswith("a name")
                else f"{where}: {problem})"
            )
            raise CliConfigError(msg)
        headers[name.lower()] = value.strip()
    return headers


@postback.command("verify")
@click.argument("provider")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--setting",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A provider setting, as the field's type; default from PAYPLANE_<PROVIDER>_<NAME>.",
)
@click.option(
    "--header",
    "header_lines",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="A header the postback came with (a signature header, an event id); repeatable.",
)
@click.option(
    "--headers",
    "headers_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON object of the headers the postback came with (what 'postback sign' writes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(
    provider: str,
    file: Path,
    *,
    settings: Sequence[str],
    header_lines: Sequence[str],
    headers_file: Path | None,
    as_json: bool,
) -> None:
    """Verify the postback body in FILE with PROVIDER's verifier, exactly as received.

    Settings (keys included) come from PAYPLANE_<PROVIDER>_<NAME> or --setting and are
    never shown. Providers that sign in a header (Razorpay) need it: --header 'NAME: VALUE'
    or --headers FILE. Exits 0 when the postback is authentic, 1 when it is not.
    """
    import payplane  # noqa: PLC0415
    from payplane._inbox._codec import event_to_dict  # noqa: PLC0415

    values = _settings(provider, settings, "--setting")
    body, _ = _read_json_file(file)
    headers = _postback_headers(header_lines, headers_file)
    with payplane.client(provider, values) as client:
        try:
            event = client.verify_postback(body, headers)
        except PayplaneError as exc:
            if not as_json or isinstance(exc, ConfigurationError):
                raise
            _json_out({"valid": False, "error": str(exc), "error_type": type(exc).__name__})
            raise click.exceptions.Exit(1) from exc
    if as_json:
        _json_out({"valid": True, "event": event_to_dict(event)})
        return
    _out(f"valid: {file} is an authentic {provider} postback")
    _table(["field", "value"], _event_rows(event), indent="  ")


@postback.command("sign")
@click.argument("provider")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="Where to write the signed body (it holds an access key: never printed).",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="NAME=VALUE",
    help="A key of the provider; default from PAYPLANE_<PROVIDER>_<NAME>.",
)
@click.option(
    "--headers-output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the headers to send as a JSON object (for 'postback verify --headers').",
)
def sign(
    provider: str, file: Path, *, output: Path, keys: Sequence[str], headers_output: Path | None
) -> None:
    """Sign the postback document in FILE as PROVIDER does, into --output.

    FILE holds the postback as JSON; it is signed with the postback keys from
    PAYPLANE_<PROVIDER>_<NAME> or --key (only the keys that signing needs). A provider
    that signs in headers (Razorpay) also gets the headers to send: printed (they hold no
    key) and, with --headers-output, written as JSON. Use it to craft test postbacks for
    your receiver. Needs the provider's sandbox module, not the sandbox extra.
    """
    from payplane._sandbox import load_sandbox  # noqa: PLC0415

    _, document = _read_json_file(file)
    if not isinstance(document, dict):
        msg = f"{file} holds JSON but not an object"
        raise CliConfigError(msg)
    sandbox = load_sandbox(provider)
    # A provider that signs in headers offers signed_postback (body and headers).
    with_headers = callable(getattr(sandbox.module, "signed_postback", None))
    signer = sandbox.function("signed_postback" if with_headers else "sign_postback")
    spec = default_registry().spec(provider)
    # Every key is read, none demanded: the signer names the ones it needs.
    values = _settings(provider, keys, "--key", only=spec.secret_fields(), require=False)
    try:
        signed = signer(document, {name: str(value) for name, value in values.items()})
    except ConfigurationError as exc:
        if exc.field not in spec.secret_fields():
            raise
        variable = env_name(provider, exc.field)
        msg = f"{exc.message}: set {variable} or pass --key {exc.field}=VALUE"
        raise CliConfigError(msg) from exc
    except ValueError as exc:
        msg = f"{file} is not a {provider} postback: {exc}"
        raise CliConfigError(msg) from exc
    body, sent = signed if with_headers else (signed, {})
    headers = {str(name).lower(): str(value) for name, value in sent.items()}
    output.write_bytes(body)
    _out(f"signed postback written to {output} ({len(body)} bytes)")
    if headers:
        _out("send it with the headers:")
        for name, value in headers.items():
            _out(f"  {name}: {value}")
    if headers_output is not None:
        headers_output.write_text(json.dumps(headers, indent=2) + "\n", encoding="utf-8")
        _out(f"headers written to {headers_output}")


# -- demo ------------------------------------------------------------------------------------


@cli.command()
@click.argument("provider", required=False)
@click.pass_context
def demo(ctx: click.Context, provider: str | None) -> None:
    """Watch one platform take payments through its PSPs, offline.

    Starts, on loopback, one postback receiver (one inbox on a temporary SQLite file) and
    the sandbox of every installed provider that offers a demo (Paykassma Wavepay: MMK;
    Razorpay: INR), each with keys made up for the run; then shows each step as a table.
    With PROVIDER, runs that provider's part only. Exits 0 only if every step behaved as
    documented.
    """
    from payplane._sandbox_demo import run_demo  # noqa: PLC0415

    code = run_demo(provider, _out)
    ctx.exit(code)


# -- inbox -----------------------------------------------------------------------------------


def _existing(open_store: Callable[[], Store]) -> Store:
    """Open a store on an inbox that exists: ``create=False`` never writes a table.

    Raises:
        CliConfigError: no payplane inbox there (another application's database, an empty
            or missing file, a file that is not SQLite), or its database cannot be used.
    """
    try:
        return open_store()
    except ConfigurationError as exc:
        raise CliConfigError(exc.message) from exc


@attrs.define
class _InboxTarget:
    db: Path | None
    postgres: str | None
    postgres_from_env: bool = False
    """--postgres came from PAYPLANE_INBOX_POSTGRES: an explicit --db wins over it."""

    def store(self) -> Store:
        """Open the inbox named by --db or --postgres; it must exist: nothing is created.

        Raises:
            CliConfigError: neither or both named, or no payplane inbox there.
        """
        if self.db is not None and self.postgres and not self.postgres_from_env:
            msg = "pass --db or --postgres, not both"
            raise CliConfigError(msg)
        if self.db is not None:
            from payplane._inbox import SQLiteStore  # noqa: PLC0415

            return _existing(lambda: SQLiteStore(self.db, create=False))  # type: ignore[arg-type]
        if self.postgres:
            import psycopg  # noqa: PLC0415 - payplane[postgres]
            from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

            from payplane._inbox import PostgresStore  # noqa: PLC0415

            try:
                password = conninfo_to_dict(self.postgres).get("password")
            except psycopg.ProgrammingError as exc:  # its text may quote the string: not shown
                msg = f"--postgres (or {INBOX_POSTGRES_ENV}) is not a PostgreSQL connection string"
                raise CliConfigError(msg) from exc
            _SECRETS.update({self.postgres, *([str(password)] if password else [])})
            conninfo = self.postgres
            return _existing(lambda: PostgresStore(conninfo, create=False))
        msg = f"name the inbox: --db PATH (SQLite) or --postgres CONNINFO (or {INBOX_POSTGRES_ENV})"
        raise CliConfigError(msg)


def _refuse(_event: PostbackEvent, _transaction: InboxTransaction) -> None:
    msg = "this command runs no handler"
    raise RuntimeError(msg)


def _load_handler(target: str) -> Callable[[PostbackEvent, InboxTransaction], object]:
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        msg = f"--handler expects module:function, not {target!r}"
        raise CliConfigError(msg)
    # As uvicorn does: the operator's working directory is importable.
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot load handler {target}: {exc}"
        raise CliConfigError(msg) from exc
    if not callable(obj):
        msg = f"handler {target} is not callable"
        raise CliConfigError(msg)
    handler: Callable[[PostbackEvent, InboxTransaction], object] = obj
    return handler


def _open_inbox(
    ctx: click.Context,
    handler: Callable[[PostbackEvent, InboxTransaction], object] = _refuse,
    provider: str | None = None,
    settings: Mapping[str, object] | None = None,
    *,
    account: str = "",
    **kwargs: Any,  # noqa: ANN401 - Inbox's keywords
) -> Inbox:
    from payplane._inbox import Inbox  # noqa: PLC0415

    target: _InboxTarget = ctx.obj
    store = target.store()
    ctx.call_on_close(store.close)
    box = Inbox(store, handler, **kwargs)
    if provider is not None:
        box.add_provider(provider, settings or {}, account=account)
    return box


def _record_dict(record: InboxRecord, *, body: bool = False) -> dict[str, object]:
    data: dict[str, object] = {
        "id": record.id,
        "provider": record.provider,
        "account": record.account,
        "event_key": record.event_key,
        "kind": record.kind,
        "state": record.state.value,
        "attempts": record.attempts,
        "replays": record.replays,
        "received_at": record.received_at.isoformat(),
        "applied_at": record.applied_at.isoformat() if record.applied_at else None,
        "next_attempt_at": record.next_attempt_at.isoformat() if record.next_attempt_at else None,
        "dead_at": record.dead_at.isoformat() if record.dead_at else None,
        "last_error": record.last_error,
        "headers": dict(record.headers),
        "event": record.event_data,
    }
    if body:
        data["body"] = record.body.decode("utf-8", "replace")
    return data


def _rejected_dict(rejected: RejectedPostback) -> dict[str, object]:
    return {
        "id": rejected.id,
        "provider": rejected.provider,
        "account": rejected.account,
        "received_at": rejected.received_at.isoformat(),
        "error": rejected.error,
        "headers": dict(rejected.headers),
    }


def _short(text: str | None, width: int = 60) -> str:
    if not text:
        return "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat(timespec="seconds")


@cli.group()
@click.option(
    "--db",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,  # to refuse two different files, not take the last one
    help="The inbox's SQLite file.",
)
@click.option(
    "--postgres",
    metavar="CONNINFO",
    envvar=INBOX_POSTGRES_ENV,
    help=f"The inbox's PostgreSQL connection string (or {INBOX_POSTGRES_ENV}); never shown.",
)
@click.pass_context
def inbox(ctx: click.Context, db: tuple[Path, ...], postgres: str | None) -> None:
    """Look at and operate an existing postback inbox (SQLite file or PostgreSQL).

    No command here creates an inbox or writes a table: a database without one is
    refused (exit 2) and left as it was.
    """
    source = ctx.get_parameter_source("postgres")
    ctx.obj = _InboxTarget(
        _one("db", db), postgres, source is click.core.ParameterSource.ENVIRONMENT
    )


def _one(name: str, values: Sequence[Any]) -> Any:  # noqa: ANN401 - a Path or a str
    """The one value of a repeatable option, or None; different values are refused."""
    if len(set(values)) > 1:
        msg = f"--{name} given twice, with different values"
        raise CliConfigError(msg)
    return values[0] if values else None


def _set_target(ctx: click.Context, param: click.Parameter, values: Sequence[object]) -> None:
    """Take ``--db``/``--postgres`` given after the subcommand, as before it."""
    value = _one(str(param.name), values)
    if value is None:
        return
    target = ctx.find_object(_InboxTarget)
    assert target is not None  # noqa: S101 - the inbox group always sets it
    name = str(param.name)
    given = getattr(target, name)
    explicit = not (name == "postgres" and target.postgres_from_env)
    if given is not None and explicit and given != value:
        msg = f"--{name} given twice, with different values"
        raise CliConfigError(msg)
    setattr(target, name, value)
    if name == "postgres":
        target.postgres_from_env = False


def _inbox_target(command: Callable[..., Any]) -> Callable[..., Any]:
    """Accept the inbox group's --db and --postgres after the subcommand too."""
    command = click.option(
        "--postgres",
        metavar="CONNINFO",
        multiple=True,
        expose_value=False,
        callback=_set_target,
        help="As 'payplane inbox --postgres': the inbox's PostgreSQL connection string.",
    )(command)
    return click.option(
        "--db",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        multiple=True,
        expose_value=False,
        callback=_set_target,
        help="As 'payplane inbox --db': the inbox's SQLite file.",
    )(command)


_ACCOUNT = click.option(
    "--account",
    default="",
    show_default="the provider's one account",
    help="The merchant account (as in POST /{provider}/{account}).",
)
_STATES = ["received", "applied", "failed", "ignored", "dead"]


@inbox.command("list")
@_inbox_target
@click.option("--state", type=click.Choice(_STATES), help="Only records in this state.")
@click.option("--provider", help="Only records of this provider.")
@click.option("--account", help="Only records of this merchant account ('' for the default).")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="At most this many (one page).",
)
@click.option(
    "--after",
    type=int,
    metavar="ID",
    help="The next page: records older than the one with this id (the last id shown).",
)
@click.option("--rejected", is_flag=True, help="List refused deliveries instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def inbox_list(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    state: str | None,
    provider: str | None,
    account: str | None,
    limit: int,
    after: int | None,
    *,
    rejected: bool,
    as_json: bool,
) -> None:
    """List recorded postbacks (or refused deliveries), newest first, one page at a time.

    A full page ends with the option that shows the next one (--after ID, on stderr);
    with --json, pass the last record's "id" as --after.
    """
    from payplane._inbox import RecordState  # noqa: PLC0415

    box = _open_inbox(ctx)
    if rejected:
        refused = box.rejected(provider=provider, account=account, after=after, limit=limit)
        if as_json:
            _json_out([_rejected_dict(r) for r in refused])
            return
        _table(
            ["id", "provider", "account", "received at", "error"],
            (
                [r.id, r.provider, r.account or "-", _when(r.received_at), _short(r.error, 80)]
                for r in refused
            ),
        )
        _more(refused, limit)
        return
    records = box.records(
        state=RecordState(state) if state else None,
        provider=provider,
        account=account,
        after=after,
        limit=limit,
    )
    if as_json:
        _json_out([_record_dict(r) for r in records])
        return
    _table(
        [
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
        ],
        (
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
        ),
    )
    _more(records, limit)


def _more(page: Sequence[InboxRecord] | Sequence[RejectedPostback], limit: int) -> None:
    if len(page) == limit:
        _out(f"(more: add --after {page[-1].id} for the next page)", err=True)


def _get_record(box: Inbox, provider: str, event_key: str, account: str) -> InboxRecord:
    record = box.get(provider, event_key, account=account)
    if record is None:
        where = f"{provider}/{account}" if account else provider
        msg = f"no recorded postback {where}/{event_key}"
        raise CliError(msg)
    return record


@inbox.command("show")
@_inbox_target
@click.argument("provider")
@click.argument("event_key")
@_ACCOUNT
@click.option("--body", is_flag=True, help="Include the raw body (secrets already replaced).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def inbox_show(
    ctx: click.Context, provider: str, event_key: str, account: str, *, body: bool, as_json: bool
) -> None:
    """Show one recorded postback: its state, attempts, last error, headers and event."""
    record = _get_record(_open_inbox(ctx), provider, event_key, account)
    data = _record_dict(record, body=body)
    if as_json:
        _json_out(data)
        return
    _table(
        ["field", "value"],
        (
            [name, "-" if value in (None, {}) else value]
            for name, value in data.items()
            if name not in {"event", "body", "headers"}
        ),
    )
    if record.headers:
        _out()
        _out("headers:")
        for name, value in sorted(record.headers.items()):
            _out(f"  {name}: {value}")
    _out()
    _out("event:")
    _out(json.dumps(record.event_data, indent=2, ensure_ascii=False))
    if body:
        _out()
        _out("body:")
        _out(str(data["body"]))


_HANDLER = click.option(
    "--handler",
    "handler_target",
    required=True,
    metavar="MODULE:FUNCTION",
    help="Your handler, handler(event, transaction), importable from here.",
)
_SETTING = click.option(
    "--setting",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A provider setting, as the field's type; default from PAYPLANE_<PROVIDER>_<NAME>.",
)


@inbox.command("retry")
@_inbox_target
@click.argument("provider")
@click.argument("event_key")
@_ACCOUNT
@_HANDLER
@_SETTING
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def inbox_retry(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    provider: str,
    event_key: str,
    account: str,
    handler_target: str,
    settings: Sequence[str],
    *,
    as_json: bool,
) -> None:
    """Apply a recorded postback that is not applied yet (after a handler failure).

    An applied (or ignored) postback is left alone. Exits 0 when it ends applied, 1
    otherwise.
    """
    from payplane._inbox import RecordState  # noqa: PLC0415

    handler = _load_handler(handler_target)
    values = _settings(provider, settings, "--setting")
    box = _open_inbox(ctx, handler, provider, values, account=account)
    _get_record(box, provider, event_key, account)
    state = box.retry(provider, event_key, account=account)
    record = box.get(provider, event_key, account=account)
    if as_json:
        _json_out(_record_dict(record) if record else {"state": state.value})
    else:
        failed = state is not RecordState.APPLIED and record and record.last_error
        error = f" (last error: {record.last_error})" if failed and record else ""
        _out(f"{provider}/{event_key}: {state.value}{error}")
    if state is not RecordState.APPLIED:
        ctx.exit(1)


@inbox.command("replay")
@_inbox_target
@click.argument("provider")
@click.argument("event_key")
@_ACCOUNT
@_HANDLER
@_SETTING
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def inbox_replay(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    provider: str,
    event_key: str,
    account: str,
    handler_target: str,
    settings: Sequence[str],
    *,
    yes: bool,
    as_json: bool,
) -> None:
    """Run the handler again for an APPLIED postback: the one way to apply it twice.

    Asks for confirmation unless --yes. Exits 0 when the handler completed, 1 otherwise.
    """
    handler = _load_handler(handler_target)
    values = _settings(provider, settings, "--setting")
    box = _open_inbox(ctx, handler, provider, values, account=account)
    _get_record(box, provider, event_key, account)
    if not yes:
        click.confirm(f"Run the handler again for {provider}/{event_key}?", abort=True)
    try:
        completed = box.replay(provider, event_key, account=account)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    record = box.get(provider, event_key, account=account)
    if as_json:
        _json_out({"completed": completed, "record": _record_dict(record) if record else None})
    else:
        replays = record.replays if record else "?"
        result = "replayed" if completed else "the handler failed"
        _out(f"{provider}/{event_key}: {result} (replays: {replays})")
    if not completed:
        ctx.exit(1)


@inbox.command("requeue")
@_inbox_target
@click.argument("provider", required=False)
@click.argument("event_key", required=False)
@click.option(
    "--account", help="The merchant account ('' for the default; with --all-dead: only it)."
)
@click.option(
    "--all-dead", is_flag=True, help="Re-queue every dead event (of --provider / --account)."
)
@click.option("--provider", "only_provider", help="With --all-dead: only this provider's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def inbox_requeue(
    ctx: click.Context,
    provider: str | None,
    event_key: str | None,
    account: str | None,
    only_provider: str | None,
    *,
    all_dead: bool,
    as_json: bool,
) -> None:
    """Make a dead (or failed) event due again now, with a fresh count of attempts.

    PROVIDER EVENT_KEY re-queues one event; --all-dead every dead one. Workers (or the
    task-queue hand-off's sweep) apply them next. Fix the cause first: an event that
    keeps failing is dead again after as many attempts.
    """
    from payplane._inbox import RecordState  # noqa: PLC0415

    if all_dead == bool(provider or event_key):
        msg = "name one event (PROVIDER EVENT_KEY) or pass --all-dead, not both"
        raise CliConfigError(msg)
    box = _open_inbox(ctx)
    if all_dead:
        count = box.requeue_dead(provider=only_provider, account=account)
        if as_json:
            _json_out({"requeued": count})
        else:
            _out(f"{count} dead event(s) re-queued")
        return
    if event_key is None or provider is None:
        msg = "requeue needs PROVIDER and EVENT_KEY"
        raise CliConfigError(msg)
    state = box.requeue(provider, event_key, account=account or "")
    if as_json:
        _json_out({"state": state.value})
    else:
        _out(f"{provider}/{event_key}: {state.value}")
    if state is not RecordState.RECEIVED:
        ctx.exit(1)


@inbox.command("work")
@_inbox_target
@_HANDLER
@click.option(
    "--lease",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    help="Seconds a worker may hold an event (PostgreSQL ends the session past that).",
)
@click.option(
    "--idle-wait",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Seconds to sleep when nothing is due.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Failed attempts that make an event dead.",
)
@click.option("--max-events", type=click.IntRange(min=1), help="Stop after this many attempts.")
@click.option("--until-idle", is_flag=True, help="Stop as soon as nothing is due.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def inbox_work(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    handler_target: str,
    lease: float,
    idle_wait: float,
    max_attempts: int,
    max_events: int | None,
    *,
    until_idle: bool,
    as_json: bool,
) -> None:
    """Apply recorded events in deferred mode: a worker, until Ctrl+C (or SIGTERM).

    Claims due events one at a time (several workers share a PostgreSQL inbox; SQLite
    runs one at a time per file), runs the handler in the transaction that marks each
    applied, retries failures with exponential backoff and jitter, and makes an event
    dead after --max-attempts. A signal lets the event in hand finish first. Exits 0.
    """
    handler = _load_handler(handler_target)
    box = _open_inbox(ctx, handler, mode="deferred", max_attempts=max_attempts)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    previous_int = signal.signal(signal.SIGINT, on_signal)
    try:
        summary = box.work(
            stop=stop,
            lease=lease,
            idle_wait=idle_wait,
            max_events=max_events,
            until_idle=until_idle,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    data = {"applied": summary.applied, "failed": summary.failed, "dead": summary.dead}
    if as_json:
        _json_out(data)
    else:
        _out(", ".join(f"{count} {name}" for name, count in data.items()))


_AGE = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def _age(text: str, option: str) -> timedelta:
    """Read an age such as ``30d``, ``12h``, ``1w2d`` (units s, m, h, d, w)."""
    parts = _AGE.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        msg = (
            f"{option} expects an age such as 30d, 12h or 1w2d (units s, m, h, d, w), not {text!r}"
        )
        raise CliConfigError(msg)
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        msg = f"{option} must be more than 0, not {text!r}"
        raise CliConfigError(msg)
    return timedelta(seconds=seconds)


@inbox.command("prune")
@_inbox_target
@click.option(
    "--applied-older-than",
    "applied",
    required=True,
    metavar="AGE",
    help="Delete applied (and ignored) records applied longer ago than this (30d, 12h).",
)
@click.option(
    "--rejected-older-than",
    "rejected",
    metavar="AGE",
    help="Also delete refused deliveries received longer ago than this.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Rows per transaction; deliveries go on between batches.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def inbox_prune(
    ctx: click.Context,
    applied: str,
    rejected: str | None,
    batch: int,
    *,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Delete applied records and refused deliveries older than an age, in batches.

    Received, failed and dead records are never deleted. Keep records longer than any
    provider may re-send an event: a re-delivery of a pruned event is applied again.
    """
    box = _open_inbox(ctx)
    result = box.prune(
        applied_older_than=_age(applied, "--applied-older-than"),
        rejected_older_than=None if rejected is None else _age(rejected, "--rejected-older-than"),
        batch=batch,
        dry_run=dry_run,
    )
    data = {"records": result.records, "rejected": result.rejected, "dry_run": result.dry_run}
    if as_json:
        _json_out(data)
    else:
        verb = "would delete" if dry_run else "deleted"
        _out(f"{verb} {result.records} record(s) and {result.rejected} refused delivery(ies)")


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line (the ``payplane`` script)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="payplane")
    raise SystemExit(0)  # pragma: no cover - click exits itself
