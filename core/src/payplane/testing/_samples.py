"""What a provider hands the contract suite: settings, postbacks, answers, templates.

Plain records, no hypothesis and no pytest: a provider's entry-point hook builds them
(lazily) and :mod:`payplane.testing`'s suite checks the provider against them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from payplane._http import HttpResponse
from payplane._models import (
    ActivationRequest,
    DepositRequest,
    LookupRequest,
    PostbackKind,
    RefundRequest,
    WithdrawalRequest,
)
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


def _responses(values: Iterable[HttpResponse]) -> tuple[HttpResponse, ...]:
    return tuple(values)


def _templates(values: Iterable[Request]) -> tuple[Request, ...]:
    templates = tuple(values)
    for template in templates:
        given: object = template
        if not isinstance(given, Request):
            msg = f"a request template must be a neutral request, not {type(given).__name__}"
            raise TypeError(msg)
    return templates


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
        kind: Its :class:`~payplane.PostbackKind`; ``OTHER`` for an event that is not about
            a payment (it must verify to an :class:`~payplane.OtherEvent`).
        headers: The HTTP headers it arrives with (names are compared lower-cased).
            A header outside ``signed_headers`` may be changed or removed without a
            refusal, but never so that the event key or kind changes.
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


Request = DepositRequest | ActivationRequest | WithdrawalRequest | LookupRequest | RefundRequest
"""A neutral request of one of the request-building capabilities."""


@attrs.frozen(kw_only=True)
class RecordedAnswer:
    """A valid request, the provider's recorded answers to it, and what they must lead to.

    The suite runs the request through :class:`payplane.Client` and
    :class:`payplane.AsyncClient` over a transport that gives the recorded answers in
    order, one per request the provider's flow sends: one for a single exchange,
    several for a multi-step operation (a beneficiary, then the payout; a lookup, then
    the refund), none for a deposit that needs no exchange.

    Attributes:
        request: A :class:`~payplane.DepositRequest`, :class:`~payplane.ActivationRequest`,
            :class:`~payplane.WithdrawalRequest`, :class:`~payplane.LookupRequest` or
            :class:`~payplane.RefundRequest`; its type selects the capability. It must
            be valid (the suite's example of a request that builds).
        response: The recorded answer of a single exchange (version 1 samples give it
            so). ``None`` with no ``responses``: the operation needs no exchange.
        responses: The recorded answers of a multi-step operation, in order. Give this
            or ``response``, not both.
        expected: What the operation must give: a neutral status (the activation's
            outcome, the withdrawal's, the lookup's or the refund's status), an
            exception class it must raise (a :class:`~payplane.exceptions.PayplaneError`
            subclass; an :class:`~payplane.exceptions.UnknownOutcomeError` caused by it
            counts too, as the client reports an unclassifiable answer to a money-moving
            request), or ``None`` for "succeeds" (deposits).
        name: A label used in failure messages.
    """

    request: Request
    response: HttpResponse | None = None
    responses: Sequence[HttpResponse] = attrs.field(default=(), converter=_responses)
    expected: NeutralStatus | type[PayplaneError] | None = None
    name: str = "answer"

    def __attrs_post_init__(self) -> None:
        if self.response is not None and self.responses:
            msg = f"RecordedAnswer {self.name!r}: give response or responses, not both"
            raise TypeError(msg)

    @property
    def answers(self) -> tuple[HttpResponse, ...]:
        """The recorded answers, in order (``responses``, else ``response``, else none)."""
        if self.responses:
            return tuple(self.responses)
        return () if self.response is None else (self.response,)


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
            carrying it (the suite runs it through the client and reads the result's
            status), or the
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
            ``DEPOSITS``, ``ACTIVATION``, ``WITHDRAWALS``, ``LOOKUPS``, ``REFUNDS``).
        status_probes: Where the provider reads status codes (at least one when
            ``ACTIVATION``, ``WITHDRAWALS``, ``LOOKUPS``, ``REFUNDS`` or ``POSTBACKS`` is
            declared).
        request_templates: Valid requests the suite varies (amount and currency for
            each currency the provider declares for the capability, fresh references)
            to generate requests that must build. The requests of ``answers`` are
            templates too; give more where a capability has shapes they do not show (a
            payout to a beneficiary beside one to an account number).
    """

    settings: Mapping[str, Any] = attrs.field(converter=_frozen_map)
    postbacks: Sequence[SignedPostback] = attrs.field(default=(), converter=_postbacks)
    answers: Sequence[RecordedAnswer] = attrs.field(default=(), converter=_answers)
    status_probes: Sequence[StatusProbe] = attrs.field(default=(), converter=_probes)
    request_templates: Sequence[Request] = attrs.field(default=(), converter=_templates)

    def templates(self, request_type: type[Any]) -> tuple[Request, ...]:
        """The templates of *request_type*: ``request_templates`` first, then answers'."""
        found: list[Request] = []
        for request in (*self.request_templates, *(a.request for a in self.answers)):
            if type(request) is request_type and request not in found:
                found.append(request)
        return tuple(found)
