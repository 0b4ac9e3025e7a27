"""payplane's conformance kit: strategies, mock transports and the provider contract suite.

For provider authors (and platforms that test against payplane)::

    from payplane.testing import ProviderContract

    class TestContract(ProviderContract):
        provider_id = "acmepay"

or, with nothing to write, ``pytest --payplane-provider=acmepay``. The suite checks a
provider against the :class:`ContractSamples` its plugin returns from the
:func:`~payplane.hookspecs.payplane_contract_samples` hook.

The sample records import nothing beyond payplane, so a provider's hook can build them
cheaply; the strategies and the suite need ``hypothesis`` and ``pytest`` and load on
first use (``import payplane`` never imports them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from payplane.testing._logs import captured_log_records, log_record_texts
from payplane.testing._samples import (
    ContractSamples,
    RecordedAnswer,
    SignedPostback,
    StatusProbe,
)

if TYPE_CHECKING:
    from payplane.testing._checks import Harness, Outcome
    from payplane.testing._contract import ContractSubject, ProviderContract
    from payplane.testing._strategies import (
        activation_requests,
        beneficiaries,
        byte_mutations,
        currency_codes,
        customer_ids,
        deposit_requests,
        http_responses,
        lookup_requests,
        money,
        references,
        refund_requests,
        request_variants,
        status_codes,
        withdrawal_requests,
    )
    from payplane.testing._transports import (
        RecordingTransport,
        failing_transport,
        recorded_transport,
    )

__all__ = [
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

# hypothesis and pytest load with the first name that needs them, not with this package:
# a provider's samples hook imports the records above, in production code paths too.
_LAZY = {
    "ContractSubject": "_contract",
    "Harness": "_checks",
    "Outcome": "_checks",
    "ProviderContract": "_contract",
    "RecordingTransport": "_transports",
    "failing_transport": "_transports",
    "recorded_transport": "_transports",
    **dict.fromkeys(
        [
            "activation_requests",
            "beneficiaries",
            "byte_mutations",
            "currency_codes",
            "customer_ids",
            "deposit_requests",
            "http_responses",
            "lookup_requests",
            "money",
            "references",
            "refund_requests",
            "request_variants",
            "status_codes",
            "withdrawal_requests",
        ],
        "_strategies",
    ),
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whatever the name is bound to
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
