"""The plugin: spec, entry points, a cheap entry-point module, the public API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import pytest

import payplane
import payplane_razorpay
from payplane import Capability
from payplane_razorpay._contract import FLOW_EXCHANGES, SETTINGS
from payplane_razorpay._currencies import EXPONENTS


def test_spec() -> None:
    """Capabilities, currencies (INR only for payouts), minor units, plugin API."""
    spec = payplane.default_registry().spec("razorpay")
    assert spec.capabilities == {
        Capability.DEPOSITS,
        Capability.WITHDRAWALS,
        Capability.LOOKUPS,
        Capability.REFUNDS,
        Capability.POSTBACKS,
    }
    assert spec.currencies_for(Capability.WITHDRAWALS) == {"INR"}
    assert spec.currencies_for(Capability.DEPOSITS) == set(EXPONENTS) - {"HRK"}
    assert spec.minor_units is True
    assert spec.api_version == payplane.PLUGIN_API_VERSION


def test_currency_table_agrees_with_iso() -> None:
    """Razorpay's exponents equal ISO 4217's for every code both list."""
    for code in sorted(set(EXPONENTS) - {"HRK"}):
        assert payplane.iso_currency(code).exponent == EXPONENTS[code], code


def test_entry_points() -> None:
    """Provider and sandbox are found through their entry-point groups."""
    providers = {ep.name: ep.value for ep in entry_points(group="payplane.providers")}
    sandboxes = {ep.name: ep.value for ep in entry_points(group="payplane.sandboxes")}
    assert providers["razorpay"] == "payplane_razorpay._plugin"
    assert sandboxes["razorpay"] == "payplane_razorpay._sandbox:create_app"


def test_entry_point_module_is_cheap() -> None:
    """Importing the entry-point module imports no implementation module (nor httpx)."""
    code = (
        "import sys, payplane_razorpay._plugin as p; p.payplane_providers();"
        "print(sorted(m for m in sys.modules"
        " if m.startswith('payplane_razorpay.') or m == 'httpx'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['payplane_razorpay._currencies', 'payplane_razorpay._plugin']"


def test_public_api() -> None:
    """__all__ is sorted and every name resolves."""
    names = payplane_razorpay.__all__
    assert names == sorted(names)
    assert all(getattr(payplane_razorpay, name) for name in names)
    assert set(names) <= set(dir(payplane_razorpay))


def test_contract_samples_hook() -> None:
    """The samples hook answers for razorpay only."""
    from payplane_razorpay import _plugin  # noqa: PLC0415

    assert _plugin.payplane_contract_samples("other") is None
    samples = _plugin.payplane_contract_samples("razorpay")
    assert samples.postbacks  # type: ignore[attr-defined]


def test_contract_samples_give_every_flow_step() -> None:
    """Each whole-flow sample reaches the kit as one recorded answer per step, in order."""
    from payplane_razorpay._contract import contract_samples  # noqa: PLC0415

    given = [(a.request, a.answers, a.expected) for a in contract_samples().answers]
    assert given == [(e.request, tuple(e.responses), e.expected) for e in FLOW_EXCHANGES]


def test_contract_flow_exchanges(kit: Any) -> None:
    """Every whole-flow sample runs through the provider and gives what it says."""
    provider = kit.provider(**SETTINGS)
    flows: dict[type, Callable[[Any], Any]] = {
        payplane.DepositRequest: provider.start_deposit,
        payplane.WithdrawalRequest: provider.create_withdrawal,
        payplane.LookupRequest: provider.look_up,
        payplane.RefundRequest: provider.create_refund,
    }
    for exchange in FLOW_EXCHANGES:
        flow = flows[type(exchange.request)](exchange.request)
        expected = exchange.expected
        if isinstance(expected, type):
            with pytest.raises(expected):
                kit.run(flow, exchange.responses)
        else:
            result = kit.run(flow, exchange.responses).result
            if expected is not None:
                assert result.status.status is expected, exchange.name
