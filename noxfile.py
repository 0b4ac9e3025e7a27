"""Automation: `nox` runs the default sessions (tests, lint, typecheck, docs, providers).

`nox -s bench` runs the benchmarks, which are not a default session.

Every session installs from the committed uv.lock (`uv sync --frozen`) into its own venv,
with Python 3.11 only and no interpreter downloads.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "lint", "typecheck", "docs", "providers"]
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

PYTHON = "3.11"
ROOT = Path(__file__).parent
BENCHMARKS = (
    "bench_postback.py",
    "bench_client.py",
    "bench_inbox.py",
    "bench_coldstart.py",
    "bench_scaling.py",
)
PROVIDERS = sorted(p for p in (ROOT / "providers").iterdir() if (p / "pyproject.toml").is_file())


def _sync(session: nox.Session, *groups: str) -> None:
    """Install the locked workspace (all providers) and *groups* into the session's venv."""
    args = [f"--group={group}" for group in groups]
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--no-default-groups",
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the whole test suite (core, providers, cross-cutting)."""
    _sync(session, "tests", "bench")  # bench: the smoke test runs every benchmark script
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    _sync(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package, the tests and the typing examples."""
    _sync(session, "typecheck")
    session.run("mypy", "core/src", "core/tests", "tests", "noxfile.py", "tools")
    session.run("mypy", "conftest.py")  # apart: every test folder has a conftest module
    session.run("mypy", "docs/snippets")
    session.run("mypy", "bench", env={"MYPYPATH": "bench"})  # the scripts import `_harness`
    for provider in PROVIDERS:
        session.run("mypy", str(provider / "src"), str(provider / "tests"))
    for example in sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir()):
        src = example / "src"
        tests = [str(example / "tests")] if (example / "tests").is_dir() else []
        session.run("mypy", str(src), *tests, env={"MYPYPATH": str(src)})
    # Fixture distributions (pyproject.toml excludes them from the runs above): by file.
    for fixture in sorted(p.parent for p in (ROOT / "tests" / "fixtures").glob("*/pyproject.toml")):
        files = sorted(str(path) for path in fixture.rglob("*.py"))
        session.run("mypy", *files, env={"MYPYPATH": str(fixture / "src")})


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the docs strictly: every warning is an error, nothing is fetched."""
    _sync(session, "docs")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"
    )


@nox.session(python=PYTHON)
def deep(session: nox.Session) -> None:
    """The test suite with the `deep` hypothesis profile (5,000 examples a property).

    Not a default session: it takes far longer than CI allows for every change.
    """
    _sync(session, "tests", "bench")
    session.run("pytest", *session.posargs, env={"HYPOTHESIS_PROFILE": "deep"})


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (not run by default): one line per figure, a ratio to a same-run baseline.

    PostgreSQL figures need PAYPLANE_TEST_POSTGRES_DSN (`.ci/postgres start DIR`); without
    it they are skipped. `nox -s bench -- --quick` only checks that every script runs.
    """
    _sync(session, "bench")
    for script in BENCHMARKS:
        session.run("python", str(ROOT / "bench" / script), *session.posargs)


@nox.session(python=PYTHON, venv_backend="none")
def providers(session: nox.Session) -> None:
    """Test each provider alone: its declared dependencies only, no workspace extras."""
    for provider in PROVIDERS:
        name = _dist_name(provider)
        session.run(
            "uv",
            "run",
            "--isolated",
            "--frozen",
            "--no-default-groups",
            "--group=tests",
            "--package",
            name,
            "pytest",
            "-p",
            "no:cacheprovider",
            str(provider / "tests"),
            external=True,
        )


def _dist_name(provider: Path) -> str:
    import tomllib  # noqa: PLC0415

    with (provider / "pyproject.toml").open("rb") as file:
        name: str = tomllib.load(file)["project"]["name"]
    return name
