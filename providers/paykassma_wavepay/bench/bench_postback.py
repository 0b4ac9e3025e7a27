"""Cost of verifying and parsing the seed's deposit postback, against a floor.

The floor is the least any verifier must do with the same body: ``json.loads`` it and run
Paykassma's two hashes (MD5, then SHA-1) over it. Each figure is the minimum over
repeats of the mean time per call (``timeit``), and the ratio to the floor measured in
the same run. A benchmark, not a test: run ``uv run python
providers/paykassma_wavepay/bench/bench_postback.py``.
"""

# A script, not a module; it prints its figures and uses made-up keys.
# ruff: noqa: INP001, T201, S106

from __future__ import annotations

import hashlib
import json
import timeit
from pathlib import Path

from payplane_paykassma_wavepay import WavepayProvider, WavepaySettings

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
NUMBER = 2_000
REPEAT = 7


def _seconds(call: object) -> float:
    times = timeit.repeat(call, number=NUMBER, repeat=REPEAT)  # type: ignore[arg-type]
    return min(times) / NUMBER


def main() -> None:
    """Measure and print one line per figure."""
    vector = json.loads((DATA / "paykassma_vectors.json").read_text())["postback"][0]
    body: bytes = vector["body"].encode()
    settings = WavepaySettings(
        api_host="https://api.example.com",
        pluginapi_secret="bench-plugin-secret",
        withdrawal_private_key="bench-withdrawal-key",
        postback_access_key=vector["access_key"],
        postback_private_key=vector["private_key"],
        plugin_host="https://plugin.example.com",
    )
    provider = WavepayProvider(settings)
    provider.verify_postback(body, {})  # warm up, and fail loudly if it does not verify

    def floor() -> None:
        json.loads(body)
        md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        hashlib.sha1(md5.encode(), usedforsecurity=False).hexdigest()

    def verify_and_parse() -> None:
        provider.verify_postback(body, {})

    def verify_parse_and_read_converted() -> None:
        event = provider.verify_postback(body, {})
        dict(event.raw["converted_amount"])

    base = _seconds(floor)
    print(f"body: {len(body)} bytes, {NUMBER} calls x {REPEAT} repeats, min of repeats")
    print(f"floor (json.loads + md5 + sha1): {base * 1e6:8.1f} us  ratio 1.00")
    for name, call in (
        ("verify_postback (verify + parse)", verify_and_parse),
        ("verify_postback + all converted amounts as Money", verify_parse_and_read_converted),
    ):
        cost = _seconds(call)
        print(f"{name}: {cost * 1e6:8.1f} us  ratio {cost / base:.2f}")


if __name__ == "__main__":
    main()
