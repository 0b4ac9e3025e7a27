"""Every error payplane raises, in one hierarchy.

::

    PayplaneError                     provider, operation
    ├── ConfigurationError            field: bad settings, unusable plugin setup
    │   ├── UnknownProviderError      installed: the ids that do exist
    │   └── PluginLoadError           a provider plugin failed to load (strict mode)
    ├── ValidationError               field, limit: refused before anything was sent
    ├── CurrencyMismatchError         arithmetic or ordering across two currencies
    ├── UnsupportedCapabilityError    the provider does not offer that operation
    ├── ClientClosedError             the client (or the httpx client it runs on) is closed
    ├── TransportError                retry_safe: the exchange with the provider failed
    │   └── UnknownOutcomeError       reference: money may have moved; check before retrying
    ├── ProviderDeclinedError         message, field_errors: the provider said no
    │   ├── InsufficientFundsError    the merchant balance cannot cover the payout
    │   └── NotFoundError             kind, reference: a lookup found no such payment
    ├── SignatureError                a signature did not verify, or the provider rejected ours
    ├── MalformedPayloadError         a body that cannot be parsed into what it should be
    │   └── PayloadTooLargeError      limit: the body is over the configured size limit
    └── IntegrityError                a well-formed answer that contradicts the request

    RedactedCause                     not a PayplaneError: stands in, in a chain of causes,
                                      for another library's exception (httpx's)

Every exception carries the ``provider`` id and the ``operation`` it happened in when
they are known, and chains its cause (``raise ... from exc``).

No view of an error a client raises shows a secret setting: its message, ``str()``,
``args`` (what ``repr()`` shows), every attribute (``provider_message`` and
``field_errors`` keys and values included) and every exception of its chain of causes
are redacted before it leaves the client. A cause from another library, whose
attributes payplane cannot rewrite (an httpx error holds the request and its URL), is
replaced by a :class:`RedactedCause` with its type, its redacted text and its traceback.
See :doc:`/concepts/secrets`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "ClientClosedError",
    "ConfigurationError",
    "CurrencyMismatchError",
    "InsufficientFundsError",
    "IntegrityError",
    "MalformedPayloadError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PayplaneError",
    "PluginLoadError",
    "ProviderDeclinedError",
    "RedactedCause",
    "SignatureError",
    "TransportError",
    "UnknownOutcomeError",
    "UnknownProviderError",
    "UnsupportedCapabilityError",
    "ValidationError",
]


class PayplaneError(Exception):
    """Base class of every payplane error.

    Attributes:
        message: The human-readable explanation, without provider or operation.
        provider: The provider id involved, or ``None`` when no provider is.
        operation: The operation that failed (``"create_withdrawal"``, ...), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.message = message
        self.provider = provider
        self.operation = operation
        super().__init__(message)

    def __str__(self) -> str:
        """Return ``[provider.operation] message``, or the message alone."""
        where = ".".join(part for part in (self.provider, self.operation) if part)
        return f"[{where}] {self.message}" if where else self.message


class ConfigurationError(PayplaneError):
    """Settings or plugin setup that payplane cannot work with.

    Attributes:
        field: The settings field at fault, or ``None`` when the problem is not one field's.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        provider: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.field = field
        super().__init__(message, provider=provider, operation=operation)


class UnknownProviderError(ConfigurationError):
    """No installed provider has the requested id.

    Attributes:
        installed: The ids of the providers that are installed and loaded, sorted.
    """

    def __init__(self, provider: str, installed: Sequence[str]) -> None:
        self.installed = tuple(sorted(installed))
        listed = ", ".join(self.installed) if self.installed else "none"
        super().__init__(
            f"no provider {provider!r} is installed; installed providers: {listed}",
            provider=provider,
        )


class PluginLoadError(ConfigurationError):
    """A provider plugin could not be loaded (raised instead of a warning in strict mode).

    Attributes:
        entry_point: The entry point's name.
        reason: Why it was skipped.
    """

    def __init__(self, entry_point: str, reason: str) -> None:
        self.entry_point = entry_point
        self.reason = reason
        super().__init__(f"provider plugin {entry_point!r} was not loaded: {reason}")


class ValidationError(PayplaneError, ValueError):
    """Input refused before anything was sent.

    Attributes:
        field: The offending field's name (``"account_number"``).
        limit: The rule it broke, in words (``"10-11 digits"``), or ``None``.
    """

    def __init__(
        self,
        field: str,
        message: str,
        *,
        limit: str | None = None,
        provider: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.field = field
        self.limit = limit
        super().__init__(f"{field}: {message}", provider=provider, operation=operation)


class CurrencyMismatchError(PayplaneError, TypeError):
    """Two amounts in different currencies were added, subtracted or ordered."""


class UnsupportedCapabilityError(PayplaneError):
    """The provider does not offer the requested operation.

    Attributes:
        capability: The capability that is missing.
    """

    def __init__(self, provider: str, capability: str) -> None:
        self.capability = capability
        super().__init__(
            f"provider {provider!r} does not support {capability}",
            provider=provider,
            operation=capability,
        )


class ClientClosedError(PayplaneError, RuntimeError):
    """The client was closed, or the httpx client passed to it was.

    Raised before anything is sent, by any call that needs an HTTP exchange; postback
    verification and a hosted page URL need none and keep working. A ``RuntimeError`` too,
    as httpx's own closed-client error is.
    """


class TransportError(PayplaneError):
    """The HTTP exchange with the provider failed.

    Attributes:
        retry_safe: ``True`` when sending the same request again cannot repeat an effect
            (the connection was never made, or the operation is replay-safe).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_safe: bool,
        provider: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.retry_safe = retry_safe
        super().__init__(message, provider=provider, operation=operation)


