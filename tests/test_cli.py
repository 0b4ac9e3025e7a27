"""The `payplane` command line: help, exit codes, one-line errors, no secret in output."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

import payplane
from payplane._cli import cli

PROVIDER = "paykassma_wavepay"
PREFIX = "PAYPLANE_PAYKASSMA_WAVEPAY_"
KEYS = {
    "pluginapi_secret": "cli-plugin-secret-1",
    "withdrawal_private_key": "cli-withdrawal-key-1",
    "postback_access_key": "cli-access-key-1",
    "postback_private_key": "cli-private-key-1",
}
SETTINGS = {
    **KEYS,
    "api_host": "https://api.example.com",
    "plugin_host": "https://plugin.example.com",
}
ENV = {f"{PREFIX}{name.upper()}": value for name, value in SETTINGS.items()}

DEPOSIT = {
    "wallet_type": "wavepay",
    "amount": 6000,
    "currency_code": "MMK",
    "label": "55",
    "direction": "ingoing",
    "created_datetime": "2023-08-01 13:37:42",
    "additional_data": [
        {
            "activated_datetime": "2023-08-01 16:37:40",
            "amount": "6000",
            "currency_code": "MMK",
            "transaction_id": "5750E9FBB3",
            "plugin_custom_order_id": None,
        }
    ],
}


def run(
    args: list[str],
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,  # noqa: A002
) -> Result:
    return CliRunner().invoke(cli, args, env=env, input=input, catch_exceptions=False)


POSTBACK_ENV: dict[str, str | None] = {
    **dict.fromkeys(ENV),
    f"{PREFIX}POSTBACK_ACCESS_KEY": KEYS["postback_access_key"],
    f"{PREFIX}POSTBACK_PRIVATE_KEY": KEYS["postback_private_key"],
}
"""The two postback keys and nothing else of the provider's settings."""


def no_secrets(*texts: str) -> bool:
    return not any(secret in text for text in texts for secret in KEYS.values())


