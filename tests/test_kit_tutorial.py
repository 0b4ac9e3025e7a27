"""The "Write a provider" guide, executed: its files written, its commands run.

The files are the guide's ``code-block`` blocks with a ``:caption:`` (the path), and its
``literalinclude`` blocks with one (the example distribution's files, included whole);
the commands are the ``$`` lines of its ``console`` blocks, run verbatim by bash. Offline
and unpublished, a few programs are stand-ins (defined below, before the commands):
``python -m venv`` makes the venv with uv and gives it a ``pip`` that installs with uv
(payplane from this checkout; ``build`` and ``twine`` are not needed), ``python -m
build`` is ``uv build``, and ``twine upload`` only checks the files exist. ``/tmp/check``
becomes a folder of the test's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "howto" / "write-a-provider.md"

FILE_BLOCK = re.compile(
    r"```\{code-block\} \w+\n:caption: (?P<path>\S+)\n\n(?P<text>.*?)\n```", re.DOTALL
)
INCLUDE_BLOCK = re.compile(r"```\{literalinclude\} (?P<source>\S+)\n(?P<options>(?::.*\n)*)```")
CAPTION = re.compile(r"^:caption: (?P<path>\S+)$", re.MULTILINE)
EXAMPLE = ROOT / "examples" / "acmepay"
CONSOLE_BLOCK = re.compile(r"```console\n(?P<text>.*?)\n```", re.DOTALL)

STAND_INS = textwrap.dedent(
    """
    set -eo pipefail
    uv() { "$REAL_PYTHON" -m uv "$@"; }
    make_pip() {  # a pip for venv $1 that installs with uv, payplane from this checkout
        printf '#!/bin/sh\\n[ "$1" = install ] || exit 2\\nshift\\n%s\\n' \\
            "args=\\$(printf '%s\\n' \\"\\$@\\" | grep -vx -e build -e twine | tr '\\n' ' ')
    exec \\"$REAL_PYTHON\\" -m uv pip install --quiet \\
        --python \\"$1/bin/python\\" \\$args \\"$CORE\\"" \\
            > "$1/bin/pip"
        chmod +x "$1/bin/pip"
    }
    python() {
        if [ "$1 $2" = "-m venv" ]; then
            uv venv --quiet --python "$REAL_PYTHON" "$3" && make_pip "$3"
        elif [ "$1 $2" = "-m build" ]; then
            uv build --quiet --out-dir dist
        else
            command python "$@"
        fi
    }
    twine() { [ "$1" = upload ] && shift && ls "$@" > /dev/null && echo "would upload: $*"; }
    """
)


def guide_files(text: str) -> dict[str, str]:
    """The files the guide shows whole, by path."""
    files = {match["path"]: match["text"] + "\n" for match in FILE_BLOCK.finditer(text)}
    for match in INCLUDE_BLOCK.finditer(text):
        caption = CAPTION.search(match["options"])
        if caption is not None:
            source = (GUIDE.parent / match["source"]).resolve()
            files[caption["path"]] = source.read_text(encoding="utf-8")
    return files


def included_sources(text: str) -> dict[str, Path]:
    """The guide's whole-file includes: caption path -> the file it shows."""
    return {
        caption["path"]: (GUIDE.parent / match["source"]).resolve()
        for match in INCLUDE_BLOCK.finditer(text)
        if (caption := CAPTION.search(match["options"])) is not None
    }


def guide_commands(text: str) -> list[str]:
    """The guide's shell commands, in order."""
    return [
        line.removeprefix("$ ")
        for block in CONSOLE_BLOCK.finditer(text)
        for line in block["text"].splitlines()
        if line.startswith("$ ")
    ]


def test_guide_shows_the_whole_distribution() -> None:
    """The guide's files are a whole provider distribution, its commands the whole path."""
    text = GUIDE.read_text(encoding="utf-8")
    assert sorted(guide_files(text)) == [
        "README.md",
        "pyproject.toml",
        "src/payplane_acmepay/__init__.py",
        "src/payplane_acmepay/_plugin.py",
        "src/payplane_acmepay/_provider.py",
        "src/payplane_acmepay/_samples.py",
        "tests/test_contract.py",
    ]
    commands = guide_commands(text)
    assert commands[0] == "mkdir payplane-acmepay && cd payplane-acmepay"
    assert "pytest --payplane-provider=acmepay" in commands
    assert commands[-1] == "twine upload dist/*"


def test_guide_shows_examples_acmepay() -> None:
    """Each file the guide shows whole is the example's file at the same path."""
    text = GUIDE.read_text(encoding="utf-8")
    sources = included_sources(text)
    assert sources
    for path, source in sources.items():
        assert source == (EXAMPLE / path).resolve(), path
    python = {str(p.relative_to(EXAMPLE)) for p in EXAMPLE.rglob("*.py")}
    assert python <= set(sources)


def test_guide_runs(tmp_path: Path) -> None:
    """Every command of the guide succeeds, the suite passes, and the built wheel passes it."""
    text = GUIDE.read_text(encoding="utf-8")
    staging = tmp_path / "files"
    for path, content in guide_files(text).items():
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    check = tmp_path / "check"
    # The guide's /tmp/check is a folder of this test's own.
    commands = [c.replace("/tmp/check", str(check)) for c in guide_commands(text)]  # noqa: S108
    first, *rest = commands
    script = "\n".join(
        [STAND_INS, first, f'cp -r "{staging}/." .', *(f"echo '>>> {c}'\n{c}" for c in rest)]
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON", "VIRTUAL"))
    }
    env |= {
        "REAL_PYTHON": sys.executable,
        "CORE": str(ROOT / "core"),
        "UV_PYTHON_DOWNLOADS": "never",
        "HYPOTHESIS_PROFILE": "default",
    }
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "acmepay" in output.split(">>> payplane providers")[1].split(">>>")[0]
    runs = re.findall(r"(\d+) passed", output)
    assert len(runs) == 3, output[-4000:]  # the plugin, the subclass, the built wheel
    assert all(int(count) >= 15 for count in runs)
    assert "would upload: dist/payplane_acmepay-2.0.0" in output
    assert (work / "payplane-acmepay" / "dist" / "payplane_acmepay-2.0.0-py3-none-any.whl").exists()


@pytest.mark.parametrize(
    "path",
    [
        "src/payplane_acmepay/_plugin.py",
        "src/payplane_acmepay/_provider.py",
        "src/payplane_acmepay/_samples.py",
        "tests/test_contract.py",
    ],
)
def test_guide_code_is_importable_python(path: str) -> None:
    """The guide's Python compiles (a syntax slip fails here before the slow test)."""
    compile(guide_files(GUIDE.read_text(encoding="utf-8"))[path], path, "exec")
