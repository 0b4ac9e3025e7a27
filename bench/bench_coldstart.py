"""Cold start: a new process that imports payplane and lists the installed providers.

Against a process that only imports httpx (what any HTTP client library costs). Each
figure is wall time of ``python -c ...`` from spawn to exit, the two commands run
alternately many times; the ratio is of the medians. Target: at most 1.5x.
``import payplane`` itself imports neither httpx nor any provider's code (a test pins
it); listing providers reads entry-point metadata and imports each provider's small
entry-point module. Run: ``uv run python bench/bench_coldstart.py``.
"""

# A script: it prints its figures.
# ruff: noqa: INP001, T201, S603

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from _harness import Comparison, argument_parser, figure_line, machine, main_guard

PAYPLANE = "import payplane; payplane.Registry().providers()"
HTTPX = "import httpx"
ONLY_PAYPLANE = "import payplane"


def _wall(code: str) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - started


def compare_processes(candidate: str, baseline: str, runs: int) -> Comparison:
    """Run both commands *runs* times each, alternating which goes first."""
    _wall(candidate)  # warm the file cache and the bytecode caches
    _wall(baseline)
    cand: list[float] = []
    base: list[float] = []
    for index in range(runs):
        if index % 2:
            cand.append(_wall(candidate))
            base.append(_wall(baseline))
        else:
            base.append(_wall(baseline))
            cand.append(_wall(candidate))
    return Comparison(cand, base)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print one line per figure."""
    args = argument_parser(__doc__).parse_args(argv)
    runs = 2 if args.quick else 40
    print(machine())
    print(f"cold start: {runs} interleaved process runs each, {sys.executable}")
    for name, candidate, target in (
        ("cold start import payplane + list providers vs import httpx", PAYPLANE, 1.5),
        ("cold start import payplane vs import httpx", ONLY_PAYPLANE, None),
    ):
        comparison = compare_processes(candidate, HTTPX, runs)
        value, base = comparison.value("median")
        print(
            figure_line(
                name,
                value * 1e3,
                base * 1e3,
                unit="ms",
                ratio=statistics.median(comparison.candidate)
                / statistics.median(comparison.baseline),
                target=target,
                note=f"median of interleaved runs; {comparison.spread()}",
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    main_guard(main)
