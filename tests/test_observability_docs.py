"""docs/howto/observability.md shows what the in-memory exporter captured: checked here.

The guide's span listing is the rendering of the spans its snippet records, and its
metrics table names every metric payplane.contrib.opentelemetry records, with its unit.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import payplane_storm as storm
import pytest
from payplane_otelkit import Telemetry, render

import payplane
import payplane.contrib.opentelemetry as otel

DOCS = Path(__file__).resolve().parents[1] / "docs"
GUIDE = DOCS / "howto" / "observability.md"
FAST = payplane.RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
SETTINGS = {
    "api_host": "https://api.paykassma.example",
    "plugin_host": "https://plugin.paykassma.example",
    "pluginapi_secret": "docs-plugin-api-secret",
    "withdrawal_private_key": "docs-withdrawal-key",
    "postback_access_key": "docs-access-key",
    "postback_private_key": "docs-private-key",
}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"docs_snippet_{name}", DOCS / "snippets" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def block(name: str) -> str:
    """The text between ``% begin NAME`` and ``% end NAME`` in the guide, fences removed."""
    text = GUIDE.read_text()
    match = re.search(
        rf"^% begin {name}\n```text\n(.*?)\n```\n% end {name}$", text, re.MULTILINE | re.DOTALL
    )
    assert match is not None, f"no {name} block in {GUIDE}"
    return match.group(1)


@pytest.fixture
def telemetry() -> Iterator[tuple[payplane.Registry, Telemetry]]:
    registry = payplane.Registry()
    telemetry = Telemetry()
    instrumentation = otel.instrument(
        registry, tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    yield registry, telemetry
    instrumentation.uninstrument()
    telemetry.shutdown()


def paykassma(request: httpx.Request, answered: list[str]) -> httpx.Response:
    """Paykassma, as far as the snippet needs it: wallet details (a 503 first), payouts."""
    answered.append(request.url.path)
    if request.url.path.startswith("/api/v1/transaction/create/"):
        if answered.count(request.url.path) == 1:
            return httpx.Response(503, text="Service Unavailable")
        return httpx.Response(200, json={"status": "ok", "params": {"identifier": "09420000000"}})
    sent = json.loads(request.content)
    echo = {key: sent[key] for key in ("withdrawal_id", "amount", "currency_code", "label")}
    return httpx.Response(200, json={"status": "ok", **echo})


def test_the_span_listing_is_what_the_snippet_records(
    telemetry: tuple[payplane.Registry, Telemetry],
) -> None:
    """The guide's listing of client spans equals what the exporter captured."""
    registry, captured = telemetry
    answered: list[str] = []
    transport = httpx.MockTransport(lambda request: paykassma(request, answered))
    with registry.client("paykassma_wavepay", SETTINGS, transport=transport, retry=FAST) as client:
        _load("observability").take_and_pay(client)
    assert render(captured) == block("client-spans")


def test_the_inbox_listing_is_what_deliveries_record(tmp_path: Path) -> None:
    """The guide's listing of inbox spans: a new postback, its repeat, a forged one, as the
    guide's own inbox (docs/snippets/inbox_setup.py) records them."""
    telemetry = Telemetry()
    instrumentation = otel.instrument(tracer_provider=telemetry.tracer_provider)
    inbox = _load("inbox_setup").make_inbox(str(tmp_path / "app.sqlite3"), storm.SETTINGS)
    try:
        body = storm.postback(1)
        inbox.receive("paykassma_wavepay", body)
        inbox.receive("paykassma_wavepay", body)
        inbox.receive("paykassma_wavepay", body.replace(b"TX00000001", b"TX00000002"))
    finally:
        inbox.store.close()
        instrumentation.uninstrument()
    try:
        assert render(telemetry) == block("inbox-spans")
    finally:
        telemetry.shutdown()


def test_the_metrics_table_lists_every_metric() -> None:
    """Each row of the guide's metrics table is a metric recorded, with its kind and unit."""
    text = GUIDE.read_text()
    rows = re.findall(r"^\| `([a-z_.]+)` \| (\w+) \| `([^`]+)` \|", text, re.MULTILINE)
    assert {name: (kind, unit) for name, kind, unit in rows} == {
        name: (kind, unit) for name, (kind, unit, _description) in otel.METRICS.items()
    }
