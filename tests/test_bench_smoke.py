"""The benchmark scripts still run: each one's main, at its tiny --quick size.

Their figures are not checked (timed asserts belong in no test suite); only that every
script runs to the end and prints the lines its figures are known by.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def bench_module() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("_harness")
    finally:
        sys.path.remove(str(BENCH))


def _run(name: str, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    module = importlib.import_module(name)
    assert module.main(["--quick", *args]) == 0
    lines: list[str] = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("machine: ")
    return lines


def _figures(lines: list[str]) -> list[str]:
    return [line.split(":", 1)[0] for line in lines if " | baseline: " in line]


def _check_format(lines: list[str]) -> None:
    for line in lines:
        if " | baseline: " in line:
            assert " | ratio: " in line
            assert line.split(" | ratio: ")[1].split(" | ")[0].split(")")[-1].strip() in {
                "OK",
                "MISSED",
                "",
            }


def test_postback(bench_module: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pydantic")
    pytest.importorskip("razorpay")
    lines = _run("bench_postback", capsys)
    _check_format(lines)
    assert _figures(lines) == [
        "postback verify+parse vs floor",
        "postback verify+parse vs pydantic",
        "postback verify+parse vs pydantic+hashes",
        "postback verify+parse+all converted Money vs pydantic",
        "razorpay payment.captured webhook verify+parse vs SDK verify+json.loads",
        "razorpay payout.processed webhook verify+parse vs SDK verify+json.loads",
    ]


def test_client(bench_module: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run("bench_client", capsys)
    _check_format(lines)
    assert _figures(lines) == [
        "client activation sync vs raw httpx",
        "client withdrawal sync vs raw httpx",
        "client activation async vs raw httpx",
        "client withdrawal async vs raw httpx",
        "client razorpay deposit sync vs raw httpx",
        "client razorpay payout sync vs raw httpx",
        "client razorpay refund sync vs raw httpx",
        "client razorpay deposit async vs raw httpx",
        "client razorpay payout async vs raw httpx",
        "client razorpay refund async vs raw httpx",
    ]


def test_inbox(bench_module: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run("bench_inbox", capsys)
    _check_format(lines)
    expected = [
        *(f"inbox SQLite concurrency {n} (postbacks/s)" for n in (1, 4, 16)),
        "inbox SQLite transaction shape concurrency 1 (rows/s)",
        "inbox SQLite own work concurrency 1 (postbacks/s)",
    ]
    if os.environ.get("PAYPLANE_TEST_POSTGRES_DSN"):
        expected += [
            *(f"inbox PostgreSQL concurrency {n} (postbacks/s)" for n in (1, 4, 16)),
            "inbox PostgreSQL transaction shape concurrency 1 (rows/s)",
            "inbox PostgreSQL own work concurrency 1 (postbacks/s)",
        ]
    else:
        assert lines[-1].startswith("inbox PostgreSQL: skipped")
    assert _figures(lines) == expected


def test_coldstart(bench_module: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run("bench_coldstart", capsys)
    _check_format(lines)
    assert _figures(lines) == [
        "cold start import payplane + list providers vs import httpx",
        "cold start import payplane vs import httpx",
    ]


def test_scaling(
    bench_module: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "scaling.png"
    lines = _run("bench_scaling", capsys, "--plot", str(plot))
    _check_format(lines)
    assert _figures(lines) == [
        "scaling converted_amount cost per entry, 100-1000 vs 10-100",
        "scaling additional_data cost per entry, 10-100 vs 1-10",
    ]
    assert plot.read_bytes().startswith(b"\x89PNG")
