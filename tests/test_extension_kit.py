"""The extension kit from outside: example providers installed into a throwaway venv.

AcmePay (examples/acmepay), copied out of the workspace and installed as a user would,
must be listed by ``payplane providers`` and pass the contract suite; the two broken
examples must fail it, each for its own reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("acmepay", "broken_capability", "broken_status")


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env |= {
        "UV_PYTHON_DOWNLOADS": "never",
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HYPOTHESIS_PROFILE": "default",
    }
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    return env


def make_venv(work: Path, *packages: str | Path) -> Path:
    """Create a venv under *work* holding payplane (this checkout) and *packages*."""
    venv = work / "venv"
    env = _env(venv)
    uv = [sys.executable, "-m", "uv"]
    subprocess.run(
        [*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env
    )
    subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            str(ROOT / "core"),
            *map(str, packages),
        ],
        check=True,
        env=env,
    )
    return venv


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command of *venv* in *cwd*, as a user with the venv activated would."""
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=_env(venv),
        timeout=300,
    )


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(venv, folder)``: the examples copied out of the workspace, installed in one venv."""
    work = tmp_path_factory.mktemp("kit")
    copies = []
    for name in EXAMPLES:
        copy = work / "src" / name
        shutil.copytree(
            ROOT / "examples" / name, copy, ignore=shutil.ignore_patterns("__pycache__")
        )
        copies.append(copy)
    venv = make_venv(work, *copies, "pytest", "hypothesis")
    empty = work / "run"
    empty.mkdir()
    return venv, empty


def suite(venv: Path, cwd: Path, provider: str) -> tuple[int, dict[str, str | None]]:
    """Run the contract suite for *provider*: exit code and {test name: failure or None}."""
    result, outcomes = suite_run(venv, cwd, provider)
    return result.returncode, outcomes


def suite_run(
    venv: Path, cwd: Path, provider: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str | None]]:
    """Run the contract suite for *provider*: the process and {test name: failure or None}."""
    report = cwd / f"{provider}.xml"
    result = run(
        venv,
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--payplane-provider={provider}",
        f"--junitxml={report}",
        cwd=cwd,
    )
    outcomes: dict[str, str | None] = {}
    # Our own pytest wrote the report a moment ago: trusted XML.
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314
        failure = case.find("failure")
        outcomes[case.attrib["name"]] = None if failure is None else failure.attrib["message"]
    assert outcomes, result.stdout + result.stderr
    return result, outcomes


def failures(outcomes: dict[str, str | None]) -> dict[str, str]:
    return {name: message for name, message in outcomes.items() if message is not None}


def test_acmepay_is_discovered(kit: tuple[Path, Path]) -> None:
    """`payplane providers --json` lists the installed example, with no load problem."""
    venv, cwd = kit
    result = run(venv, "payplane", "providers", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    rows = {row["id"]: row for row in listed["providers"]}
    assert rows["acmepay"]["version"] == "2.0.0"
    assert rows["acmepay"]["capabilities"] == ["deposits", "lookups", "postbacks", "refunds"]
    assert listed["problems"] == []


def test_acmepay_passes_contract_suite(kit: tuple[Path, Path]) -> None:
    """`pytest --payplane-provider=acmepay` in an empty folder runs the suite, and it passes."""
    venv, cwd = kit
    code, outcomes = suite(venv, cwd, "acmepay")
    assert failures(outcomes) == {}
    assert code == 0
    assert len(outcomes) >= 20
    assert "test_postback_mutations_are_refused" in outcomes


def test_acmepay_own_tests_subclass_the_suite(kit: tuple[Path, Path]) -> None:
    """The example's tests/test_contract.py (a ProviderContract subclass) passes."""
    venv, cwd = kit
    tests = cwd.parent / "src" / "acmepay" / "tests"
    result = run(venv, "pytest", "-p", "no:cacheprovider", "-q", str(tests), cwd=cwd)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


def test_broken_capability_fails_for_the_stub(kit: tuple[Path, Path]) -> None:
    """A declared capability whose methods are stubs fails, naming the method and the fix."""
    venv, cwd = kit
    code, outcomes = suite(venv, cwd, "broken_capability")
    failed = failures(outcomes)
    assert code == 1
    message = failed["test_declared_operations_are_implemented"]
    assert "declares withdrawals but create_withdrawal() raised NotImplementedError" in message
    assert "drop Capability.WITHDRAWALS from the ProviderSpec" in message
    assert (
        "lack: a RecordedAnswer with a WithdrawalRequest"
        in failed["test_samples_cover_capabilities"]
    )
    # Every failure is about the withdrawals it does not implement.
    assert all("withdrawal" in text.lower() for text in failed.values()), failed
    for passing in ("test_spec_is_valid", "test_postbacks_verify", "test_recorded_answers_parse"):
        assert outcomes[passing] is None


def test_broken_status_fails_for_the_mapping(kit: tuple[Path, Path]) -> None:
    """An unknown status read as success fails exactly the status test, saying how to fix it."""
    venv, cwd = kit
    code, outcomes = suite(venv, cwd, "broken_status")
    failed = failures(outcomes)
    assert code == 1
    assert list(failed) == ["test_unknown_status_is_never_success"]
    message = failed["test_unknown_status_is_never_success"]
    assert "is not a code it knows, yet it maps to DepositStatus.SUCCEEDED (success)" in message
    assert "must map to UNKNOWN (payplane.StatusMap does), never to success" in message


def test_unknown_provider_is_reported(kit: tuple[Path, Path]) -> None:
    """Asking for a provider that is not installed says so and lists the installed ones."""
    venv, cwd = kit
    result = run(
        venv, "pytest", "-p", "no:cacheprovider", "-q", "--payplane-provider=nope", cwd=cwd
    )
    assert result.returncode != 0
    assert "no provider 'nope' is installed" in result.stdout
    assert "acmepay, broken_capability, broken_status" in result.stdout


