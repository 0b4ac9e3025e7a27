"""What a provider hands the contract suite: settings, signed postbacks, recorded answers.

Plain records, no hypothesis and no pytest: a provider's entry-point hook builds them
(lazily) and :mod:`payplane.testing`'s suite checks the provider against them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from payplane._http import HttpResponse
from payplane._models import ActivationRequest, DepositRequest, PostbackKind, WithdrawalRequest
from payplane._money import Money
from payplane._status import MappedStatus, NeutralStatus, StatusMap
from payplane.exceptions import PayplaneError

__all__ = ["ContractSamples", "RecordedAnswer", "SignedPostback", "StatusProbe"]


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _lower_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType({key.lower(): item for key, item in (value or {}).items()})


def _lower_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(name.lower() for name in value)


def _postbacks(values: Iterable[SignedPostback]) -> tuple[SignedPostback, ...]:
    return tuple(values)


def _answers(values: Iterable[RecordedAnswer]) -> tuple[RecordedAnswer, ...]:
    return tuple(values)


def _probes(values: Iterable[StatusProbe]) -> tuple[StatusProbe, ...]:
    return tuple(values)


def _codes(values: Iterable[Hashable]) -> frozenset[Hashable]:
    return frozenset(values)


def _span(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not (isinstance(value, tuple) and len(value) == 2):  # noqa: PLR2004 - a pair
        msg = f"signed_span must be a (start, end) pair of byte offsets, not {value!r}"
        raise TypeError(msg)


@attrs.frozen(kw_only=True)
class SignedPostback:
    """A postback exactly as the provider sends it, signed with the samples' settings.

    The suite checks that it verifies into an event with the expected key, kind and
    amount, and that every change to its signed bytes (or signed headers) is refused.

    Attributes:
        body: The raw body, byte for byte.
        event_key: The :attr:`~payplane.PostbackEvent.event_key` it must verify to.
        kind: Its :class:`~payplane.PostbackKind`.
        headers: The HTTP headers it arrives with (names are compared lower-cased).
        amount: The exact amount the event must carry, when the sample fixes one.
        signed_span: ``(start, end)`` byte offsets of the part of *body* the signature
            covers, for providers that sign one member rather than the whole body.
            ``None`` (the default): the whole body is signed. Outside the span a change
            may verify, but must not change the event key or kind.
        signed_headers: Names of headers the signature lives in or covers; any change
            to one must be refused.
        name: A label used in failure messages.
    """

    body: bytes
    event_key: str
    kind: PostbackKind
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_map)
    amount: Money | None = None
    signed_span: tuple[int, int] | None = attrs.field(default=None, validator=_span)
    signed_headers: frozenset[str] = attrs.field(default=frozenset(), converter=_lower_set)
    name: str = "postback"


Request = DepositRequest | ActivationRequest | WithdrawalRequest
"""A neutral request of one of the three request-building capabilities."""


@attrs.frozen(kw_only=True)
class RecordedAnswer:
    """A valid request, the provider's recorded answer to it, and what it must parse to.

    The request must build (it is the suite's example of a valid request for its
    capability); the answer is handed to the matching ``parse_*`` method.

    Attributes:
        request: A :class:`~payplane.DepositRequest`, :class:`~payplane.ActivationRequest`
            or :class:`~payplane.WithdrawalRequest`; its type selects the capability.
        response: The recorded answer; ``None`` only for a deposit that needs no exchange
            (``build_deposit`` returns ``None``).
        expected: What parsing must give: a neutral status (the activation's outcome or
            the withdrawal's status), an exception class the parse must raise (a
            :class:`~payplane.exceptions.PayplaneError` subclass), or ``None`` for "parses
            without error" (deposits).
        name: A label used in failure messages.
    """

    request: Request
    response: HttpResponse | None
    expected: NeutralStatus | type[PayplaneError] | None = None
    name: str = "answer"


StatusCarrier = Callable[[Any], SignedPostback | RecordedAnswer | MappedStatus[Any]]
"""Puts a raw status code where the provider reads it (see :class:`StatusProbe`)."""


@attrs.frozen(kw_only=True)
class StatusProbe:
    """How to make the provider read a raw status code of its choosing.

    The suite feeds the carrier generated codes outside *known* and checks that none
    reads as success: each must map to the neutral enum's ``UNKNOWN``, or be refused
    with a :class:`~payplane.exceptions.PayplaneError` (an unclassifiable answer, which
    the client reports as an unknown outcome).

    Attributes:
        name: What the code is (``"withdrawal postback status"``), for messages.
        known: The raw codes the provider maps on purpose, compared as
            :meth:`payplane.StatusMap.normalize` compares them.
        carrier: Given a raw code, returns a :class:`SignedPostback` carrying it (the
            suite verifies it and reads the event's status), a :class:`RecordedAnswer`
            carrying it (the suite parses it and reads the result's status), or the
            provider's own mapping of it (a :class:`~payplane.MappedStatus`). The signed
            postback and the answer test the real path; prefer them.
    """

    name: str
    known: frozenset[Hashable] = attrs.field(converter=_codes)
    carrier: StatusCarrier

    @classmethod
    def from_status_map(cls, name: str, status_map: StatusMap[Any]) -> StatusProbe:
        """Probe *status_map* directly: its table's keys are the known codes."""
        return cls(name=name, known=status_map.table.keys(), carrier=status_map.map)


@attrs.frozen(kw_only=True)
class ContractSamples:
    """Everything the contract suite needs from a provider beyond its spec.

    A provider returns it from the
    :func:`~payplane.hookspecs.payplane_contract_samples` hook (or a test passes it to
    :class:`~payplane.testing.ProviderContract`).

    Attributes:
        settings: A settings mapping for :meth:`payplane.ProviderSpec.make_settings`, with
            made-up secrets of 8 characters or more (the suite looks for them in reprs,
            error messages and log records, and shorter ones match by chance).
        postbacks: Signed postbacks (at least one when ``POSTBACKS`` is declared).
        answers: Recorded answers (at least one per declared request capability:
            ``DEPOSITS``, ``ACTIVATION``, ``WITHDRAWALS``).
        status_probes: Where the provider reads status codes (at least one when
            ``ACTIVATION``, ``WITHDRAWALS`` or ``POSTBACKS`` is declared).
    """

    settings: Mapping[str, Any] = attrs.field(converter=_frozen_map)
    postbacks: Sequence[SignedPostback] = attrs.field(default=(), converter=_postbacks)
    answers: Sequence[RecordedAnswer] = attrs.field(default=(), converter=_answers)
    status_probes: Sequence[StatusProbe] = attrs.field(default=(), converter=_probes)
