"""Scaling: cost of verify + parse per postback as its two lists grow.

``converted_amount`` grows from 10 to 10,000 entries (additional_data: the published example's two
transactions), and ``additional_data`` from 1 to 1,000 transactions (converted_amount:
the published example's 184). Each point is the minimum over repeats of the mean time per call. The
figure per series is the cost per added entry over the last decade (1,000 to 10,000
entries; 100 to 1,000 transactions) divided by the cost per added entry over the
decade before: linear work keeps it near 1, a quadratic step would make it about 10.
Target: at most 2. The plot goes to ``docs/_static/scaling.png``.
Run: ``uv run python bench/bench_scaling.py``.
"""

# A script: it prints its figures, and its keys are made up.
# ruff: noqa: INP001, T201

from __future__ import annotations

import json
import timeit
from collections.abc import Mapping, Sequence
from pathlib import Path

from _harness import ROOT, argument_parser, figure_line, machine, main_guard

from payplane import Secret
from payplane_paykassma_wavepay import WavepayProvider, WavepaySettings, postback_signature

DATA = ROOT / "providers" / "paykassma_wavepay" / "tests" / "data"
PLOT = ROOT / "docs" / "_static" / "scaling.png"
ACCESS, PRIVATE = "bench-access-key", "bench-private-key"
CONVERTED_SIZES = (10, 100, 1_000, 10_000)
TRANSACTION_SIZES = (1, 10, 100, 1_000)
TARGET = 2.0


def _php_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _code(index: int) -> str:
    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    text = ""
    while True:
        index, rest = divmod(index, 36)
        text = digits[rest] + text
        if not index:
            break
    return "C" + text.rjust(3, "0")


def body(converted: int | None, transactions: int | None) -> bytes:
    """The published example deposit with *converted* amounts and *transactions* (None: as is)."""
    data = json.loads((DATA / "seed_postback_deposit.json").read_text(encoding="utf-8"))
    if converted is not None:
        amounts = list(data["converted_amount"].values())
        data["converted_amount"] = {_code(i): amounts[i % len(amounts)] for i in range(converted)}
    if transactions is not None:
        template = data["additional_data"][0]
        items = []
        for index in range(transactions):
            item = dict(template)
            item["transaction_id"] = f"T{index:09d}"
            items.append(item)
        data["additional_data"] = items
        # The unsigned top-level amount must agree with the signed entries' sum.
        data["amount"] = sum(int(item["amount"]) for item in items)
    data["access_key"] = ACCESS
    data["signature"] = postback_signature(ACCESS, PRIVATE, _php_json(data["additional_data"]))
    return _php_json(data).encode()


def _cost(provider: WavepayProvider, payload: bytes, budget: float) -> float:
    provider.verify_postback(payload, {})
    once = timeit.timeit(lambda: provider.verify_postback(payload, {}), number=1)
    number = max(1, int(budget / 5 / max(once, 1e-7)))
    times = timeit.repeat(lambda: provider.verify_postback(payload, {}), number=number, repeat=5)
    return min(times) / number


def series(
    provider: WavepayProvider, sizes: Sequence[int], make: object, budget: float
) -> list[float]:
    """Seconds per postback at each size."""
    return [_cost(provider, make(size), budget) for size in sizes]  # type: ignore[operator]


def _growth(sizes: Sequence[int], costs: Sequence[float]) -> tuple[float, float, float]:
    """Cost per added entry over the last decade and the one before, and their ratio."""
    last = (costs[-1] - costs[-2]) / (sizes[-1] - sizes[-2])
    before = (costs[-2] - costs[-3]) / (sizes[-2] - sizes[-3])
    return last, before, last / before


def plot(results: Mapping[str, tuple[Sequence[int], Sequence[float]]], path: Path) -> None:
    """Draw cost per postback against size, log-log, with a linear guide."""
    import matplotlib as mpl  # noqa: PLC0415 - a bench-only dependency

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for axis, (name, (sizes, costs)) in zip(axes, results.items(), strict=True):
        micros = [cost * 1e6 for cost in costs]
        axis.loglog(sizes, micros, "o-", label="verify + parse")
        slope = micros[-1] / sizes[-1]
        axis.loglog(
            sizes,
            [slope * size for size in sizes],
            "--",
            color="grey",
            label="linear through the last point",
        )
        axis.set_xlabel(f"{name} entries")
        axis.set_ylabel("microseconds per postback")
        axis.set_title(f"cost per postback as {name} grows")
        axis.grid(visible=True, which="both", alpha=0.3)
        axis.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print one line per figure, and draw the plot."""
    parser = argument_parser(__doc__)
    parser.add_argument(
        "--plot", type=Path, default=None, help=f"where to save the PNG (default: {PLOT})"
    )
    parser.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    args = parser.parse_args(argv)
    # A quick run's plot means nothing: it replaces the docs' plot only when asked to.
    plot_path = args.plot or (None if args.quick or args.no_plot else PLOT)
    budget = 0.005 if args.quick else 0.4
    converted_sizes = CONVERTED_SIZES[:3] if args.quick else CONVERTED_SIZES
    transaction_sizes = TRANSACTION_SIZES[:3] if args.quick else TRANSACTION_SIZES
    provider = WavepayProvider(
        WavepaySettings(
            api_host="https://api.example.com",
            pluginapi_secret=Secret("bench-plugin-secret"),
            withdrawal_private_key=Secret("bench-withdrawal-key"),
            postback_access_key=Secret(ACCESS),
            postback_private_key=Secret(PRIVATE),
            plugin_host="https://plugin.example.com",
            max_postback_bytes=64 * 1024 * 1024,
        )
    )
    print(machine())
    results = {
        "converted_amount": (
            converted_sizes,
            series(provider, converted_sizes, lambda n: body(n, None), budget),
        ),
        "additional_data": (
            transaction_sizes,
            series(provider, transaction_sizes, lambda n: body(None, n), budget),
        ),
    }
    for name, (sizes, costs) in results.items():
        points = ", ".join(
            f"{size}: {cost * 1e6:.1f} us" for size, cost in zip(sizes, costs, strict=True)
        )
        print(f"scaling {name} per postback: {points}")
        last, before, ratio = _growth(sizes, costs)
        decades = f"{sizes[-2]}-{sizes[-1]} vs {sizes[-3]}-{sizes[-2]}"
        print(
            figure_line(
                f"scaling {name} cost per entry, {decades}",
                last * 1e9,
                before * 1e9,
                unit="ns/entry",
                ratio=ratio,
                target=TARGET,
                note="linear ~1, quadratic ~10; min of 5 repeats per point",
            ),
            flush=True,
        )
    if plot_path is not None:
        plot(results, plot_path)
        print(f"plot: {plot_path}")
    return 0


if __name__ == "__main__":
    main_guard(main)