class UnknownOutcomeError(TransportError):
    """A money-moving request was sent, but its answer was lost or cannot be classified.

    The payment may or may not have happened. Never treat this as a failure: look the
    operation up by ``reference`` (or wait for the provider's postback) before doing
    anything else. Retrying with the *same* reference is the only safe retry.

    Attributes:
        reference: The caller's reference of the operation (a withdrawal id, a custom
            transaction id), to look it up with the provider.
    """

    def __init__(
        self,
        message: str,
        *,
        reference: str | None,
        provider: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.reference = reference
        suffix = f" (reference {reference!r})" if reference else ""
        super().__init__(
            f"outcome unknown: {message}{suffix}",
            retry_safe=False,
            provider=provider,
            operation=operation,
        )


class ProviderDeclinedError(PayplaneError):
    """The provider understood the request and declined it.

    Attributes:
        provider_message: The provider's message text, as sent (for a per-field map, the
            messages joined).
        field_errors: The provider's per-field messages (field -> messages); empty when
            the provider sent a plain message.
    """

    def __init__(
        self,
        provider_message: str,
        *,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        provider: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.provider_message = provider_message
        self.field_errors: Mapping[str, tuple[str, ...]] = {
            key: tuple(value) for key, value in (field_errors or {}).items()
        }
        super().__init__(
            f"declined by the provider: {provider_message}",
            provider=provider,
            operation=operation,
        )


class InsufficientFundsError(ProviderDeclinedError):
    """The merchant's balance cannot cover this payout plus those still unfinished."""


class NotFoundError(ProviderDeclinedError):
    """The provider knows no deposit, withdrawal or refund by that reference or id.

    After an :class:`UnknownOutcomeError`, "not found" suggests the operation never
    reached the provider; providers that record operations late (RazorpayX advises
    waiting up to an hour for a payout) say on their page how long to keep looking.

    Attributes:
        kind: What was looked up (``"deposit"``, ``"withdrawal"``, ``"refund"``).
        reference: The reference or id looked up.
    """

    def __init__(
        self,
        provider_message: str,
        *,
        kind: str,
        reference: str | None,
        provider: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.kind = kind
        self.reference = reference
        super().__init__(provider_message, provider=provider, operation=operation)


class SignatureError(PayplaneError):
    """A signature did not verify, or the provider rejected the signature payplane sent.

    The second case almost always means a wrong private key in the settings.
    """


class MalformedPayloadError(PayplaneError):
    """A body that cannot be parsed into what it should be (bad JSON, missing fields...)."""


class PayloadTooLargeError(MalformedPayloadError):
    """A body over the configured size limit.

    Attributes:
        limit: The limit in bytes.
        size: The body's size in bytes.
    """

    def __init__(
        self,
        size: int,
        limit: int,
        *,
        provider: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"body of {size} bytes is over the limit of {limit} bytes",
            provider=provider,
            operation=operation,
        )


class IntegrityError(PayplaneError):
    """A well-formed answer that contradicts the request (another currency, say)."""


class RedactedCause(Exception):  # noqa: N818 - named for what it is, not an error of its own
    """Stands in, in the chain of a payplane error, for another library's exception.

    An httpx error keeps the request it failed on, whose URL may hold a secret (Paykassma
    sends its API secret as ``?secret=``). payplane cannot rewrite such an object, so a
    client puts this in its place: the traceback shows the original type, its text with
    every secret redacted, and its frames.

    Attributes:
        original_type: The class of the exception it replaces (``httpx.ReadTimeout``):
            ``issubclass(cause.original_type, httpx.TimeoutException)`` asks what
            ``isinstance`` asked of the original.
    """

    def __init__(self, description: str, *, original_type: type[BaseException]) -> None:
        self.original_type = original_type
        super().__init__(description)
