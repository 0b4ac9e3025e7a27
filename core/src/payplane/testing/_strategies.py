"""Hypothesis strategies for payplane's neutral models, for provider authors' tests.

Every strategy is a noun: :func:`money`, :func:`deposit_requests`... Amounts are exact
``Decimal`` values with at most the currency's minor-unit digits (ISO 4217), so what a
strategy draws is something a platform could really ask for.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from payplane._currencies import ISO_4217_EXPONENTS
from payplane._http import HttpResponse
from payplane._models import (
    ActivationRequest,
    Beneficiary,
    DepositRequest,
    LookupRequest,
    PaymentKind,
    RefundRequest,
    WithdrawalRequest,
)
from payplane._money import Money
from payplane._status import StatusMap

__all__ = [
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
]

Request = DepositRequest | ActivationRequest | WithdrawalRequest | LookupRequest | RefundRequest

_ISO_CODES = tuple(sorted(code for code, exp in ISO_4217_EXPONENTS.items() if exp is not None))
_WORD = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12
)
# Any text a request's id fields take: no control characters (Cc), no lone surrogates (Cs).
_ID_TEXT = st.characters(exclude_categories=("Cc", "Cs"))
# Free text (a comment): the same, plus tabs and line breaks.
_FREE_TEXT = _ID_TEXT | st.sampled_from("\t\n\r")


def _codes(currencies: Iterable[str] | None) -> tuple[str, ...]:
    if currencies is None:
        return _ISO_CODES
    codes = tuple(sorted(set(currencies)))
    unknown = [code for code in codes if code not in ISO_4217_EXPONENTS]
    if not codes or unknown:
        msg = f"expected ISO 4217 codes, got {codes!r}"
        raise ValueError(msg)
    return codes


def currency_codes(
    currencies: Iterable[str] | None = None, *, exponents: Collection[int] | None = None
) -> st.SearchStrategy[str]:
    """ISO 4217 codes with a minor unit: from *currencies* if given, else all of them.

    Args:
        currencies: The codes to draw from (a provider's ``ProviderSpec.currencies``).
        exponents: Keep only codes with these minor-unit exponents (``{0, 2, 3}`` for
            JPY-, USD- and KWD-like currencies).
    """
    codes = _codes(currencies)
    if exponents is not None:
        codes = tuple(code for code in codes if ISO_4217_EXPONENTS[code] in exponents)
    if not codes:
        msg = "no currency matches"
        raise ValueError(msg)
    return st.sampled_from(codes)


def _amount(exponent: int, max_digits: int, excess_places: int) -> st.SearchStrategy[Decimal]:
    places = st.integers(min_value=0, max_value=exponent + excess_places)
    return places.flatmap(
        lambda p: st.integers(min_value=1, max_value=10 ** (max_digits + p) - 1).map(
            lambda units: Decimal(units).scaleb(-p)
        )
    )


def money(
    currencies: Iterable[str] | None = None,
    *,
    max_digits: int = 12,
    excess_places: int = 0,
) -> st.SearchStrategy[Money]:
    """Positive, exact amounts of the given currencies (ISO 4217; all by default).

    An amount has at most as many decimal places as its currency's minor unit (0 for
    JPY, 2 for USD, 3 for KWD), each place count equally likely, so whole amounts and
    ``"1234.567"`` alike are drawn. The scale is kept: ``Decimal("5.10")`` stays two places.

    Args:
        currencies: The codes to draw from.
        max_digits: Digits before the decimal point, at most.
        excess_places: Allow up to this many places beyond the minor unit
            (``Money("1.005", "USD")``), to test that a provider refuses or keeps them
            rather than rounding.
    """
    codes = currency_codes(currencies)
    return codes.flatmap(
        lambda code: _amount(ISO_4217_EXPONENTS[code] or 0, max_digits, excess_places).map(
            lambda amount: Money(amount, code)
        )
    )


def customer_ids() -> st.SearchStrategy[str]:
    """Platform user ids: short ASCII words, digits, UUIDs and, rarely, long text.

    The long text is any Unicode but control characters and lone surrogates, which
    requests refuse.
    """
    return st.one_of(
        _WORD,
        st.integers(min_value=1, max_value=10**15).map(str),
        st.uuids().map(str),
        st.text(alphabet=_ID_TEXT, min_size=1, max_size=300).filter(str.strip),
    )


def references() -> st.SearchStrategy[str]:
    """Platform references: UUIDs (what payplane generates), words and digits."""
    return st.one_of(
        st.uuids().map(str), _WORD, st.integers(min_value=1, max_value=10**12).map(str)
    )


def _urls() -> st.SearchStrategy[str | None]:
    return st.none() | _WORD.map(lambda word: f"https://shop.example.com/{word}")


def deposit_requests(currencies: Iterable[str] | None = None) -> st.SearchStrategy[DepositRequest]:
    """Valid :class:`~payplane.DepositRequest` values, in *currencies* (all by default)."""
    codes = _codes(currencies)

    @st.composite
    def build(draw: st.DrawFn) -> DepositRequest:
        currency = draw(st.sampled_from(codes))
        details, hosted = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
        return DepositRequest(
            customer_id=draw(customer_ids()),
            currency=currency,
            amount=draw(st.none() | money([currency])),
            reference=draw(st.none() | references()),
            language=draw(st.none() | st.sampled_from(["en", "my", "ja", "ar"])),
            payment_details=details,
            hosted_page=hosted,
            success_url=draw(_urls()),
            fail_url=draw(_urls()),
            pending_url=draw(_urls()),
        )

    return build()


def activation_requests(
    currencies: Iterable[str] | None = None,
) -> st.SearchStrategy[ActivationRequest]:
    """Valid :class:`~payplane.ActivationRequest` values, in *currencies* (all by default)."""
    return st.builds(
        ActivationRequest,
        customer_id=customer_ids(),
        amount=money(currencies),
        transaction_id=st.one_of(_WORD, st.integers(min_value=1, max_value=10**11).map(str)),
        reference=references(),
    )


def _account_numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=10**9, max_value=10**11 - 1).map(lambda n: f"0{n}"[-11:]),
        _WORD,
    )


def beneficiaries() -> st.SearchStrategy[Beneficiary]:
    """Valid :class:`~payplane.Beneficiary` values: a bank account, a UPI id, or both."""
    vpas = st.tuples(_WORD, _WORD).map(lambda pair: f"{pair[0]}@{pair[1]}".lower())
    return st.one_of(
        st.builds(
            Beneficiary,
            holder_name=st.none() | _WORD,
            account_number=_account_numbers(),
            bank_code=st.none() | st.from_regex(r"[A-Z]{4}0[A-Z0-9]{6}", fullmatch=True),
            vpa=st.none() | vpas,
        ),
        st.builds(Beneficiary, holder_name=st.none() | _WORD, vpa=vpas),
    )


def withdrawal_requests(
    currencies: Iterable[str] | None = None,
) -> st.SearchStrategy[WithdrawalRequest]:
    """Valid :class:`~payplane.WithdrawalRequest` values, in *currencies* (all by default).

    Most pay an ``account_number``; some a :func:`beneficiaries` value instead.
    """
    common = {
        "customer_id": customer_ids(),
        "amount": money(currencies),
        "account_email": st.none() | _WORD.map(lambda word: f"{word}@example.com"),
        "reference": references(),
        "comment": st.none() | st.text(alphabet=_FREE_TEXT, max_size=40),
        "test": st.booleans(),
    }
    return st.one_of(
        st.builds(WithdrawalRequest, account_number=_account_numbers(), **common),
        st.builds(WithdrawalRequest, beneficiary=beneficiaries(), **common),
    )


def lookup_requests(
    kinds: Iterable[PaymentKind] | None = None,
) -> st.SearchStrategy[LookupRequest]:
    """Valid :class:`~payplane.LookupRequest` values: by reference, by provider id, or both."""
    kind = st.sampled_from(tuple(kinds) if kinds is not None else tuple(PaymentKind))
    return st.one_of(
        st.builds(LookupRequest, kind=kind, reference=references()),
        st.builds(LookupRequest, kind=kind, provider_reference=references()),
        st.builds(
            LookupRequest, kind=kind, reference=references(), provider_reference=references()
        ),
    )


def refund_requests(currencies: Iterable[str] | None = None) -> st.SearchStrategy[RefundRequest]:
    """Valid :class:`~payplane.RefundRequest` values, in *currencies* (all by default).

    Full (no ``amount``) and partial refunds; ``deposit_amount`` is given or not, and
    when given is never below ``amount``.
    """

    @st.composite
    def build(draw: st.DrawFn) -> RefundRequest:
        amount = draw(st.none() | money(currencies))
        deposit_amount = None
        if draw(st.booleans()):
            deposit_amount = amount if amount is not None else draw(money(currencies))
        by_reference = draw(st.sampled_from(["reference", "provider", "both"]))
        return RefundRequest(
            deposit_reference=draw(references()) if by_reference != "provider" else None,
            deposit_provider_reference=(
                draw(references()) if by_reference != "reference" else None
            ),
            amount=amount,
            deposit_amount=deposit_amount,
            reference=draw(references()),
            reason=draw(st.none() | st.text(alphabet=_FREE_TEXT, max_size=40)),
        )

    return build()


def _in_currency(amount: Money | None, currency: str) -> Money | None:
    if amount is None:
        return None
    exponent = ISO_4217_EXPONENTS.get(currency) or 0
    value = amount.amount
    if value != value.quantize(Decimal(1).scaleb(-exponent)):
        value = value.to_integral_value()
    return Money(value, currency)


def request_variants(
    template: Request,
    currencies: Iterable[str] | None = None,
    *,
    max_digits: int = 12,
    excess_places: int = 0,
) -> st.SearchStrategy[Request]:
    """Requests like *template*: other amounts, in *currencies*, under fresh references.

    The simplest value (the one hypothesis shrinks towards) is the template itself
    moved into a currency: its amounts there, rounded to whole amounts where the
    currency has fewer places. Customer ids, accounts, beneficiaries and provider
    options stay the template's, so what a provider needs there is kept.

    Args:
        template: A valid request (a deposit, activation, withdrawal, lookup or refund).
        currencies: ISO 4217 codes to move it into (default: the template's currency).
        max_digits: Digits before the decimal point of drawn amounts, at most.
        excess_places: Places beyond the currency's minor unit drawn amounts may have.
    """
    if isinstance(template, LookupRequest):
        return st.just(template) | st.builds(
            attrs.evolve,
            st.just(template),
            reference=st.just(None) if template.reference is None else references(),
            provider_reference=(
                st.just(None) if template.provider_reference is None else references()
            ),
        )
    own = _template_currency(template)
    codes = _codes(currencies if currencies is not None else [own])

    def amounts(currency: str, current: Money | None) -> st.SearchStrategy[Money | None]:
        drawn = money([currency], max_digits=max_digits, excess_places=excess_places)
        if current is None:
            return st.none() | drawn
        return st.just(_in_currency(current, currency)) | drawn

    @st.composite
    def build(draw: st.DrawFn, currency: str) -> Request:
        if isinstance(template, DepositRequest):
            reference = None if template.reference is None else draw(references())
            return attrs.evolve(
                template,
                currency=currency,
                amount=draw(amounts(currency, template.amount)),
                reference=reference,
            )
        if isinstance(template, RefundRequest):
            amount = draw(amounts(currency, template.amount))
            deposit_amount = _in_currency(template.deposit_amount, currency)
            if deposit_amount is not None and (amount is None or amount > deposit_amount):
                deposit_amount = amount or deposit_amount
            return attrs.evolve(
                template,
                amount=amount,
                deposit_amount=deposit_amount,
                reference=draw(references()),
            )
        amount = draw(amounts(currency, template.amount))
        assert amount is not None  # noqa: S101 - drawn from a Money
        return attrs.evolve(template, amount=amount, reference=draw(references()))

    return st.sampled_from(codes).flatmap(build)


def in_currency(template: Request, currency: str) -> Request:
    """*template* moved into *currency*: its amounts there, whole where the exponent is smaller.

    A lookup has no amount and comes back as it is.
    """
    if isinstance(template, LookupRequest):
        return template
    if isinstance(template, DepositRequest):
        return attrs.evolve(
            template, currency=currency, amount=_in_currency(template.amount, currency)
        )
    if isinstance(template, RefundRequest):
        return attrs.evolve(
            template,
            amount=_in_currency(template.amount, currency),
            deposit_amount=_in_currency(template.deposit_amount, currency),
        )
    amount = _in_currency(template.amount, currency)
    assert amount is not None  # noqa: S101 - moved from a Money
    return attrs.evolve(template, amount=amount)


def _template_currency(template: Request) -> str:
    if isinstance(template, DepositRequest):
        return template.currency
    if isinstance(template, RefundRequest):
        money_ = template.amount or template.deposit_amount
        return money_.currency if money_ is not None else "USD"
    assert not isinstance(template, LookupRequest)  # noqa: S101 - handled by the caller
    return template.amount.currency


def status_codes(known: Iterable[Hashable] = ()) -> st.SearchStrategy[object]:
    """Raw status codes a provider might send, none equal to one of *known*.

    Integers, numeric strings and words; compared as :meth:`payplane.StatusMap.normalize`
    compares them, so with ``known={1}`` neither ``1`` nor ``"1"`` is drawn.
    """
    taken = frozenset(StatusMap.normalize(code) for code in known)
    codes: st.SearchStrategy[object] = st.one_of(
        st.integers(min_value=-(10**6), max_value=10**6),
        st.integers(min_value=0, max_value=999).map(str),
        st.text(alphabet=st.characters(codec="ascii", categories=("L", "N", "P")), max_size=20),
        st.text(max_size=12),
    )
    return codes.filter(lambda code: StatusMap.normalize(code) not in taken)


_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(float)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def http_responses() -> st.SearchStrategy[HttpResponse]:
    """Answers no provider should take for a success: junk bytes, odd JSON, any status.

    Parsing one must raise a :class:`~payplane.exceptions.PayplaneError` or give a
    result that is not a success; never ``KeyError`` or ``TypeError``.
    """
    import json  # noqa: PLC0415 - only this strategy needs it

    bodies = st.one_of(
        st.binary(max_size=64),
        _JSON.map(lambda value: json.dumps(value).encode()),
        st.dictionaries(st.sampled_from(["status", "error", "message", "data"]), _JSON).map(
            lambda value: json.dumps(value).encode()
        ),
    )
    return st.builds(
        HttpResponse,
        status_code=st.sampled_from([200, 201, 400, 401, 404, 409, 422, 500, 502, 503]),
        headers=st.just({"content-type": "application/json"}),
        content=bodies,
    )


def byte_mutations(body: bytes, within: tuple[int, int] | None = None) -> st.SearchStrategy[bytes]:
    """Copies of *body* with one byte changed, removed or inserted, inside *within*.

    *within* is a ``(start, end)`` span of byte offsets, end excluded (default: the whole
    body). Inside a span, bytes are inserted only between two of its bytes. Every copy
    differs from *body*.
    """
    start, end = within if within is not None else (0, len(body))
    if not 0 <= start < end <= len(body):
        msg = f"span {within!r} is not inside a body of {len(body)} bytes"
        raise ValueError(msg)
    offsets = st.integers(min_value=start, max_value=end - 1)

    def replace(offset: int, byte: int) -> bytes:
        return body[:offset] + bytes([byte]) + body[offset + 1 :]

    changed = st.tuples(offsets, st.integers(min_value=0, max_value=255)).filter(
        lambda pair: body[pair[0]] != pair[1]
    )
    flipped = st.tuples(offsets, st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128])).map(
        lambda pair: (pair[0], body[pair[0]] ^ pair[1])
    )
    removed = offsets.map(lambda offset: body[:offset] + body[offset + 1 :])
    # Inside a span, a byte inserted at either end lands outside it.
    low, high = (start, end) if within is None else (start + 1, end - 1)
    variants = [(changed | flipped).map(lambda pair: replace(*pair)), removed]
    if low <= high:
        variants.append(
            st.tuples(
                st.integers(min_value=low, max_value=high), st.integers(min_value=0, max_value=255)
            ).map(lambda pair: body[: pair[0]] + bytes([pair[1]]) + body[pair[0] :])
        )
    return st.one_of(variants).filter(lambda mutated: mutated != body)
