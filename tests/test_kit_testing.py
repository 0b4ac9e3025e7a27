"""payplane.testing in-process: its public surface, strategies, transports and plugin."""

from __future__ import annotations

import subprocess
import sys

import httpx
import payplane_fakepsp
import pytest
from hypothesis import given
from hypothesis import strategies as st

import payplane
import payplane.testing
from payplane import HttpResponse, Money, StatusMap, WithdrawalStatus
from payplane.exceptions import UnknownOutcomeError
from payplane.testing import (
    ContractSamples,
    StatusProbe,
    byte_mutations,
    failing_transport,
    money,
    recorded_transport,
    status_codes,
)

EXPECTED = [
    "ContractSamples",
    "ContractSubject",
    "Harness",
    "Outcome",
    "ProviderContract",
    "RecordedAnswer",
    "RecordingTransport",
    "SignedPostback",
    "StatusProbe",
    "activation_requests",
    "beneficiaries",
    "byte_mutations",
    "captured_log_records",
    "currency_codes",
    "customer_ids",
    "deposit_requests",
    "failing_transport",
    "http_responses",
    "log_record_texts",
    "lookup_requests",
    "money",
    "recorded_transport",
    "references",
    "refund_requests",
    "request_variants",
    "status_codes",
    "withdrawal_requests",
]


def test_all_is_pinned_sorted_and_exported() -> None:
    """`payplane.testing.__all__` is what it exports, sorted."""
    assert payplane.testing.__all__ == EXPECTED
    assert sorted(EXPECTED) == EXPECTED
    for name in EXPECTED:
        assert getattr(payplane.testing, name) is not None
    with pytest.raises(AttributeError):
        _ = payplane.testing.nothing_here


def test_import_payplane_and_samples_stay_light() -> None:
    """`import payplane` and the sample records import neither hypothesis nor pytest."""
    code = (
        "import sys, payplane, payplane.hookspecs; "
        "from payplane.testing import ContractSamples, SignedPostback; "
        "print(sorted(m for m in ('hypothesis', 'pytest', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@given(money(["JPY", "USD", "KWD"]))
def test_money_has_at_most_the_minor_unit(amount: Money) -> None:
    """Drawn amounts are positive and have no more places than the currency's minor unit."""
    places = {"JPY": 0, "USD": 2, "KWD": 3}[amount.currency]
    assert amount.amount > 0
    assert -amount.amount.as_tuple().exponent <= places  # type: ignore[operator]


@given(st.data())
def test_byte_mutations_change_only_the_span(data: st.DataObject) -> None:
    """A mutation differs from the body and leaves the bytes outside the span alone."""
    body = b'{"head":1,"signed":[1,2,3],"tail":2}'
    start, end = body.index(b"[1"), body.index(b"]") + 1
    mutated = data.draw(byte_mutations(body, (start, end)))
    assert mutated != body
    assert mutated[:start] == body[:start]
    assert mutated.endswith(body[end:])


@given(status_codes({1, "5"}))
def test_status_codes_avoid_known(code: object) -> None:
    """Generated codes never equal a known one, as StatusMap compares them."""
    assert StatusMap.normalize(code) not in {"1", "5"}


def test_status_probe_from_status_map() -> None:
    """A probe made from a StatusMap knows its keys and maps through it."""
    table = StatusMap(WithdrawalStatus, {1: WithdrawalStatus.SUCCEEDED})
    probe = StatusProbe.from_status_map("code", table)
    assert probe.known == frozenset({"1"})
    assert probe.carrier(7) == table.map(7)


def test_samples_freeze_their_fields() -> None:
    """ContractSamples keeps tuples and a read-only settings mapping."""
    samples = ContractSamples(settings={"key": "value-12345"}, postbacks=[])
    assert samples.postbacks == ()
    with pytest.raises(TypeError):
        samples.settings["key"] = "x"  # type: ignore[index]


def test_recorded_transport_in_order_and_by_route() -> None:
    """Answers come in order, or by 'METHOD /path'; requests are recorded; extras fail."""
    ordered = recorded_transport([HttpResponse(status_code=201, content=b"a")])
    with httpx.Client(transport=ordered) as http:
        assert http.post("https://x.test/a", content=b"body").status_code == 201
        with pytest.raises(LookupError, match="no recorded answer left"):
            http.get("https://x.test/b")
    assert [r.content for r in ordered.requests] == [b"body", b""]
    routed = recorded_transport(
        {"GET /s": [HttpResponse(status_code=202), HttpResponse(status_code=200)]}
    )
    with httpx.Client(transport=routed) as http:
        codes = [http.get("https://x.test/s").status_code for _ in range(3)]
        with pytest.raises(LookupError, match="recorded:"):
            http.get("https://x.test/other")
    assert codes == [202, 200, 200]


def test_failing_transport_gives_unknown_outcome() -> None:
    """Through the client, an activation whose answer is lost is an unknown outcome."""
    registry = payplane.Registry(autoload=False)
    registry.register(payplane_fakepsp, name="fakepsp")
    settings = {
        "base_url": "https://fakepsp.test",
        "api_key": payplane_fakepsp.TEST_API_KEY,
        "webhook_secret": payplane_fakepsp.TEST_WEBHOOK_SECRET,
    }
    transport = failing_transport()
    client = registry.client(
        "fakepsp", settings, transport=transport, retry=payplane.RetryPolicy(attempts=1)
    )
    request = payplane.ActivationRequest(
        customer_id="u1", amount=Money("5.00", "USD"), transaction_id="t1", reference="r-1"
    )
    with client, pytest.raises(UnknownOutcomeError) as info:
        client.activate_deposit(request)
    assert info.value.reference == "r-1"
    assert len(transport.requests) == 1


def test_plugin_option_is_registered(pytestconfig: pytest.Config) -> None:
    """The pytest11 plugin is loaded here too, and without the option collects nothing."""
    assert pytestconfig.pluginmanager.has_plugin("payplane")
    assert pytestconfig.getoption("payplane_providers") == []
    assert not pytestconfig.pluginmanager.has_plugin("payplane-contract")


def test_captured_log_records_sees_debug_and_restores_level() -> None:
    """Every record at every level is captured; the root level is put back after."""
    import logging  # noqa: PLC0415

    root = logging.getLogger()
    before = root.level
    with payplane.testing.captured_log_records() as records:
        logging.getLogger("payplane.example").debug("token=%s", "visible-in-message")
    assert root.level == before
    (record,) = [r for r in records if r.name == "payplane.example"]
    assert "token=visible-in-message" in list(payplane.testing.log_record_texts(record))
