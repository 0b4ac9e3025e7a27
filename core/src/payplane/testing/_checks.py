"""The checks behind the contract suite: calling a provider and judging what it does.

Private: :class:`~payplane.testing.ProviderContract` is the public face.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

import attrs
import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st

from payplane._currencies import ISO_4217_EXPONENTS
from payplane._http import HttpRequest, HttpResponse
from payplane._models import (
    ActivationRequest,
    ActivationResult,
    DepositRequest,
    DepositStart,
    PostbackEvent,
    WithdrawalRequest,
    WithdrawalResult,
)
from payplane._money import Money
from payplane._protocols import Capability
from payplane._registry import Registry
from payplane._secrets import secret_values
from payplane._spec import ProviderSpec
from payplane._status import MappedStatus, NeutralStatus
from payplane.exceptions import (
    MalformedPayloadError,
    PayplaneError,
    SignatureError,
    ValidationError,
)
from payplane.testing._samples import ContractSamples, RecordedAnswer, SignedPostback

__all__ = [
    "BY_CAPABILITY",
    "CLIENT_CALLS",
    "LOGGER",
    "MIN_SECRET",
    "MONEY_EXPONENTS",
    "OPERATIONS",
    "ContractSubject",
    "Operation",
    "Request",
    "amount_forms",
    "build",
    "carries_exactly",
    "check_answer",
    "check_no_secret",
    "example_request",
    "exception_texts",
    "expect_refused",
    "fail",
    "hosted_page_amounts",
    "money_currencies",
    "parse",
    "read_status",
    "run_examples",
    "status_of",
    "unexpected",
    "verify",
]

_SETTINGS = hypothesis.settings(deadline=None, suppress_health_check=list(HealthCheck))
MIN_SECRET = 8
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
MONEY_EXPONENTS = {0: "JPY", 2: "USD", 3: "KWD"}
LOGGER = logging.getLogger("payplane.testing")

Request = DepositRequest | ActivationRequest | WithdrawalRequest


@attrs.frozen
class Operation:
    capability: Capability
    build: str
    parse: str
    moves_money: bool


OPERATIONS: dict[type[Any], Operation] = {
    DepositRequest: Operation(
        Capability.DEPOSITS, "build_deposit", "parse_deposit", moves_money=False
    ),
    ActivationRequest: Operation(
        Capability.ACTIVATION, "build_activation", "parse_activation", moves_money=True
    ),
    WithdrawalRequest: Operation(
        Capability.WITHDRAWALS, "build_withdrawal", "parse_withdrawal", moves_money=True
    ),
}
BY_CAPABILITY = {op.capability: (cls, op) for cls, op in OPERATIONS.items()}
CLIENT_CALLS = {
    Capability.DEPOSITS: "start_deposit",
    Capability.ACTIVATION: "activate_deposit",
    Capability.WITHDRAWALS: "create_withdrawal",
}


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
        provider: The provider object the spec's factory built.
        samples: The :class:`~payplane.testing.ContractSamples` it is checked with.
        registry: The registry it was found in.
    """

    spec: ProviderSpec
    settings: object
    provider: object
    samples: ContractSamples
    registry: Registry

    @property
    def id(self) -> str:
        """The provider id."""
        return self.spec.id

    @property
    def secrets(self) -> frozenset[str]:
        """The secret setting values long enough to look for in texts."""
        return frozenset(s for s in secret_values(self.settings) if len(s) >= MIN_SECRET)

    def call(self, capability: Capability, method: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        """Call *method* of the provider; a missing or stub method fails with a fix."""
        protocol = capability.protocol.__name__
        fix = (
            f"implement {protocol}.{method}, or drop Capability.{capability.name} from the "
            f"ProviderSpec of {self.id!r}"
        )
        bound = getattr(self.provider, method, None)
        if bound is None:
            fail(
                f"{self.id!r} declares {capability.value} but its provider object has no "
                f"{method}(): {fix}"
            )
        stub = False
        try:
            return bound(*args, **kwargs)
        except NotImplementedError:
            stub = True  # failed below, outside the handler: no chained traceback
        if stub:
            fail(
                f"{self.id!r} declares {capability.value} but {method}() raised "
                f"NotImplementedError: {fix}"
            )
        return None  # pragma: no cover - unreachable


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


def unexpected(subject: ContractSubject, method: str, exc: Exception, what: object) -> NoReturn:
    fail(
        f"{subject.id}: {method}() raised {type(exc).__name__}: {exc} for {what!r}. "
        "Raise a payplane.exceptions error instead: ValidationError (naming the field) "
        "for requests, MalformedPayloadError for answers and postbacks you cannot read"
    )


def status_of(result: object) -> NeutralStatus | None:
    if isinstance(result, ActivationResult):
        return result.outcome.status
    if isinstance(result, WithdrawalResult | PostbackEvent):
        return result.status.status
    if isinstance(result, MappedStatus):
        status: NeutralStatus = result.status
        return status
    return None


def _money_moving_problems(request: Request, built: HttpRequest) -> Iterator[str]:
    if not built.moves_money:
        yield (
            "moves_money is False: this request moves money, so set moves_money=True "
            "(the client then reports a lost answer as an unknown outcome, not a failure)"
        )
    if built.reference != getattr(request, "reference", None):
        yield (
            "reference is not the request's reference: pass reference=request.reference "
            "(an UnknownOutcomeError carries it, so the platform can look the payment up)"
        )


def _check_built(subject: ContractSubject, op: Operation, request: Request, built: object) -> None:
    """The shape every built request must have."""
    if built is None:
        if op.capability is Capability.DEPOSITS:
            return
        fail(f"{subject.id}: {op.build}() returned None: return a payplane.HttpRequest")
    if not isinstance(built, HttpRequest):
        fail(
            f"{subject.id}: {op.build}() returned {type(built).__name__}, not a "
            "payplane.HttpRequest (build requests with HttpRequest(...) or HttpRequest.json())"
        )
    problems = []
    if not built.operation:
        problems.append("operation is empty (name it: 'create_withdrawal', ...)")
    if built.method not in _METHODS:
        problems.append(f"method {built.method!r} is not one of {sorted(_METHODS)}")
    url = urlsplit(built.url)
    if url.scheme not in {"http", "https"} or not url.hostname:
        problems.append("url is not an absolute http(s) URL (redacted here)")
    if op.moves_money:
        problems.extend(_money_moving_problems(request, built))
    if problems:
        fail(f"{subject.id}: {op.build}() built a bad request: " + "; ".join(problems))


def build(subject: ContractSubject, request: Request) -> tuple[Operation, object]:
    """Build *request*; ``ValidationError`` propagates, anything else fails the test."""
    op = OPERATIONS[type(request)]
    try:
        built = subject.call(op.capability, op.build, request)
    except ValidationError:
        raise
    except PayplaneError as exc:
        fail(
            f"{subject.id}: {op.build}() raised {type(exc).__name__} ({exc}); refusing a "
            "request before sending is a ValidationError naming the field"
        )
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        unexpected(subject, op.build, exc, request)
    _check_built(subject, op, request, built)
    return op, built


def parse(subject: ContractSubject, request: Request, response: HttpResponse | None) -> object:
    op = OPERATIONS[type(request)]
    return subject.call(op.capability, op.parse, request, response)


def verify(subject: ContractSubject, body: bytes, headers: Mapping[str, str]) -> PostbackEvent:
    result = subject.call(Capability.POSTBACKS, "verify_postback", body, headers)
    if not isinstance(result, PostbackEvent):
        fail(
            f"{subject.id}: verify_postback() returned {type(result).__name__}, not a "
            "payplane.PostbackEvent"
        )
    return result


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


def money_currencies(currencies: Iterable[str]) -> list[str]:
    """Currencies to test amounts in: one declared per exponent 0, 2 and 3, else all."""
    declared = sorted(c for c in currencies if ISO_4217_EXPONENTS.get(c) is not None)
    by_exponent: dict[int, str] = {}
    for code in declared:
        exponent = ISO_4217_EXPONENTS[code]
        if exponent in MONEY_EXPONENTS and (
            exponent not in by_exponent or code == MONEY_EXPONENTS[exponent]
        ):
            by_exponent[exponent] = code
    return sorted(by_exponent.values()) or declared


def hosted_page_amounts(
    subject: ContractSubject, request: DepositRequest, response: HttpResponse | None
) -> list[Decimal]:
    """The numbers in the hosted page URL the provider makes for *request*."""
    try:
        start = parse(subject, request, response)
    except PayplaneError:
        return []
    if isinstance(start, DepositStart) and start.hosted_page_url:
        return amount_forms(start.hosted_page_url)
    return []


def carries_exactly(forms: list[Decimal], amount: Money) -> bool:
    exponent = ISO_4217_EXPONENTS.get(amount.currency) or 0
    minor = amount.amount.scaleb(exponent)
    wanted = {amount.amount} | ({minor} if minor == minor.to_integral_value() else set())
    return any(form in wanted for form in forms)


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


def read_status(subject: ContractSubject, carried: object) -> NeutralStatus | None:
    if isinstance(carried, SignedPostback):
        return status_of(verify(subject, carried.body, carried.headers))
    if isinstance(carried, RecordedAnswer):
        return status_of(parse(subject, carried.request, carried.response))
    if isinstance(carried, MappedStatus):
        return status_of(carried)
    fail(
        f"{subject.id}: a status probe's carrier returned {type(carried).__name__}; return "
        "a SignedPostback, a RecordedAnswer or a MappedStatus"
    )


def _result_problems(subject: ContractSubject, request: Request, result: object) -> Iterator[str]:
    if isinstance(result, DepositStart):
        if result.provider != subject.id or result.customer_id != request.customer_id:
            yield "provider or customer_id differ from the request's"
    elif isinstance(result, ActivationResult | WithdrawalResult):
        if result.provider != subject.id:
            yield f"provider is {result.provider!r}"
        if result.reference != getattr(request, "reference", None):
            yield f"reference is {result.reference!r}, not the request's"
    else:
        yield f"it returned {type(result).__name__}"


def check_answer(subject: ContractSubject, answer: RecordedAnswer) -> None:
    op = OPERATIONS[type(answer.request)]
    expected = answer.expected
    where = f"{subject.id}: answer {answer.name!r} ({op.parse})"
    try:
        result = parse(subject, answer.request, answer.response)
    except PayplaneError as exc:
        if isinstance(expected, type) and isinstance(exc, expected):
            return
        fail(f"{where} raised {type(exc).__name__}: {exc}; expected {_describe(expected)}")
    except Exception as exc:  # noqa: BLE001 - the finding
        unexpected(subject, op.parse, exc, answer.response)
    if isinstance(expected, type):
        fail(f"{where} gave {result!r}; expected {expected.__name__} to be raised")
    problems = list(_result_problems(subject, answer.request, result))
    status = status_of(result)
    if isinstance(expected, NeutralStatus) and status is not expected:
        problems.append(f"status is {status}, expected {expected}")
    if problems:
        fail(f"{where}: " + "; ".join(problems))


def _describe(expected: object) -> str:
    if expected is None:
        return "a result"
    if isinstance(expected, type):
        return f"{expected.__name__} to be raised"
    return str(expected)


def example_request(request_type: type[Any], currencies: Iterable[str]) -> Request:
    currency = min(currencies, default="USD")
    amount = Money(100, currency)
    if request_type is DepositRequest:
        return DepositRequest(customer_id="contract-customer", currency=currency, amount=amount)
    if request_type is ActivationRequest:
        return ActivationRequest(
            customer_id="contract-customer", amount=amount, transaction_id="1234567890"
        )
    return WithdrawalRequest(
        customer_id="contract-customer",
        amount=amount,
        account_number="01234567890",
        account_email="contract@example.com",
    )