def assert_one_line_error(result: Result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("payplane: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    """A deposit postback signed with the test keys, through the CLI."""
    source = tmp_path / "deposit.json"
    source.write_text(json.dumps(DEPOSIT))
    out = tmp_path / "signed.json"
    result = run(["postback", "sign", PROVIDER, str(source), "-o", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    return out


# -- help and listing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["providers"],
        ["sandbox"],
        ["sandbox", "serve"],
        ["postback"],
        ["postback", "verify"],
        ["postback", "sign"],
        ["demo"],
        ["inbox"],
        ["inbox", "list"],
        ["inbox", "show"],
        ["inbox", "retry"],
        ["inbox", "replay"],
    ],
)
def test_help_everywhere(command: list[str]) -> None:
    """Every command answers --help with exit 0."""
    result = run([*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: payplane" in result.output


def test_providers_json() -> None:
    """`providers --json` lists the provider, its capabilities, version and sandbox."""
    data = json.loads(run(["providers", "--json"]).output)
    (row,) = [r for r in data["providers"] if r["id"] == PROVIDER]
    assert row["capabilities"] == ["activation", "deposits", "postbacks", "withdrawals"]
    assert row["sandbox"] is True
    assert row["version"]
    assert data["problems"] == []


def test_providers_json_lists_both_providers() -> None:
    """`providers --json` lists Wavepay and Razorpay with their capabilities."""
    data = json.loads(run(["providers", "--json"]).output)
    rows = {r["id"]: r for r in data["providers"]}
    assert set(rows) >= {PROVIDER, "razorpay"}
    assert rows["razorpay"]["capabilities"] == [
        "deposits",
        "lookups",
        "postbacks",
        "refunds",
        "withdrawals",
    ]
    assert rows["razorpay"]["sandbox"] is True


def test_providers_json_shows_currencies_by_capability_and_minor_units() -> None:
    """Each capability's own currencies (Razorpay pays out in INR only) and minor_units."""
    data = json.loads(run(["providers", "--json"]).output)
    rows = {r["id"]: r for r in data["providers"]}
    razorpay = rows["razorpay"]["currencies_by_capability"]
    assert list(razorpay) == rows["razorpay"]["capabilities"]
    assert razorpay["withdrawals"] == ["INR"]
    assert razorpay["deposits"] == rows["razorpay"]["currencies"]
    assert len(razorpay["deposits"]) == 127  # Razorpay's table, less the retired HRK
    assert rows[PROVIDER]["currencies_by_capability"] == {
        "activation": ["MMK"],
        "deposits": ["MMK"],
        "postbacks": ["MMK"],
        "withdrawals": ["MMK"],
    }
    assert (rows["razorpay"]["minor_units"], rows[PROVIDER]["minor_units"]) == (True, False)


def test_providers_text() -> None:
    """`providers` prints each provider's capabilities grouped by currencies, under 100 columns."""
    result = run(["providers"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{PROVIDER}  Paykassma Wavepay ")
    assert "  activation, deposits, postbacks, withdrawals  MMK" in lines
    assert "  deposits, lookups, postbacks, refunds  127 currencies (AED, ALL, AMD, … ZMW)" in lines
    assert "  withdrawals                            INR" in lines
    assert "  amounts: in minor units, each within its currency's ISO 4217 exponent" in lines
    assert max(len(line) for line in lines) < 100


def test_version() -> None:
    """--version prints payplane's version."""
    assert run(["--version"]).output.startswith("payplane, version ")


# -- bad input: one line, non-zero ----------------------------------------------------------


def test_unknown_provider() -> None:
    """An unknown provider is one line naming the installed ones; exit 2."""
    result = run(["sandbox", "serve", "nope"])
    assert_one_line_error(result, 2, "installed providers: paykassma_wavepay")


def test_missing_keys() -> None:
    """Missing keys are named with their environment variables; exit 2."""
    result = run(["sandbox", "serve", PROVIDER], env=dict.fromkeys(ENV, ""))
    assert_one_line_error(result, 2, f"{PREFIX}POSTBACK_PRIVATE_KEY")


def test_port_in_use() -> None:
    """A port in use is one line; exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["sandbox", "serve", PROVIDER, "--port", str(port)], env=ENV)
    assert_one_line_error(result, 2, f"port {port}")


def test_unreachable_postback_url() -> None:
    """A postback URL nobody listens on is one line; exit 2."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    result = run(["sandbox", "serve", PROVIDER, "--postback-url", url], env=ENV)
    assert_one_line_error(result, 2, "unreachable")


def test_file_that_is_not_json(tmp_path: Path) -> None:
    """A postback file that is not JSON is one line; exit 2."""
    path = tmp_path / "body.txt"
    path.write_text("not json")
    result = run(["postback", "verify", PROVIDER, str(path)], env=ENV)
    assert_one_line_error(result, 2, "is not JSON")


def test_bad_pair_option(tmp_path: Path) -> None:
    """A --setting without '=' is a usage error that does not echo what was typed."""
    path = tmp_path / "body.json"
    path.write_text("{}")
    result = run(
        ["postback", "verify", PROVIDER, str(path), "--setting", "typed-a-key-here"], env=ENV
    )
    assert_one_line_error(result, 2, "NAME=VALUE")
    assert "typed-a-key-here" not in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--bogus"], "No such option '--bogus'. (see 'payplane --help')"),
        (["nope"], "No such command 'nope'"),
        (["sandbox", "serve", PROVIDER, "--bogus"], "(see 'payplane sandbox serve --help')"),
        (["sandbox", "serve", PROVIDER, "--port", "x"], "'--port'"),
        (["sandbox", "serve"], "Missing argument 'PROVIDER'"),
        (["inbox", "--db", "/nonexistent/inbox.sqlite", "list"], "does not exist"),
        (["inbox", "list", "--state", "odd"], "'--state'"),
        (["postback", "sign", PROVIDER, "/nonexistent.json"], "does not exist"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], fragment: str) -> None:
    """Usage errors are one line too, pointing at the command's help; exit 2."""
    assert_one_line_error(run(args, env=ENV), 2, fragment)


# -- settings and keys -----------------------------------------------------------------------


def test_integer_setting_from_the_command_line(signed: Path) -> None:
    """--setting max_postback_bytes=N is an int, and it is applied (a smaller limit refuses)."""
    accepted = run(
        ["postback", "verify", PROVIDER, str(signed), "--setting", "max_postback_bytes=100000"],
        env=ENV,
    )
    refused = run(
        ["postback", "verify", PROVIDER, str(signed), "--setting", "max_postback_bytes=10"],
        env=ENV,
    )
    assert accepted.exit_code == 0, accepted.output
    assert_one_line_error(refused, 1, "10")


def test_integer_setting_from_the_environment(signed: Path) -> None:
    """PAYPLANE_<PROVIDER>_MAX_POSTBACK_BYTES is converted like the option."""
    result = run(
        ["postback", "verify", PROVIDER, str(signed)],
        env={**ENV, f"{PREFIX}MAX_POSTBACK_BYTES": "100000"},
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("text", ["1_000", "\u0661\u0660\u0660", "1e5", "ten"])
def test_bad_integer_setting_is_named(signed: Path, text: str) -> None:
    """An integer setting that is not ASCII digits is refused, naming it; exit 2."""
    result = run(
        ["postback", "verify", PROVIDER, str(signed), "--setting", f"max_postback_bytes={text}"],
        env=ENV,
    )
    assert_one_line_error(result, 2, "setting max_postback_bytes (from --setting) must be")


def test_out_of_range_integer_setting_is_named(signed: Path) -> None:
    """A well-formed integer the settings class refuses is named by the class's check."""
    result = run(
        ["postback", "verify", PROVIDER, str(signed), "--setting", "max_postback_bytes=-5"],
        env=ENV,
    )
    assert_one_line_error(result, 2, "-5 is not a positive number of bytes")


def test_unknown_setting_is_refused(signed: Path) -> None:
    """An unknown --setting lists the known settings; exit 2."""
    result = run(["postback", "verify", PROVIDER, str(signed), "--setting", "hots=x"], env=ENV)
    assert_one_line_error(result, 2, "unknown paykassma_wavepay setting 'hots'")
    assert "known settings: api_host, " in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["sandbox", "serve", PROVIDER, "--port", "0"],
        ["postback", "sign", PROVIDER, "IN", "-o", "OUT"],
    ],
)
def test_unknown_key_is_refused(command: list[str], tmp_path: Path) -> None:
    """An unknown --key (or a setting that is not a key) is refused with the keys listed."""
    (tmp_path / "in.json").write_text(json.dumps(DEPOSIT))
    args = [
        str(tmp_path / "in.json") if a == "IN" else str(tmp_path / "out.json") if a == "OUT" else a
        for a in command
    ]
    for name in ("postback_acces_key", "api_host"):
        result = run([*args, "--key", f"{name}=x"], env=ENV)
        assert_one_line_error(result, 2, f"unknown paykassma_wavepay key {name!r}")
        assert (
            "known keys: pluginapi_secret, postback_access_key, postback_private_key, "
            "withdrawal_private_key"
        ) in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_unknown_option_is_refused() -> None:
    """An unknown --option lists the known options; exit 2."""
    result = run(["sandbox", "serve", PROVIDER, "--port", "0", "--option", "balanse=1"], env=ENV)
    assert_one_line_error(result, 2, "unknown sandbox option 'balanse'; known: balance, ")


@pytest.mark.parametrize("value", ["-1", "1_000", "\uff11\uff10", str(10**13)])
def test_bad_option_value_is_refused(value: str) -> None:
    """A scenario option out of range or not in ASCII digits is refused; exit 2."""
    result = run(
        ["sandbox", "serve", PROVIDER, "--port", "0", "--option", f"balance={value}"], env=ENV
    )
    assert_one_line_error(result, 2, "sandbox option balance=")


def test_verify_needs_only_the_postback_keys(signed: Path) -> None:
    """`postback verify` runs with the two postback keys alone: no hosts, no API keys."""
    result = run(["postback", "verify", PROVIDER, str(signed), "--json"], env=POSTBACK_ENV)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["valid"] is True


def test_verify_without_postback_keys_names_them(signed: Path) -> None:
    """Without the postback keys, verify names both with their variables; exit 2."""
    result = run(["postback", "verify", PROVIDER, str(signed)], env=dict.fromkeys(ENV))
    assert_one_line_error(result, 2, f"postback_access_key ({PREFIX}POSTBACK_ACCESS_KEY)")
    assert "api_host" not in result.stderr


def test_sign_needs_only_the_postback_keys(tmp_path: Path) -> None:
    """`postback sign` demands only the keys signing uses."""
    (tmp_path / "in.json").write_text(json.dumps(DEPOSIT))
    out = tmp_path / "out.json"
    result = run(
        ["postback", "sign", PROVIDER, str(tmp_path / "in.json"), "-o", str(out)], env=POSTBACK_ENV
    )
    assert result.exit_code == 0, result.output
    assert KEYS["postback_access_key"] in out.read_text()


def test_sign_without_a_postback_key_names_its_variable(tmp_path: Path) -> None:
    """A missing postback key is named with its variable and --key; exit 2."""
    (tmp_path / "in.json").write_text(json.dumps(DEPOSIT))
    env = {**POSTBACK_ENV, f"{PREFIX}POSTBACK_PRIVATE_KEY": None}
    result = run(
        ["postback", "sign", PROVIDER, str(tmp_path / "in.json"), "-o", str(tmp_path / "o")],
        env=env,
    )
    assert_one_line_error(result, 2, f"set {PREFIX}POSTBACK_PRIVATE_KEY or pass --key")


# -- postbacks ----------------------------------------------------------------------------


def test_sign_then_verify(signed: Path) -> None:
    """A postback signed by the CLI verifies with the provider's verifier; no key shown."""
    result = run(["postback", "verify", PROVIDER, str(signed)], env=ENV)
    assert result.exit_code == 0
    assert "ingoing:5750E9FBB3" in result.output
    assert no_secrets(result.output, result.stderr)


def test_sign_writes_keys_only_to_the_file(signed: Path) -> None:
    """The signed body holds the access key; the CLI output does not."""
    assert KEYS["postback_access_key"] in signed.read_text()
    payplane_settings = payplane.client(PROVIDER, SETTINGS)
    with payplane_settings as client:
        event = client.verify_postback(signed.read_bytes())
    assert isinstance(event, payplane.PostbackEvent)
    assert event.amount == payplane.Money(6000, "MMK")


def test_verify_json(signed: Path) -> None:
    """`verify --json` prints the event as data."""
    result = run(["postback", "verify", PROVIDER, str(signed), "--json"], env=ENV)
    data = json.loads(result.output)
    assert data["valid"] is True
    assert data["event"]["event_key"] == "ingoing:5750E9FBB3"
    assert no_secrets(result.output)


def test_verify_tampered_fails(signed: Path, tmp_path: Path) -> None:
    """A changed signed member fails verification: exit 1, one line."""
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(signed.read_bytes().replace(b'"6000"', b'"9000"'))
    result = run(["postback", "verify", PROVIDER, str(tampered)], env=ENV)
    assert_one_line_error(result, 1, "signature does not match")
    assert no_secrets(result.output, result.stderr)


def test_verify_tampered_json(signed: Path, tmp_path: Path) -> None:
    """With --json a failed verification is data too, still exit 1."""
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(signed.read_bytes().replace(b'"6000"', b'"9000"'))
    result = run(["postback", "verify", PROVIDER, str(tampered), "--json"], env=ENV)
    assert result.exit_code == 1
    assert json.loads(result.output)["valid"] is False


def test_verify_with_wrong_key_never_echoes_it(signed: Path) -> None:
    """Keys given as options are not shown either, even when they are wrong."""
    wrong = "wrong-private-key-xyz"
    result = run(
        ["postback", "verify", PROVIDER, str(signed), "--setting", f"postback_private_key={wrong}"],
        env=ENV,
    )
    assert result.exit_code == 1
    assert wrong not in result.output + result.stderr


# -- inbox --------------------------------------------------------------------------------


@pytest.fixture
def inbox_db(tmp_path: Path, signed: Path) -> Path:
    """A SQLite inbox holding one postback whose handler failed."""
    db = tmp_path / "inbox.sqlite3"
    store = payplane.SQLiteStore(db)

    def broken(event: Any, transaction: Any) -> None:
        raise RuntimeError("database down")

    inbox = payplane.Inbox(store, broken, providers={PROVIDER: SETTINGS})
    assert inbox.receive(PROVIDER, signed.read_bytes()).status_code == 503
    store.close()
    return db


@pytest.fixture
def handler_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable handler module in the working directory."""
    (tmp_path / "cli_handlers.py").write_text(
        textwrap.dedent(
            """
            CALLS = []

            def apply(event, transaction):
                CALLS.append(event.event_key)
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "cli_handlers", raising=False)
    return "cli_handlers:apply"


def test_inbox_list_json(inbox_db: Path) -> None:
    """`inbox list --json` shows the failed record."""
    data = json.loads(run(["inbox", "--db", str(inbox_db), "list", "--json"]).output)
    assert [(r["event_key"], r["state"]) for r in data] == [("ingoing:5750E9FBB3", "failed")]
    assert "database down" in data[0]["last_error"]


def test_inbox_show(inbox_db: Path) -> None:
    """`inbox show` prints the record and its event, without secrets."""
    result = run(["inbox", "--db", str(inbox_db), "show", PROVIDER, "ingoing:5750E9FBB3", "--body"])
    assert result.exit_code == 0
    assert "failed" in result.output
    assert no_secrets(result.output)


def test_inbox_show_unknown_record(inbox_db: Path) -> None:
    """An unknown event key is one line; exit 1."""
    result = run(["inbox", "--db", str(inbox_db), "show", PROVIDER, "nope"])
    assert_one_line_error(result, 1, "no recorded postback")


def test_inbox_needs_a_store() -> None:
    """Without --db or --postgres the inbox commands say what to pass; exit 2."""
    result = run(["inbox", "list"], env={"PAYPLANE_INBOX_POSTGRES": ""})
    assert_one_line_error(result, 2, "--db PATH")


def test_inbox_retry_then_replay(inbox_db: Path, handler_module: str) -> None:
    """`retry` applies the failed event with the operator's handler; `replay` runs it again.

    Both need only the postback keys (they verify nothing, and scrub errors with them).
    """
    db = ["inbox", "--db", str(inbox_db)]
    key = "ingoing:5750E9FBB3"
    retried = run([*db, "retry", PROVIDER, key, "--handler", handler_module], env=POSTBACK_ENV)
    assert retried.exit_code == 0, retried.output
    assert "applied" in retried.output
    replayed = run(
        [*db, "replay", PROVIDER, key, "--handler", handler_module, "--yes", "--json"],
        env=POSTBACK_ENV,
    )
    assert json.loads(replayed.output)["record"]["replays"] == 1
    assert [key, key] == sys.modules["cli_handlers"].CALLS


def test_inbox_replay_asks_first(inbox_db: Path, handler_module: str) -> None:
    """Without --yes, replay asks; answering no aborts with exit 1."""
    db = ["inbox", "--db", str(inbox_db)]
    key = "ingoing:5750E9FBB3"
    run([*db, "retry", PROVIDER, key, "--handler", handler_module], env=ENV)
    result = run([*db, "replay", PROVIDER, key, "--handler", handler_module], env=ENV, input="n\n")
    assert result.exit_code == 1
    assert [key] == sys.modules["cli_handlers"].CALLS


def test_inbox_bad_handler(inbox_db: Path, handler_module: str) -> None:
    """A handler that cannot be imported is one line; exit 2."""
    result = run(
        ["inbox", "--db", str(inbox_db), "retry", PROVIDER, "k", "--handler", "nope_mod:f"],
        env=ENV,
    )
    assert_one_line_error(result, 2, "cannot load handler")


# -- the inbox commands never create an inbox --------------------------------------------------


def _foreign_tables(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total TEXT)")
        connection.execute("INSERT INTO orders (total) VALUES ('6000')")


def _foreign_wal(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.commit()


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"hello, not a database\n" * 100)


FOREIGN_FILES: dict[str, Callable[[Path], None]] = {
    "other tables": _foreign_tables,
    "WAL database": _foreign_wal,
    "empty file": _empty,
    "not SQLite": _not_sqlite,
}

INBOX_COMMANDS = [
    ["list"],
    ["list", "--rejected"],
    ["show", PROVIDER, "ingoing:1"],
    ["retry", PROVIDER, "ingoing:1", "--handler", "HANDLER"],
    ["replay", PROVIDER, "ingoing:1", "--handler", "HANDLER", "--yes"],
]


@pytest.mark.parametrize("kind", sorted(FOREIGN_FILES))
@pytest.mark.parametrize("command", INBOX_COMMANDS, ids=lambda c: c[0] + "-".join(c[1:2]))
def test_inbox_commands_leave_a_foreign_file_alone(
    tmp_path: Path, handler_module: str, kind: str, command: list[str]
) -> None:
    """Every inbox command refuses a file without an inbox and leaves it byte for byte."""
    path = tmp_path / "other.sqlite"
    FOREIGN_FILES[kind](path)
    before = (path.read_bytes(), sorted(p.name for p in tmp_path.iterdir()))
    args = [handler_module if part == "HANDLER" else part for part in command]
    result = run(["inbox", "--db", str(path), *args], env=ENV)
    assert_one_line_error(result, 2, f"no payplane inbox in {path}")
    assert before == (path.read_bytes(), sorted(p.name for p in tmp_path.iterdir()))


def test_inbox_store_is_opened_without_creating(
    inbox_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI asks the store not to create anything (create=False) where it can."""
    import payplane._inbox  # noqa: PLC0415

    creates: list[bool] = []

    class Recording(payplane._inbox.SQLiteStore):
        def __init__(self, path: Path, *, create: bool = True) -> None:
            creates.append(create)
            super().__init__(path)

    monkeypatch.setattr(payplane._inbox, "SQLiteStore", Recording)
    assert run(["inbox", "--db", str(inbox_db), "list"]).exit_code == 0
    assert creates == [False]


def test_inbox_in_use_is_found(tmp_path: Path, signed: Path) -> None:
    """An inbox another process has open (its -wal file present) is read, not refused."""
    store = payplane.SQLiteStore(tmp_path / "live.sqlite3")
    try:
        inbox = payplane.Inbox(store, lambda _event, _tx: None, providers={PROVIDER: SETTINGS})
        assert inbox.receive(PROVIDER, signed.read_bytes()).status_code == 200
        assert (tmp_path / "live.sqlite3-wal").exists()
        result = run(["inbox", "--db", str(tmp_path / "live.sqlite3"), "list", "--json"])
    finally:
        store.close()
    assert result.exit_code == 0, result.output
    assert [r["state"] for r in json.loads(result.output)] == ["applied"]


def test_inbox_commands_leave_a_foreign_postgres_schema_alone(
    postgres_conninfo: str, handler_module: str
) -> None:
    """Against a database without an inbox, every command refuses and creates no table."""
    import psycopg  # noqa: PLC0415

    def tables() -> list[str]:
        with psycopg.connect(postgres_conninfo) as connection:
            rows = connection.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            ).fetchall()
        return sorted(row[0] for row in rows)

    assert tables() == []
    for command in INBOX_COMMANDS:
        args = [handler_module if part == "HANDLER" else part for part in command]
        result = run(["inbox", "--postgres", postgres_conninfo, *args], env=ENV)
        assert_one_line_error(result, 2, "no payplane inbox in this database")
        assert postgres_conninfo not in result.output
    assert tables() == []


def test_inbox_list_on_postgres(postgres_conninfo: str, signed: Path) -> None:
    """An existing PostgreSQL inbox is listed (from PAYPLANE_INBOX_POSTGRES)."""
    store = payplane.PostgresStore(postgres_conninfo)
    inbox = payplane.Inbox(store, lambda _event, _tx: None, providers={PROVIDER: SETTINGS})
    assert inbox.receive(PROVIDER, signed.read_bytes()).status_code == 200
    store.close()
    result = run(["inbox", "list", "--json"], env={"PAYPLANE_INBOX_POSTGRES": postgres_conninfo})
    assert result.exit_code == 0, result.output
    assert [r["state"] for r in json.loads(result.output)] == ["applied"]


# -- sandbox serve, as a process ---------------------------------------------------------------


def test_sandbox_serve_runs_until_interrupted() -> None:
    """`sandbox serve --json` prints where it listens, serves, and exits 0 on SIGINT."""
    env = {**os.environ, **ENV}
    with subprocess.Popen(
        [sys.executable, "-m", "payplane", "sandbox", "serve", PROVIDER, "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        state = httpx.get(f"{info['url']}/_sandbox/state", timeout=5).json()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert state["balance"] == 1_000_000
    assert info["settings"]["api_host"] == info["url"]
    assert no_secrets(json.dumps(info), out, err)


def test_sandbox_serve_without_a_postback_url_says_nothing_was_sent() -> None:
    """Without --postback-url the postbacks are said to be not sent, and no attempt counted.

    The client settings are printed one a line.
    """
    env = {**os.environ, **ENV}
    with subprocess.Popen(
        [sys.executable, "-m", "payplane", "sandbox", "serve", PROVIDER, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        started: list[str] = []
        while (line := process.stdout.readline()) not in {"", "Press Ctrl+C to stop.\n"}:
            started.append(line)
        url = started[0].split(" on ", 1)[1].strip()
        settings = {**KEYS, "api_host": url, "plugin_host": f"{url}/plugin"}
        with payplane.client(PROVIDER, settings) as client:
            client.activate_deposit(
                payplane.ActivationRequest(
                    customer_id="55", amount=payplane.Money(6000, "MMK"), transaction_id="1"
                )
            )
        deliveries: list[dict[str, Any]] = []
        for _ in range(250):  # a poll, not a timed assert: the log fills within moments
            deliveries = httpx.get(f"{url}/_sandbox/deliveries", timeout=5).json()
            if len(deliveries) == 2:  # the sandbox sends each postback twice
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert [line.strip() for line in started if "postbacks" in line] == [
        "postbacks        not sent (no --postback-url); the delivery log lists each"
    ]
    assert [(d["attempt"], d["sent"]) for d in deliveries] == [(0, False), (0, False)]
    assert out.strip().splitlines()[-1] == "Stopped. 2 postback(s) not sent (no --postback-url)."
    assert "logged only" not in "".join(started) + out
    assert started[1:3] == [
        f"  client settings  api_host={url}\n",
        f"                   plugin_host={url}/plugin\n",
    ]
