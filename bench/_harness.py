"""Timing helpers shared by the benchmark scripts.

Machines drift (shared cores, frequency scaling, neighbours), so no figure is an absolute
time: each is the ratio of a candidate to a baseline measured in the same run, their
batches interleaved (baseline, candidate, candidate, baseline, ...) so that a slow spell
hits both. A batch runs the call *number* times with the garbage collector paused, as
``timeit`` does; a run is *rounds* batches of each.

Every script prints one line per figure::

    name: 45.1 us | baseline: 41.0 us | ratio: 1.10 (target <= 1.20) OK | ...

followed by how the ratio was taken and its spread over the rounds.
"""

# A helper module beside the scripts, imported by them as `_harness`.
# ruff: noqa: INP001

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Comparison",
    "argument_parser",
    "compare",
    "compare_async",
    "figure_line",
    "machine",
    "main_guard",
    "ratios_line",
]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Comparison:
    """Per-call seconds of a candidate and its baseline over interleaved rounds.

    Attributes:
        candidate: Mean seconds per call of each candidate batch.
        baseline: Mean seconds per call of each baseline batch, same rounds.
    """

    candidate: Sequence[float]
    baseline: Sequence[float]

    @property
    def round_ratios(self) -> list[float]:
        """Candidate over baseline, round by round."""
        return [c / b for c, b in zip(self.candidate, self.baseline, strict=True)]

    def value(self, stat: str) -> tuple[float, float]:
        """Return ``(candidate, baseline)`` seconds per call by *stat* (``min``/``median``)."""
        pick = min if stat == "min" else statistics.median
        return pick(self.candidate), pick(self.baseline)

    def ratio(self, stat: str) -> float:
        """Candidate over baseline by *stat* (``min`` or ``median``)."""
        candidate, baseline = self.value(stat)
        return candidate / baseline

    def spread(self) -> str:
        """The per-round ratios: median and range, for the reader to judge the noise."""
        ratios = sorted(self.round_ratios)
        return (
            f"{len(ratios)} rounds, per-round ratio median {statistics.median(ratios):.2f}"
            f" range {ratios[0]:.2f}-{ratios[-1]:.2f}"
        )


def _batch(call: Callable[[], object], number: int) -> float:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            call()
        return (time.perf_counter() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def compare(
    candidate: Callable[[], object],
    baseline: Callable[[], object],
    *,
    number: int,
    rounds: int,
) -> Comparison:
    """Time *candidate* and *baseline* in interleaved batches of *number* calls.

    One warm-up batch of each is run first and discarded; the order within a round
    alternates, so neither side always runs first.
    """
    _batch(candidate, max(1, number // 4))
    _batch(baseline, max(1, number // 4))
    cand: list[float] = []
    base: list[float] = []
    for index in range(rounds):
        if index % 2:
            cand.append(_batch(candidate, number))
            base.append(_batch(baseline, number))
        else:
            base.append(_batch(baseline, number))
            cand.append(_batch(candidate, number))
    return Comparison(cand, base)


async def _abatch(call: Callable[[], Awaitable[object]], number: int) -> float:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            await call()
        return (time.perf_counter() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


async def compare_async(
    candidate: Callable[[], Awaitable[object]],
    baseline: Callable[[], Awaitable[object]],
    *,
    number: int,
    rounds: int,
) -> Comparison:
    """The coroutine twin of :func:`compare`, on the running event loop."""
    await _abatch(candidate, max(1, number // 4))
    await _abatch(baseline, max(1, number // 4))
    cand: list[float] = []
    base: list[float] = []
    for index in range(rounds):
        if index % 2:
            cand.append(await _abatch(candidate, number))
            base.append(await _abatch(baseline, number))
        else:
            base.append(await _abatch(baseline, number))
            cand.append(await _abatch(candidate, number))
    return Comparison(cand, base)


def _verdict(ratio: float, target: float | None, *, below: bool = False) -> str:
    if target is None:
        return "(no target)"
    if below:
        return f"(target < {target:.2f}) {'OK' if ratio < target else 'MISSED'}"
    return f"(target <= {target:.2f}) {'OK' if ratio <= target else 'MISSED'}"


def figure_line(
    name: str,
    value: float,
    baseline: float,
    *,
    unit: str,
    ratio: float,
    target: float | None,
    below: bool = False,
    note: str = "",
) -> str:
    """Format one figure: ``name: v unit | baseline: b unit | ratio: r (target) OK``.

    Args:
        name: The figure's name (no colon).
        value: The candidate's figure, in *unit*.
        baseline: The baseline's figure, in *unit*.
        unit: Unit of both values.
        ratio: The ratio judged against *target*.
        target: The largest acceptable ratio, or ``None`` for an informative figure.
        below: The ratio must be strictly below *target* (``faster than``).
        note: How the ratio was taken and its spread.
    """
    line = (
        f"{name}: {value:.4g} {unit} | baseline: {baseline:.4g} {unit} | "
        f"ratio: {ratio:.2f} {_verdict(ratio, target, below=below)}"
    )
    return f"{line} | {note}" if note else line


def ratios_line(
    name: str,
    comparison: Comparison,
    *,
    stat: str,
    target: float | None,
    scale: float = 1e6,
    unit: str = "us",
    below: bool = False,
) -> str:
    """Format a per-call time comparison (default: microseconds per call)."""
    candidate, baseline = comparison.value(stat)
    return figure_line(
        name,
        candidate * scale,
        baseline * scale,
        unit=unit,
        ratio=comparison.ratio(stat),
        target=target,
        below=below,
        note=f"{stat} of interleaved rounds; {comparison.spread()}",
    )


def machine() -> str:
    """One line about where the figures come from: CPU, cores, OS, Python."""
    model = platform.processor() or "unknown CPU"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"machine: {platform.machine()}, {model}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def argument_parser(description: str | None) -> argparse.ArgumentParser:
    """Return a parser with ``--quick`` (a tiny run that only proves the script works)."""
    parser = argparse.ArgumentParser(description=(description or "").split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="run tiny counts: checks the script works, its figures mean nothing",
    )
    return parser


def main_guard(main: Callable[[Sequence[str] | None], int]) -> None:
    """Run a script's ``main`` with the command-line arguments and exit with its status."""
    sys.exit(main(sys.argv[1:]))