def test_plugin_is_inert_without_the_option(kit: tuple[Path, Path]) -> None:
    """Without --payplane-provider the plugin adds nothing and loads no hypothesis."""
    venv, cwd = kit
    result = run(venv, "pytest", "-p", "no:cacheprovider", "-q", "--co", cwd=cwd)
    assert result.returncode == 5  # no tests collected
    code = (
        "import sys, payplane.testing._pytest_plugin, payplane.testing; "
        "print(sorted(m for m in ('hypothesis', 'httpx', 'payplane.testing._contract') "
        "if m in sys.modules))"
    )
    probe = run(venv, "python", "-c", code, cwd=cwd)
    assert probe.stdout.strip() == "[]", probe.stderr


# -- a plugin API 1 provider: AcmePay as payplane 0.1 shipped it -------------------------

V1_FIXTURE = ROOT / "tests" / "fixtures" / "acmepay_v1"
V1_SETTINGS = {
    "api_key": "acme-test-api-key-0001",
    "webhook_secret": "acme-test-webhook-secret-0001",
}


@pytest.fixture(scope="module")
def kit_v1(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(venv, folder)``: examples/acmepay as payplane 0.1 had it (plugin API 1), installed."""
    work = tmp_path_factory.mktemp("kit_v1")
    copy = work / "src" / "acmepay_v1"
    shutil.copytree(V1_FIXTURE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    venv = make_venv(work, copy, "pytest", "hypothesis")
    empty = work / "run"
    empty.mkdir()
    return venv, empty


def test_v1_fixture_is_acmepay_as_shipped() -> None:
    """The fixture is byte for byte the version-1 AcmePay: build/parse methods, no flows."""
    provider = (V1_FIXTURE / "src" / "payplane_acmepay" / "_provider.py").read_text()
    assert "def build_deposit(" in provider
    assert "def parse_deposit(" in provider
    assert "def start_deposit(" not in provider


def test_v1_provider_loads_with_a_deprecation_warning(kit_v1: tuple[Path, Path]) -> None:
    """It is listed without a problem, and a client for it warns once that it runs as v1."""
    venv, cwd = kit_v1
    listed = run(venv, "payplane", "providers", "--json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)["providers"]] == ["acmepay"]
    assert json.loads(listed.stdout)["problems"] == []
    code = (
        "import json, warnings, payplane\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        f"    payplane.client('acmepay', {V1_SETTINGS!r})\n"
        f"    payplane.client('acmepay', {V1_SETTINGS!r})\n"
        "print(json.dumps([[w.category.__name__, str(w.message)] for w in seen]))\n"
    )
    probe = run(venv, "python", "-c", code, cwd=cwd)
    assert probe.returncode == 0, probe.stderr
    ((category, message),) = json.loads(probe.stdout)
    assert category == "PluginDeprecationWarning"
    assert "'acmepay' declares plugin API version 2 but implements version 1" in message


def test_v1_provider_passes_its_contract_suite(kit_v1: tuple[Path, Path]) -> None:
    """`pytest --payplane-provider=acmepay` passes for the v1 provider, warning it is v1."""
    venv, cwd = kit_v1
    result, outcomes = suite_run(venv, cwd, "acmepay")
    assert failures(outcomes) == {}
    assert result.returncode == 0
    assert outcomes["test_async_client_agrees"] is None
    assert "PluginDeprecationWarning" in result.stdout


def test_v1_provider_own_tests_pass(kit_v1: tuple[Path, Path]) -> None:
    """The v1 distribution's own tests/test_contract.py passes, unchanged."""
    venv, cwd = kit_v1
    tests = cwd.parent / "src" / "acmepay_v1" / "tests"
    result = run(venv, "pytest", "-p", "no:cacheprovider", "-q", str(tests), cwd=cwd)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


# -- a real provider from outside the workspace: Razorpay ---------------------------------


@pytest.fixture(scope="module")
def kit_razorpay(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(venv, folder)``: providers/razorpay copied out (without its tests) and installed."""
    work = tmp_path_factory.mktemp("kit_razorpay")
    copy = work / "src" / "razorpay"
    shutil.copytree(
        ROOT / "providers" / "razorpay",
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "tests"),
    )
    venv = make_venv(work, copy, "pytest", "hypothesis")
    empty = work / "run"
    empty.mkdir()
    return venv, empty


def test_razorpay_passes_contract_suite_from_an_empty_folder(
    kit_razorpay: tuple[Path, Path],
) -> None:
    """`pytest --payplane-provider=razorpay` in an empty folder runs the whole suite: it passes.

    The multi-step checks ran rather than skipped: every recorded flow parsed, through
    both clients, and a lost payout or refund answer was an unknown outcome.
    """
    venv, cwd = kit_razorpay
    result, outcomes = suite_run(venv, cwd, "razorpay")
    assert failures(outcomes) == {}, result.stdout[-3000:]
    assert result.returncode == 0
    report = ET.parse(cwd / "razorpay.xml").getroot()  # noqa: S314 - our own pytest's report
    skipped = {
        case.attrib["name"] for case in report.iter("testcase") if case.find("skipped") is not None
    }
    # Razorpay signs the whole body, so there is no unsigned byte to try.
    assert skipped == {"test_unsigned_postback_bytes_cannot_forge_events"}
    for check in (
        "test_recorded_answers_parse",
        "test_async_client_agrees",
        "test_lost_answer_is_unknown_outcome",
        "test_generated_requests_build",
        "test_money_is_exact",
        "test_unsigned_headers_cannot_forge_events",
    ):
        assert check in outcomes
