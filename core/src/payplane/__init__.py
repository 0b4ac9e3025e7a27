"""payplane: provider-neutral payments over exact money, with providers as plugins.

The public API is what ``__all__`` lists; everything in ``payplane._*`` is private.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from payplane._flow import Flow
from payplane._http import HttpRequest, HttpResponse, PostbackAnswer
from payplane._models import (
    ActivationRequest,
    ActivationResult,
    Beneficiary,
    DepositRequest,
    DepositStart,
    LookupRequest,
    LookupResult,
    OtherEvent,
    PaymentDetails,
    PaymentKind,
    PostbackEvent,
    PostbackKind,
    PostbackTransaction,
    RefundRequest,
    RefundResult,
    WithdrawalRequest,
    WithdrawalResult,
    new_reference,
)
from payplane._money import Currency, Money, iso_currency, to_decimal
from payplane._protocols import (
    ActivationProvider,
    Capability,
    DepositProvider,
    LookupProvider,
    PostbackProvider,
    RefundProvider,
    WithdrawalProvider,
)
from payplane._registry import LoadProblem, PluginLoadWarning, Registry, default_registry
from payplane._secrets import Secret, redact, secret_field, secret_values
from payplane._spec import (
    PLUGIN_API_VERSION,
    SUPPORTED_PLUGIN_API_VERSIONS,
    PluginDeprecationWarning,
    ProviderSpec,
)
from payplane._status import (
    ActivationOutcome,
    DepositStatus,
    MappedStatus,
    NeutralStatus,
    RefundStatus,
    StatusMap,
    WithdrawalStatus,
)

if TYPE_CHECKING:
    from payplane._client import AsyncClient, Client, RetryPolicy
    from payplane._inbox import (
        Backoff,
        Inbox,
        InboxRecord,
        InboxTransaction,
        MemoryStore,
        PostgresStore,
        PruneResult,
        RecordState,
        RejectedPostback,
        SQLiteStore,
        Store,
        WorkSummary,
        postback_app,
    )

__all__ = [
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

# The clients pull in httpx and stamina, the inbox sqlite3, its PostgreSQL store psycopg
# and its ASGI app Starlette: importing them on first use keeps `import payplane` and
# listing providers cheap (see the cold-start benchmark), and the extras optional:
# without one, its names are stand-ins that say which extra to install when used.
# A library's loggers stay silent until the application configures logging (the logging
# HOWTO's advice): no record of payplane's is printed by Python's last-resort handler.
logging.getLogger("payplane").addHandler(logging.NullHandler())

_LAZY = {
    "AsyncClient": "_client",
    "Client": "_client",
    "RetryPolicy": "_client",
    "Backoff": "_inbox",
    "Inbox": "_inbox",
    "InboxRecord": "_inbox",
    "InboxTransaction": "_inbox",
    "MemoryStore": "_inbox",
    "PostgresStore": "_inbox",
    "PruneResult": "_inbox",
    "RecordState": "_inbox",
    "RejectedPostback": "_inbox",
    "SQLiteStore": "_inbox",
    "Store": "_inbox",
    "WorkSummary": "_inbox",
    "postback_app": "_inbox",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'payplane' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"payplane.{module}"), name)
    globals()[name] = value
    return value


def client(
    provider: str,
    settings: object,
    *,
    registry: Registry | None = None,
    **kwargs: Any,  # noqa: ANN401
) -> Client:
    """Return a synchronous :class:`Client` for *provider* configured with *settings*.

    Args:
        provider: A provider id (``"paykassma_wavepay"``).
        settings: The provider's settings instance, or a mapping of its fields.
        registry: Where to look the provider up (default: :func:`default_registry`).
        **kwargs: Passed to :class:`Client`: ``http_client``, ``transport``, ``timeout``,
            ``retry``.

    Raises:
        UnknownProviderError: no such provider is installed (the error lists those that are).
        ConfigurationError: invalid settings; names the field.
    """
    return (registry or default_registry()).client(provider, settings, **kwargs)


def async_client(
    provider: str,
    settings: object,
    *,
    registry: Registry | None = None,
    **kwargs: Any,  # noqa: ANN401
) -> AsyncClient:
    """Return an :class:`AsyncClient` for *provider*; arguments as for :func:`client`."""
    return (registry or default_registry()).async_client(provider, settings, **kwargs)
