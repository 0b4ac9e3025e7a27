"""The CLI as a newcomer types it: inbox options after the subcommand, header-signed postbacks.

``payplane inbox list --db x.db`` works as ``payplane inbox --db x.db list`` does;
``postback sign`` gives a header-signing provider's headers (printed, and as JSON with
``--headers-output``), and ``postback verify`` takes them back with ``--header`` or
``--headers``.
"""

from __future__ import annotations

import json
from pathlib import Path

import payplane_storm as storm
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import payplane
from payplane import InboxTransaction, PostbackEvent
from payplane._cli import cli

WAVEPAY = "paykassma_wavepay"
WEBHOOK_SECRET = "cli-webhook-secret-1"
RAZORPAY_ENV = {
    "PAYPLANE_RAZORPAY_KEY_ID": "rzp_test_cli",
    "PAYPLANE_RAZORPAY_KEY_SECRET": "cli-key-secret-1",
    "PAYPLANE_RAZORPAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
}
WEBHOOK = {
    "entity": "event",
    "account_id": "acc_cli",
    "event": "payment.captured",
    "contains": ["payment"],
    "payload": {
        "payment": {
            "entity": {
                "id": "pay_cli1",
                "amount": 50000,
                "currency": "INR",
                "status": "captured",
                "order_id": "order_cli1",
                "notes": {},
            }
        }
    },
    "created_at": 1700000000,
}


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def _noop(event: PostbackEvent, transaction: InboxTransaction) -> None:
    del event, transaction


@pytest.fixture
def inbox_db(tmp_path: Path) -> Path:
    """An inbox file holding one applied Wavepay event."""
    path = tmp_path / "inbox.db"
    inbox = payplane.Inbox(
        payplane.SQLiteStore(path),
        _noop,
        providers={WAVEPAY: storm.SETTINGS},
        registry=payplane.Registry(strict=True),
    )
    body = storm.postback(1)
    assert inbox.receive(WAVEPAY, body).status_code == 200
    inbox.store.close()
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["inbox", "list", "--db", "{db}", "--json"],
        ["inbox", "--db", "{db}", "list", "--json"],
        ["inbox", "list", "--json", "--db", "{db}"],
    ],
    ids=["after", "before", "last"],
)
def test_inbox_store_option_before_or_after_the_subcommand(inbox_db: Path, args: list[str]) -> None:
    """--db names the inbox wherever it is given: the same record is listed."""
    result = run([arg.replace("{db}", str(inbox_db)) for arg in args])
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.output)
    assert (record["provider"], record["state"]) == (WAVEPAY, "applied")


@pytest.mark.parametrize("command", ["list", "show", "retry", "replay", "requeue", "work", "prune"])
def test_every_inbox_subcommand_takes_the_store_options(command: str) -> None:
    """Each inbox command's help lists --db and --postgres."""
    result = run(["inbox", command, "--help"])
    assert result.exit_code == 0
    assert "--db" in result.output
    assert "--postgres" in result.output


def test_two_different_inbox_files_are_refused(inbox_db: Path, tmp_path: Path) -> None:
    """--db before and after the subcommand naming different files: exit 2, named."""
    other = tmp_path / "other.db"
    other.write_bytes(b"")
    result = run(["inbox", "--db", str(inbox_db), "list", "--db", str(other)])
    assert result.exit_code == 2
    assert "--db given twice" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["inbox", "list", "--db", "{db}", "--db", "{other}"],
        ["inbox", "--db", "{db}", "--db", "{other}", "list"],
        ["inbox", "list", "--postgres", "postgresql://a@127.0.0.1:1/x", "--postgres", "{pg}"],
    ],
    ids=["db-after", "db-before", "postgres-after"],
)
def test_one_option_naming_two_inboxes_is_refused(
    inbox_db: Path, tmp_path: Path, args: list[str]
) -> None:
    """--db (or --postgres) twice on one side of the subcommand, differing: exit 2.

    Not the last one silently: that could operate on another database than meant.
    """
    other = tmp_path / "other.db"
    other.write_bytes(b"")
    values = {"{db}": str(inbox_db), "{other}": str(other), "{pg}": "postgresql://b@h:1/y"}
    result = run([values.get(arg, arg) for arg in args])
    assert result.exit_code == 2
    assert "given twice, with different values" in result.output
    assert "postgresql://" not in result.output


