"""The checks behind the contract suite: running a provider and judging what it does.

Operations run through the real :class:`~payplane.Client` and
:class:`~payplane.AsyncClient` (the :class:`Harness`), over a transport that answers
from a script of recorded answers and stops the run when the script is spent; a
hook observer records each request as the provider described it (moves money?
replay-safe? which reference?), redacted as every hook sees it.

Private: :class:`~payplane.testing.ProviderContract` is the public face.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NoReturn
from urllib.parse import parse_qsl, urlsplit

import attrs
import httpx
import hypothesis
import pluggy
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st

from payplane import hookspecs
from payplane._client import AsyncClient, Client, RetryPolicy
from payplane._currencies import ISO_4217_EXPONENTS
from payplane._http import HttpRequest, HttpResponse
from payplane._models import (
    ActivationRequest,
    ActivationResult,
    DepositRequest,
    DepositStart,
    LookupRequest,
    LookupResult,
    OtherEvent,
    PaymentKind,
    PostbackEvent,
    RefundRequest,
    RefundResult,
    WithdrawalRequest,
    WithdrawalResult,
)
from payplane._money import Money
from payplane._protocols import V1_PROTOCOLS, Capability
from payplane._registry import Registry
from payplane._secrets import secret_values
from payplane._spec import ProviderSpec
from payplane.exceptions import (
    ConfigurationError,
    MalformedPayloadError,
    PayplaneError,
    SignatureError,
    UnknownOutcomeError,
    ValidationError,
)
from payplane.testing._samples import ContractSamples, RecordedAnswer, SignedPostback

__all__ = [
    "BY_CAPABILITY",
    "LOGGER",
    "MIN_SECRET",
    "MONEY_CAPABILITIES",
    "OPERATIONS",
    "ContractSubject",
    "Harness",
    "Operation",
    "Outcome",
    "Request",
    "amount_forms",
    "carries_exactly",
    "check_answer",
    "check_no_secret",
    "check_requests",
    "currencies",
    "example_request",
    "exception_texts",
    "expect_refused",
    "fail",
    "read_status",
    "run_examples",
    "status_of",
    "unexpected",
    "verify",
    "with_amount",
]

_SETTINGS = hypothesis.settings(deadline=None, suppress_health_check=list(HealthCheck))
MIN_SECRET = 8
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
LOGGER = logging.getLogger("payplane.testing")
# One attempt per request: a scripted answer is used once, and retries are the client's
# business (its own tests cover them).
_NO_RETRY = RetryPolicy(attempts=1)

Request = DepositRequest | ActivationRequest | WithdrawalRequest | LookupRequest | RefundRequest
Mode = Literal["sync", "async"]


@attrs.frozen
class Operation:
    """A request-building capability as the suite drives it.

    Attributes:
        capability: The capability.
        method: The client method, and the provider's (plugin API 2) flow method.
        v1: The ``build_x``/``parse_x`` names of plugin API 1, for messages.
        moves_money: Whether one of its requests must move money.
    """

    capability: Capability
    method: str
    v1: tuple[str, ...]
    moves_money: bool


OPERATIONS: dict[type[Any], Operation] = {
    DepositRequest: Operation(
        Capability.DEPOSITS,
        "start_deposit",
        ("build_deposit", "parse_deposit"),
        moves_money=False,
    ),
    ActivationRequest: Operation(
        Capability.ACTIVATION,
        "activate_deposit",
        ("build_activation", "parse_activation"),
        moves_money=True,
    ),
    WithdrawalRequest: Operation(
        Capability.WITHDRAWALS,
        "create_withdrawal",
        ("build_withdrawal", "parse_withdrawal"),
        moves_money=True,
    ),
    LookupRequest: Operation(Capability.LOOKUPS, "look_up", (), moves_money=False),
    RefundRequest: Operation(Capability.REFUNDS, "create_refund", (), moves_money=True),
}
BY_CAPABILITY = {op.capability: (cls, op) for cls, op in OPERATIONS.items()}
MONEY_CAPABILITIES = (
    Capability.DEPOSITS,
    Capability.ACTIVATION,
    Capability.WITHDRAWALS,
    Capability.REFUNDS,
)
"""The capabilities whose requests carry amounts."""


def fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def run_examples(strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> None:
    """Run *check* on examples of *strategy* (the active hypothesis profile's count)."""

    @_SETTINGS
    @hypothesis.given(strategy)
    def run(value: Any) -> None:  # noqa: ANN401 - whatever the strategy draws
        check(value)

    run()


@attrs.frozen(kw_only=True)
class ContractSubject:
    """The provider under test, as the suite sees it.

    Attributes:
        spec: Its :class:`~payplane.ProviderSpec`.
        settings: Its settings instance, made from the samples' settings.
        provider: The provider object as payplane's clients drive it (a plugin API 1
            object seen through the version-2 protocols).
        samples: The :class:`~payplane.testing.ContractSamples` it is checked with.
        registry: The registry it was found in.
        raw_provider: The object its factory built (``provider`` unless adapted).
        api_version: The plugin API its object implements: the declared version, or 1
            for an object with version 1's ``build_x``/``parse_x`` methods.
    """

    spec: ProviderSpec
    settings: object
    provider: object
    samples: ContractSamples
    registry: Registry
    raw_provider: object = attrs.field(
        default=attrs.Factory(lambda self: self.provider, takes_self=True)
    )
    api_version: int = attrs.field(
        default=attrs.Factory(lambda self: self.spec.api_version, takes_self=True)
    )

    @property
    def id(self) -> str:
        """The provider id."""
        return self.spec.id

    @property
    def secrets(self) -> frozenset[str]:
        """The secret setting values long enough to look for in texts."""
        return frozenset(s for s in secret_values(self.settings) if len(s) >= MIN_SECRET)

    def protocol(self, capability: Capability) -> type:
        """The protocol its object must implement for *capability*."""
        if self.api_version == 1:
            return V1_PROTOCOLS.get(capability, capability.protocol)
        return capability.protocol

    def fix(self, capability: Capability, method: str) -> str:
        """How to fix a missing or stub *method* of *capability*."""
        return (
            f"implement {self.protocol(capability).__name__}.{method}, or drop "
            f"Capability.{capability.name} from the ProviderSpec of {self.id!r}"
        )

    def call(self, capability: Capability, method: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        """Call *method* of the provider; a missing or stub method fails with a fix."""
        bound = getattr(self.provider, method, None)
        if bound is None:
            fail(
                f"{self.id!r} declares {capability.value} but its provider object has no "
                f"{method}(): {self.fix(capability, method)}"
            )
        stub: NotImplementedError | None = None
        try:
            return bound(*args, **kwargs)
        except NotImplementedError as exc:
            stub = exc  # failed below, outside the handler: no chained traceback
        return stub_found(self, capability, method, stub)

    def templates(self, capability: Capability) -> tuple[Request, ...]:
        """Valid requests of *capability*: the samples' templates, else a made-up one."""
        request_type, _op = BY_CAPABILITY[capability]
        found = self.samples.templates(request_type)
        if found:
            return found
        return (example_request(request_type, min(currencies(self, capability), default="USD")),)

    def answers_for(self, request: Request) -> tuple[HttpResponse, ...]:
        """The recorded answers of *request*'s first successful sample, if any."""
        for answer in self.samples.answers:
            if answer.request == request and not isinstance(answer.expected, type):
                return answer.answers
        for answer in self.samples.answers:
            if answer.request == request:
                return answer.answers
        return ()


def stub_found(
    subject: ContractSubject, capability: Capability, method: str, exc: BaseException
) -> NoReturn:
    """Fail for a stub: name the method that raised NotImplementedError, and the fix."""
    frames = traceback.extract_tb(exc.__traceback__)
    raised_in = frames[-1].name if frames else method
    fail(
        f"{subject.id!r} declares {capability.value} but {raised_in}() raised "
        f"NotImplementedError: {subject.fix(capability, method)}"
    )


def currencies(subject: ContractSubject, capability: Capability) -> list[str]:
    """The ISO 4217 codes with a minor unit that *subject* declares for *capability*."""
    declared = subject.spec.currencies_for(capability)
    return sorted(code for code in declared if ISO_4217_EXPONENTS.get(code) is not None)


# -- running operations through the clients ------------------------------------------


class _Stop(Exception):  # noqa: N818 - a signal, not an error
    """The script has no answer left: the suite stops the run at this request."""


Scripted = HttpResponse | type[httpx.TransportError]
"""A scripted answer: a response, or an httpx error raised after the request left."""


@attrs.frozen(kw_only=True)
class Outcome:
    """What one operation did through a client.

    Attributes:
        request: The neutral request.
        requests: The requests the provider's flow had sent, as hooks see them (secrets
            redacted), in order.
        result: The operation's result, when it returned one.
        error: What it raised (a payplane error, or a provider's bug), if anything.
        stopped: The script ran out: the flow wanted another answer.
    """

    request: Request
    requests: tuple[HttpRequest, ...]
    result: object = None
    error: Exception | None = None
    stopped: bool = False

    @property
    def built(self) -> bool:
        """Not refused, and the flow got as far as a request or a result."""
        return not self.refused and (bool(self.requests) or self.error is None)

    @property
    def refused(self) -> bool:
        """A ValidationError ended the run (before or between its requests)."""
        return isinstance(self.error, ValidationError)


class _Observer:
    """Keeps what the ``payplane_request_sent`` hook sees."""

    def __init__(self, sent: list[HttpRequest]) -> None:
        self.sent = sent

    @hookspecs.hookimpl
    def payplane_request_sent(self, request: HttpRequest) -> None:
        self.sent.append(request)


class Harness:
    """The subject's :class:`~payplane.Client` and :class:`~payplane.AsyncClient`, scripted.

    Each :meth:`run` answers the requests of the provider's flow from a script, in
    order, and returns an :class:`Outcome`: the requests as the provider described them
    (flags included, secrets redacted, as hooks see them), and the result or the error.
    A request beyond the script stops the run (``Outcome.stopped``), so a script of no
    answers checks that a request builds without parsing anything. A script entry may be
    an ``httpx`` error class instead of a response: the answer lost after the request
    left. Each request is attempted once (no retries: the client's tests cover them).
    A stub method (``NotImplementedError``) fails the test, naming the method.

    Args:
        subject: The provider under test (the ``payplane_subject`` fixture).
    """

    def __init__(self, subject: ContractSubject) -> None:
        self.subject = subject
        self._script: deque[Scripted] = deque()
        self._sent: list[HttpRequest] = []
        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        manager.register(_Observer(self._sent))
        self._hooks = manager.hook
        self._transport = httpx.MockTransport(self._answer)
        try:
            self.client = self._make(Client)
        except ConfigurationError as exc:
            fail(f"{subject.id}: payplane.Client refuses the provider object: {exc}")

    def _make(self, cls: type[Any]) -> Any:  # noqa: ANN401 - a Client or an AsyncClient
        subject = self.subject
        return cls(
            subject.spec,
            subject.settings,
            subject.provider,
            hooks=self._hooks,
            transport=self._transport,
            retry=_NO_RETRY,
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if not self._script:
            raise _Stop
        answer = self._script.popleft()
        if isinstance(answer, HttpResponse):
            return httpx.Response(
                answer.status_code, headers=dict(answer.headers), content=answer.content
            )
        msg = f"{answer.__name__} (simulated by payplane.testing)"
        raise answer(msg, request=request)

    def close(self) -> None:
        """Close the sync client."""
        self.client.close()

    def run(
        self, request: Request, script: Iterable[Scripted] = (), *, mode: Mode = "sync"
    ) -> Outcome:
        """Run *request*'s operation through the sync or the async client over *script*."""
        op = OPERATIONS[type(request)]
        self._script = deque(script)
        self._sent.clear()
        result: object = None
        error: Exception | None = None
        stopped = False
        stub: NotImplementedError | None = None
        try:
            if mode == "sync":
                result = getattr(self.client, op.method)(request)
            else:
                result = asyncio.run(self._run_async(op.method, request))
        except _Stop:
            stopped = True
        except NotImplementedError as exc:
            stub = exc
        except Exception as exc:  # noqa: BLE001 - judged by the caller
            error = exc
        if stub is not None:
            stub_found(self.subject, op.capability, op.method, stub)
        return Outcome(
            request=request, requests=tuple(self._sent), result=result, error=error, stopped=stopped
        )

    async def _run_async(self, method: str, request: Request) -> object:
        async with self._make(AsyncClient) as client:
            result: object = await getattr(client, method)(request)
            return result


# -- judging requests ------------------------------------------------------------------


def check_requests(subject: ContractSubject, outcome: Outcome, *, whole: bool) -> None:
    """Every request of *outcome* is well formed; money-moving ones are flagged.

    *whole*: the run went through the whole operation (recorded answers), so an
    operation that moves money must have sent a request saying ``moves_money=True``.
    """
    op = OPERATIONS[type(outcome.request)]
    problems: list[str] = []
    for index, built in enumerate(outcome.requests, start=1):
        where = f"request {index} ({built.method} {_path(built.url)})"
        if not built.operation:
            problems.append(f"{where}: operation is empty (name it: 'create_withdrawal', ...)")
        if built.method not in _METHODS:
            problems.append(f"{where}: method {built.method!r} is not one of {sorted(_METHODS)}")
        url = urlsplit(built.url)
        if url.scheme not in {"http", "https"} or not url.hostname:
            problems.append(f"{where}: url is not an absolute http(s) URL")
        reference = getattr(outcome.request, "reference", None)
        if built.moves_money and op.moves_money and built.reference != reference:
            problems.append(
                f"{where}: reference is not the request's reference: pass "
                "reference=request.reference (an UnknownOutcomeError carries it, so the "
                "platform can look the payment up)"
            )
    if whole and op.moves_money and not any(r.moves_money for r in outcome.requests):
        problems.append(
            "no request says moves_money=True: the request that moves money must (the "
            "client then reports a lost answer as an unknown outcome, not a failure)"
        )
    if problems:
        fail(f"{subject.id}: {op.method}() sent bad requests: " + "; ".join(problems))


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _numbers(value: object) -> Iterator[Decimal]:
    """The numbers in a JSON value or text: ints, decimals, floats and numeric strings."""
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        yield Decimal(value)
    elif isinstance(value, float):
        yield Decimal(repr(value))
    elif isinstance(value, str):
        with contextlib.suppress(InvalidOperation):
            number = Decimal(value.strip())
            if number.is_finite():
                yield number


def amount_forms(request: HttpRequest | str) -> list[Decimal]:
    """Every number (or numeric string) a request carries: JSON body, form body, query."""
    url = request if isinstance(request, str) else request.url
    values: list[object] = [value for _key, value in parse_qsl(urlsplit(url).query)]
    if isinstance(request, HttpRequest) and request.content:
        try:
            values.append(json.loads(request.content, parse_float=Decimal))
        except ValueError:
            text = request.content.decode(errors="replace")
            values.extend(value for _key, value in parse_qsl(text))
    return list(_numbers(values))


def carries_exactly(forms: list[Decimal], amount: Money) -> bool:
    exponent = ISO_4217_EXPONENTS.get(amount.currency) or 0
    minor = amount.amount.scaleb(exponent)
    wanted = {amount.amount} | ({minor} if minor == minor.to_integral_value() else set())
    return any(form in wanted for form in forms)


def with_amount(template: Request, amount: Money) -> Request:
    """*template* asking for *amount* (a deposit moves to its currency)."""
    if isinstance(template, DepositRequest):
        return attrs.evolve(template, amount=amount, currency=amount.currency)
    if isinstance(template, RefundRequest):
        deposit_amount = None if template.deposit_amount is None else amount
        return attrs.evolve(template, amount=amount, deposit_amount=deposit_amount)
    if isinstance(template, LookupRequest):
        return template
    return attrs.evolve(template, amount=amount)


# -- postbacks -------------------------------------------------------------------------


def verify(
    subject: ContractSubject, body: bytes, headers: Mapping[str, str]
) -> PostbackEvent | OtherEvent:
    result = subject.call(Capability.POSTBACKS, "verify_postback", body, headers)
    if not isinstance(result, PostbackEvent | OtherEvent):
        fail(
            f"{subject.id}: verify_postback() returned {type(result).__name__}, not a "
            "payplane.PostbackEvent (or an OtherEvent for what is not about a payment)"
        )
    return result


def expect_refused(
    subject: ContractSubject,
    sample: SignedPostback,
    body: bytes,
    headers: Mapping[str, str],
    change: str,
) -> None:
    try:
        verify(subject, body, headers)
    except (SignatureError, MalformedPayloadError):
        return
    except Exception as exc:  # noqa: BLE001 - the finding
        unexpected(subject, "verify_postback", exc, headers)
    fail(
        f"{subject.id}: postback {sample.name!r} still verified with headers changed "
        f"({change}): check the signature header with hmac.compare_digest and refuse "
        "a missing one with SignatureError"
    )


# -- statuses and results --------------------------------------------------------------


def status_of(result: object) -> Any:  # noqa: ANN401 - a NeutralStatus member or None
    from payplane._status import MappedStatus  # noqa: PLC0415 - beside its only use

    if isinstance(result, ActivationResult):
        return result.outcome.status
    if isinstance(result, WithdrawalResult | PostbackEvent | LookupResult | RefundResult):
        return result.status.status
    if isinstance(result, MappedStatus):
        return result.status
    return None


def read_status(harness: Harness, carried: object) -> Any:  # noqa: ANN401 - a status or None
    from payplane._status import MappedStatus  # noqa: PLC0415

    subject = harness.subject
    if isinstance(carried, SignedPostback):
        return status_of(verify(subject, carried.body, carried.headers))
    if isinstance(carried, RecordedAnswer):
        outcome = harness.run(carried.request, carried.answers)
        if outcome.error is not None:
            raise outcome.error
        return status_of(outcome.result)
    if isinstance(carried, MappedStatus):
        return status_of(carried)
    fail(
        f"{subject.id}: a status probe's carrier returned {type(carried).__name__}; return "
        "a SignedPostback, a RecordedAnswer or a MappedStatus"
    )


def _result_problems(subject: ContractSubject, request: Request, result: object) -> Iterator[str]:
    expected_type = {
        DepositRequest: DepositStart,
        ActivationRequest: ActivationResult,
        WithdrawalRequest: WithdrawalResult,
        LookupRequest: LookupResult,
        RefundRequest: RefundResult,
    }[type(request)]
    if not isinstance(result, expected_type):
        yield f"it returned {type(result).__name__}, not a {expected_type.__name__}"
        return
    if getattr(result, "provider", None) != subject.id:
        yield f"provider is {getattr(result, 'provider', None)!r}, not {subject.id!r}"
    if isinstance(result, DepositStart) and result.customer_id != getattr(
        request, "customer_id", None
    ):
        yield "customer_id differs from the request's"
    if isinstance(result, ActivationResult | WithdrawalResult | RefundResult) and (
        result.reference != getattr(request, "reference", None)
    ):
        yield f"reference is {result.reference!r}, not the request's"
    if (
        isinstance(result, LookupResult)
        and isinstance(request, LookupRequest)
        and result.kind is not request.kind
    ):
        yield f"kind is {result.kind}, not the request's {request.kind}"


def matches(error: BaseException, expected: type[PayplaneError]) -> bool:
    """*error* is *expected*, or an unknown outcome caused by it."""
    if isinstance(error, expected):
        return True
    return isinstance(error, UnknownOutcomeError) and isinstance(error.__cause__, expected)


def check_answer(harness: Harness, answer: RecordedAnswer, *, mode: Mode = "sync") -> Outcome:
    """Run *answer* through a client; it gives what the samples expect."""
    subject = harness.subject
    op = OPERATIONS[type(answer.request)]
    expected = answer.expected
    where = f"{subject.id}: answer {answer.name!r} ({op.method}, {mode} client)"
    outcome = harness.run(answer.request, answer.answers, mode=mode)
    if outcome.stopped:
        fail(
            f"{where}: the flow sent {len(outcome.requests)} requests, the sample records "
            f"{len(answer.answers)} answers: record one answer per request, in order"
        )
    error = outcome.error
    if error is not None:
        if not isinstance(error, PayplaneError):
            unexpected(subject, op.method, error, answer.answers)
        if isinstance(expected, type) and matches(error, expected):
            return outcome
        fail(f"{where} raised {type(error).__name__}: {error}; expected {_describe(expected)}")
    if isinstance(expected, type):
        fail(f"{where} gave {outcome.result!r}; expected {expected.__name__} to be raised")
    problems = list(_result_problems(subject, answer.request, outcome.result))
    status = status_of(outcome.result)
    if expected is not None and status is not expected:
        problems.append(f"status is {status}, expected {expected}")
    if problems:
        fail(f"{where}: " + "; ".join(problems))
    return outcome


def _describe(expected: object) -> str:
    if expected is None:
        return "a result"
    if isinstance(expected, type):
        return f"{expected.__name__} to be raised"
    return str(expected)


def example_request(request_type: type[Any], currency: str) -> Request:
    """A plain valid request of *request_type* in *currency*."""
    amount = Money(100, currency)
    if request_type is DepositRequest:
        return DepositRequest(customer_id="contract-customer", currency=currency, amount=amount)
    if request_type is ActivationRequest:
        return ActivationRequest(
            customer_id="contract-customer", amount=amount, transaction_id="1234567890"
        )
    if request_type is LookupRequest:
        return LookupRequest(kind=PaymentKind.DEPOSIT, reference="contract-deposit-1")
    if request_type is RefundRequest:
        return RefundRequest(
            deposit_reference="contract-deposit-1", amount=amount, deposit_amount=amount
        )
    return WithdrawalRequest(
        customer_id="contract-customer",
        amount=amount,
        account_number="01234567890",
        account_email="contract@example.com",
    )


# -- secrets ---------------------------------------------------------------------------


def exception_texts(exc: BaseException) -> Iterator[str]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        # What a traceback shows of each exception in the chain (a UnicodeDecodeError's
        # args hold the whole body, which may carry a key by design, but never print).
        yield str(current)
        if isinstance(current, PayplaneError):
            yield current.message
        current = current.__cause__ or current.__context__


def check_no_secret(subject: ContractSubject, texts: Iterable[str], where: str) -> None:
    for text in texts:
        for secret in subject.secrets:
            if secret in text:
                fail(
                    f"a secret setting of {subject.id!r} appears in {where}: {text[:300]!r}. "
                    "Declare it with payplane.secret_field() and never format it into "
                    "messages (payplane.redact() hides values in text you must show)"
                )


def unexpected(subject: ContractSubject, method: str, exc: BaseException, what: object) -> NoReturn:
    fail(
        f"{subject.id}: {method}() raised {type(exc).__name__}: {exc} for {what!r}. "
        "Raise a payplane.exceptions error instead: ValidationError (naming the field) "
        "for requests, MalformedPayloadError for answers and postbacks you cannot read"
    )


def provider_bug(error: BaseException | None) -> BaseException | None:
    """The provider's own bug behind *error* (not a payplane error), if there is one.

    The client reports a provider's exception on a money-moving answer as an unknown
    outcome caused by it; anything else that is not a payplane error is one too.
    """
    if error is None:
        return None
    if not isinstance(error, PayplaneError):
        return error
    cause = error.__cause__
    if (
        isinstance(error, UnknownOutcomeError)
        and cause is not None
        and not isinstance(cause, PayplaneError | httpx.HTTPError)
    ):
        return cause
    return None


def scripts(answers: Sequence[HttpResponse]) -> list[int]:
    """The step indexes of a recorded answer sequence (at least the first)."""
    return list(range(max(len(answers), 1)))
