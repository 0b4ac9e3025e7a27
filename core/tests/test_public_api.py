"""The public surface: pinned, sorted, and really exported."""

from __future__ import annotations

import subprocess
import sys

import pytest

import payplane
import payplane.contrib.opentelemetry
import payplane.exceptions
import payplane.hookspecs

EXPECTED = [
    "PLUGIN_API_VERSION",
    "SUPPORTED_PLUGIN_API_VERSIONS",
    "ActivationOutcome",
    "ActivationProvider",
    "ActivationRequest",
    "ActivationResult",
    "AsyncClient",
    "Backoff",
    "Beneficiary",
    "Capability",
    "Client",
    "Currency",
    "DepositProvider",
    "DepositRequest",
    "DepositStart",
    "DepositStatus",
    "Flow",
    "HttpRequest",
    "HttpResponse",
    "Inbox",
    "InboxRecord",
    "InboxTransaction",
    "LoadProblem",
    "LookupProvider",
    "LookupRequest",
    "LookupResult",
    "MappedStatus",
    "MemoryStore",
    "Money",
    "NeutralStatus",
    "OtherEvent",
    "PaymentDetails",
    "PaymentKind",
    "PluginDeprecationWarning",
    "PluginLoadWarning",
    "PostbackAnswer",
    "PostbackEvent",
    "PostbackKind",
    "PostbackProvider",
    "PostbackTransaction",
    "PostgresStore",
    "ProviderSpec",
    "PruneResult",
    "RecordState",
    "RefundProvider",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "Registry",
    "RejectedPostback",
    "RetryPolicy",
    "SQLiteStore",
    "Secret",
    "StatusMap",
    "Store",
    "WithdrawalProvider",
    "WithdrawalRequest",
    "WithdrawalResult",
    "WithdrawalStatus",
    "WorkSummary",
    "async_client",
    "client",
    "default_registry",
    "iso_currency",
    "new_reference",
    "postback_app",
    "redact",
    "secret_field",
    "secret_values",
    "to_decimal",
]


def _isort_style(names: list[str]) -> list[str]:
    """Constants, then classes, then functions, each alphabetical (ruff's RUF022)."""
    return sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the documented API, in sorted order."""
    assert payplane.__all__ == EXPECTED
    assert payplane.__all__ == _isort_style(payplane.__all__)


def test_every_name_is_exported() -> None:
    """Every name in __all__ resolves (the clients lazily)."""
    for module in (payplane, payplane.exceptions, payplane.hookspecs):
        for name in module.__all__:
            assert getattr(module, name) is not None, name


def test_submodule_all_sorted() -> None:
    """The public submodules keep a sorted __all__ too."""
    for module in (payplane.exceptions, payplane.hookspecs, payplane.contrib.opentelemetry):
        assert module.__all__ == _isort_style(module.__all__)


def test_opentelemetry_integration_api_is_pinned() -> None:
    """payplane.contrib.opentelemetry exports exactly its documented names, all resolvable."""
    module = payplane.contrib.opentelemetry
    assert module.__all__ == [
        "INSTRUMENTATION_NAME",
        "METRICS",
        "PLUGIN_NAME",
        "Instrumentation",
        "instrument",
    ]
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_import_and_listing_do_not_import_httpx() -> None:
    """`import payplane` and listing providers stay cheap: no httpx, no provider code."""
    code = (
        "import sys, payplane;"
        "specs = payplane.Registry().providers();"
        "print(sorted(specs), 'httpx' in sys.modules,"
        " 'payplane_paykassma_wavepay._provider' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("]")[1].split() == ["False", "False"]


def test_unknown_attribute() -> None:
    """A missing attribute is an AttributeError, as usual."""
    with pytest.raises(AttributeError, match="NoSuchThing"):
        payplane.NoSuchThing  # noqa: B018