def test_the_same_inbox_file_twice_is_fine(inbox_db: Path) -> None:
    """Repeating the same --db before and after the subcommand is not an error."""
    result = run(["inbox", "--db", str(inbox_db), "list", "--db", str(inbox_db), "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 1


def test_an_explicit_db_wins_over_the_postgres_variable(inbox_db: Path) -> None:
    """PAYPLANE_INBOX_POSTGRES set in the environment does not clash with an explicit --db."""
    env = {"PAYPLANE_INBOX_POSTGRES": "postgresql://nobody@127.0.0.1:1/none"}
    for args in (
        ["inbox", "list", "--db", str(inbox_db), "--json"],
        ["inbox", "--db", str(inbox_db), "list", "--json"],
    ):
        result = run(args, env=env)
        assert result.exit_code == 0, result.output
        assert len(json.loads(result.output)) == 1


def test_explicit_db_and_postgres_are_refused(inbox_db: Path) -> None:
    """Both stores named explicitly: exit 2 with the one-line reason, never a guess."""
    result = run(
        ["inbox", "list", "--db", str(inbox_db), "--postgres", "postgresql://x@127.0.0.1:1/y"]
    )
    assert result.exit_code == 2
    assert "not both" in result.output
    assert "postgresql://" not in result.output


@pytest.fixture
def signed_webhook(tmp_path: Path) -> tuple[Path, Path, Result]:
    """A Razorpay webhook signed by the CLI: body file, headers file and the sign result."""
    document = tmp_path / "webhook.json"
    document.write_text(json.dumps(WEBHOOK))
    body, headers = tmp_path / "body.json", tmp_path / "headers.json"
    result = run(
        [
            "postback",
            "sign",
            "razorpay",
            str(document),
            "-o",
            str(body),
            "--headers-output",
            str(headers),
        ],
        env=RAZORPAY_ENV,
    )
    assert result.exit_code == 0, result.output
    return body, headers, result


def test_sign_gives_the_headers_of_a_header_signing_provider(
    signed_webhook: tuple[Path, Path, Result],
) -> None:
    """The signature and event id headers are printed and written; the secret is not."""
    body, headers_file, result = signed_webhook
    headers = json.loads(headers_file.read_text())
    assert set(headers) == {"x-razorpay-signature", "x-razorpay-event-id"}
    assert f"x-razorpay-signature: {headers['x-razorpay-signature']}" in result.output
    assert WEBHOOK_SECRET not in result.output
    assert WEBHOOK_SECRET not in body.read_text()
    assert WEBHOOK_SECRET not in headers_file.read_text()


def test_verify_takes_the_headers_file(signed_webhook: tuple[Path, Path, Result]) -> None:
    """postback verify --headers FILE: the signed webhook is authentic, its event shown."""
    body, headers, _ = signed_webhook
    result = run(
        ["postback", "verify", "razorpay", str(body), "--headers", str(headers), "--json"],
        env=RAZORPAY_ENV,
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["valid"] is True
    assert answer["event"]["event_key"] == "deposit:order_cli1:succeeded"
    assert answer["event"]["amount"] == {"amount": "500.00", "currency": "INR"}


def test_verify_takes_a_header_line(signed_webhook: tuple[Path, Path, Result]) -> None:
    """--header 'Name: value' (any case) carries the signature."""
    body, headers_file, _ = signed_webhook
    signature = json.loads(headers_file.read_text())["x-razorpay-signature"]
    result = run(
        [
            "postback",
            "verify",
            "razorpay",
            str(body),
            "--header",
            f"X-Razorpay-Signature: {signature}",
        ],
        env=RAZORPAY_ENV,
    )
    assert result.exit_code == 0, result.output
    assert "authentic razorpay postback" in result.output


@pytest.mark.parametrize(
    "header",
    ["X-Razorpay-Signature: " + "0" * 64, "X-Razorpay-Signature: ", "X-Other: 1"],
    ids=["wrong", "empty", "missing"],
)
def test_verify_refuses_a_wrong_or_missing_signature_header(
    signed_webhook: tuple[Path, Path, Result], header: str
) -> None:
    """A wrong, empty or absent signature header: exit 1, never a traceback, no secret."""
    body, _, _ = signed_webhook
    result = run(
        ["postback", "verify", "razorpay", str(body), "--header", header, "--json"],
        env=RAZORPAY_ENV,
    )
    assert result.exit_code == 1
    answer = json.loads(result.output)
    assert answer["valid"] is False
    assert answer["error_type"] == "SignatureError"
    assert WEBHOOK_SECRET not in result.output


def test_a_later_header_line_wins_over_the_headers_file(
    signed_webhook: tuple[Path, Path, Result],
) -> None:
    """--header after --headers replaces that header: a wrong one makes it fail."""
    body, headers, _ = signed_webhook
    result = run(
        [
            "postback",
            "verify",
            "razorpay",
            str(body),
            "--headers",
            str(headers),
            "--header",
            "x-razorpay-signature: " + "1" * 64,
        ],
        env=RAZORPAY_ENV,
    )
    assert result.exit_code == 1


@pytest.mark.parametrize("line", ["no-colon", ": value", " X-Sig: 1", "X Sig: 1"])
def test_a_malformed_header_line_is_a_usage_error(
    signed_webhook: tuple[Path, Path, Result], line: str
) -> None:
    """--header without 'NAME: VALUE': exit 2, the option named."""
    body, _, _ = signed_webhook
    result = run(["postback", "verify", "razorpay", str(body), "--header", line], env=RAZORPAY_ENV)
    assert result.exit_code == 2
    assert "--header expects 'NAME: VALUE'" in result.output


@pytest.mark.parametrize("content", ['["x"]', '{"x-razorpay-signature": 1}', "not json"])
def test_a_headers_file_that_is_not_an_object_of_strings_is_a_usage_error(
    signed_webhook: tuple[Path, Path, Result], tmp_path: Path, content: str
) -> None:
    """--headers FILE must be a JSON object of strings: exit 2, the file named."""
    body, _, _ = signed_webhook
    headers = tmp_path / "bad-headers.json"
    headers.write_text(content)
    result = run(
        ["postback", "verify", "razorpay", str(body), "--headers", str(headers)], env=RAZORPAY_ENV
    )
    assert result.exit_code == 2
    assert str(headers) in result.output


def test_a_body_signing_provider_prints_no_headers(tmp_path: Path) -> None:
    """Paykassma signs in the body: sign prints no header lines, writes an empty object."""
    document = tmp_path / "deposit.json"
    document.write_text(json.dumps(json.loads(storm.postback(2))))
    headers = tmp_path / "headers.json"
    env = {
        "PAYPLANE_PAYKASSMA_WAVEPAY_" + name.upper(): str(value)
        for name, value in storm.SETTINGS.items()
    }
    result = run(
        [
            "postback",
            "sign",
            WAVEPAY,
            str(document),
            "-o",
            str(tmp_path / "out.json"),
            "--headers-output",
            str(headers),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "send it with the headers" not in result.output
    assert json.loads(headers.read_text()) == {}
    verified = run(["postback", "verify", WAVEPAY, str(tmp_path / "out.json")], env=env)
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize(
    "content",
    [
        '{"x-razorpay-signature": "aaa", "X-Razorpay-Signature": "bbb"}',
        '{"X-Razorpay-Signature": "bbb", "x-razorpay-signature": "aaa"}',
        '{"x-razorpay-signature": "aaa", "x-razorpay-signature": "bbb"}',
    ],
    ids=["lower-first", "mixed-first", "same-case"],
)
def test_a_header_named_twice_in_the_headers_file_is_refused(
    signed_webhook: tuple[Path, Path, Result], tmp_path: Path, content: str
) -> None:
    """A --headers file naming one header twice (in any case): exit 2, not the last one."""
    body, _, _ = signed_webhook
    headers = tmp_path / "twice.json"
    headers.write_text(content)
    result = run(
        ["postback", "verify", "razorpay", str(body), "--headers", str(headers)], env=RAZORPAY_ENV
    )
    assert result.exit_code == 2
    assert "is given twice (names ignore case)" in result.output


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\x00b", "a\x1bb", "a\x7fb"])
def test_a_header_value_with_a_control_character_is_refused(
    signed_webhook: tuple[Path, Path, Result], tmp_path: Path, value: str
) -> None:
    """CR, LF, NUL and other controls in a header value (line or file): exit 2, not shown."""
    body, _, _ = signed_webhook
    headers = tmp_path / "controls.json"
    headers.write_text(json.dumps({"x-razorpay-signature": value}))
    for option in (["--header", f"X-Razorpay-Signature: {value}"], ["--headers", str(headers)]):
        result = run(["postback", "verify", "razorpay", str(body), *option], env=RAZORPAY_ENV)
        assert result.exit_code == 2, option
        assert "control character" in result.output
        assert value.strip() not in result.output


def test_a_headers_file_over_the_limit_is_refused(
    signed_webhook: tuple[Path, Path, Result], tmp_path: Path
) -> None:
    """A --headers file over HEADERS_FILE_LIMIT bytes: exit 2 naming the limit, not parsed."""
    from payplane._cli import HEADERS_FILE_LIMIT  # noqa: PLC0415

    body, _, _ = signed_webhook
    headers = tmp_path / "huge.json"
    headers.write_text(json.dumps({"x-padding": "x" * HEADERS_FILE_LIMIT}))
    result = run(
        ["postback", "verify", "razorpay", str(body), "--headers", str(headers)], env=RAZORPAY_ENV
    )
    assert result.exit_code == 2
    assert f"over the limit of {HEADERS_FILE_LIMIT} bytes" in result.output


def test_a_headers_file_with_a_name_that_is_no_header_name_is_refused(
    signed_webhook: tuple[Path, Path, Result], tmp_path: Path
) -> None:
    """A --headers name with a space or a colon (as --header refuses): exit 2."""
    body, _, _ = signed_webhook
    for name in ("X Sig", "X-Sig:", ""):
        headers = tmp_path / "names.json"
        headers.write_text(json.dumps({name: "1"}))
        result = run(
            ["postback", "verify", "razorpay", str(body), "--headers", str(headers)],
            env=RAZORPAY_ENV,
        )
        assert result.exit_code == 2, name
        assert "not an HTTP header name" in result.output


@settings(
    max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(line=st.text(max_size=40), cut=st.integers(min_value=0, max_value=40))
def test_a_header_line_never_fails_with_a_traceback_nor_echoes_a_refused_value(
    signed_webhook: tuple[Path, Path, Result], line: str, cut: int
) -> None:
    """Any --header text: exit 1 (not authentic) or 2 (refused); a refused line is not shown.

    A marker credential is put into the line at a random place; when the line is refused,
    no part of the output holds it.
    """
    body, _, _ = signed_webhook
    marker = "Tok3nSecretMarker"
    text = line[:cut] + marker + line[cut:]
    result = run(["postback", "verify", "razorpay", str(body), "--header", text], env=RAZORPAY_ENV)
    assert result.exit_code in {1, 2}
    if result.exit_code == 2:
        assert marker not in result.output


def test_a_reader_that_leaves_ends_the_command_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """`payplane ... | head -1`: the closed pipe ends the command with status 1 and no
    'payplane: error: Broken pipe' line (it was reported as an error)."""
    import errno  # noqa: PLC0415 - only this test

    import payplane._cli  # noqa: PLC0415 - the module whose output is cut

    def closed(text: str = "", *, err: bool = False) -> None:
        del text, err
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(payplane._cli, "_out", closed)
    result = CliRunner().invoke(cli, ["providers"])
    assert result.exit_code == 1
    assert "Broken pipe" not in result.output
    assert not isinstance(result.exception, BrokenPipeError | AssertionError)
