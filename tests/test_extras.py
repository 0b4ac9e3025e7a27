"""A missing extra is named with the line that installs it: in the CLI and in `payplane`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from payplane._cli import _extras

PROVIDER = "paykassma_wavepay"
PREFIX = "PAYPLANE_PAYKASSMA_WAVEPAY_"
KEYS = {
    f"{PREFIX}PLUGINAPI_SECRET": "extras-plugin-secret-1",
    f"{PREFIX}WITHDRAWAL_PRIVATE_KEY": "extras-withdrawal-key-1",
    f"{PREFIX}POSTBACK_ACCESS_KEY": "extras-access-key-1",
    f"{PREFIX}POSTBACK_PRIVATE_KEY": "extras-private-key-1",
}

WITHOUT = textwrap.dedent(
    """
    import sys
    # As if these were not installed: importing them raises ModuleNotFoundError.
    for name in sys.argv[1].split(","):
        sys.modules[name] = None
    from payplane._cli import main
    main(sys.argv[2:])
    """
)


def payplane_without(
    modules: list[str], args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter where *modules* cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, ",".join(modules), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **KEYS, **(env or {})},
        check=False,
    )


SERVE = ["sandbox", "serve", PROVIDER, "--port", "0"]
INBOX = ["inbox", "--postgres", "dbname=payplane", "list"]


@pytest.mark.parametrize(
    ("hidden", "args", "command", "extra"),
    [
        ("starlette", SERVE, "payplane sandbox serve", "sandbox"),
        ("uvicorn", SERVE, "payplane sandbox serve", "sandbox"),
        ("starlette", ["demo"], "payplane demo", "sandbox"),
        ("uvicorn", ["demo"], "payplane demo", "sandbox"),
        ("psycopg", INBOX, "payplane inbox list", "postgres"),
    ],
)
def test_missing_extra_is_named(hidden: str, args: list[str], command: str, extra: str) -> None:
    """Each command that needs an extra says which one, in one line, exit 2, no traceback."""
    result = payplane_without([hidden], args)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line
    # The CLI names the command; a payplane API that checks its own extra (postback_app,
    # PostgresStore) names itself. Either way: which module, and what to install.
    assert line in {
        (
            f"payplane: error: {command} needs {hidden}, which is not installed: "
            f'pip install "payplane[{extra}]"'
        ),
        f'payplane: error: postback_app needs Starlette: pip install "payplane[{extra}]"',
    }


def test_missing_provider_names_its_extra() -> None:
    """`payplane demo` without the Wavepay provider names the extra that installs it."""
    result = payplane_without([], ["demo"], env={"PAYPLANE_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "payplane: error: no provider 'paykassma_wavepay' is installed; installed providers: "
        'none; to install it: pip install "payplane[paykassma-wavepay]"'
    )


def test_sign_needs_no_sandbox_extra(tmp_path: Path) -> None:
    """`postback sign` works without Starlette and uvicorn: it only signs."""
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"direction": "ingoing", "additional_data": []}))
    out = tmp_path / "out.json"
    result = payplane_without(
        ["starlette", "uvicorn"], ["postback", "sign", PROVIDER, str(source), "-o", str(out)]
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["access_key"] == KEYS[f"{PREFIX}POSTBACK_ACCESS_KEY"]


def test_unexpected_import_error_is_not_disguised(tmp_path: Path) -> None:
    """A missing module that no extra provides stays an unexpected error: exit 1, no hint."""
    body = tmp_path / "body.json"
    body.write_text("{}")
    result = payplane_without(
        ["payplane._inbox._codec"], ["postback", "verify", PROVIDER, str(body)]
    )
    assert result.returncode == 1
    assert result.stderr.startswith("payplane: error: unexpected ModuleNotFoundError: ")
    assert "pip install" not in result.stderr


def test_extras_follow_the_package_metadata() -> None:
    """The modules the CLI maps to extras come from payplane's own Requires-Dist."""
    extras = _extras()
    assert {
        "starlette": "sandbox",
        "uvicorn": "sandbox",
        "psycopg": "postgres",
        "sqlalchemy": "sqlalchemy",
        "payplane_paykassma_wavepay": "paykassma-wavepay",
        "django": "django",
    }.items() <= extras.items()
    assert "all" not in extras.values()


def test_the_readme_names_every_extra() -> None:
    """Each extra core declares appears in the README's table of features and extras."""
    import tomllib  # noqa: PLC0415 - only this test reads TOML

    root = Path(__file__).resolve().parents[1]
    core = tomllib.loads((root / "core" / "pyproject.toml").read_text(encoding="utf-8"))
    readme = (root / "README.md").read_text(encoding="utf-8")
    extras = core["project"]["optional-dependencies"]
    assert extras, "core declares no extras"
    missing = [name for name in extras if f"`payplane[{name}]`" not in readme]
    assert missing == []
