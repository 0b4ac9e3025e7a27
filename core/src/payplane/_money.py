"""Exact money: a ``Decimal`` amount and a currency code."""

from __future__ import annotations

import re
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation
from typing import Any

import attrs

from payplane._currencies import ISO_4217_EXPONENTS
from payplane.exceptions import CurrencyMismatchError, ValidationError

__all__ = ["Currency", "Money", "iso_currency", "to_decimal"]

# Paykassma's converted-amount maps carry crypto codes (BTC, USDTTRC20) beside ISO codes,
# so Money accepts any upper-case code of 2-12 letters and digits; requests that go to a
# provider insist on ISO 4217 through `iso_currency`.
_CODE = re.compile(r"[A-Z][A-Z0-9]{1,11}")

# Decimal notation in ASCII, optionally in the exponent form str(Decimal) itself writes
# ("1E-7", "1.5E+3"), so that every str(Money) and Money.to_dict() reads back exactly.
# Decimal(str) also takes whitespace, "_" between digits, non-ASCII digits (fullwidth,
# Arabic-Indic, Myanmar...), ".5", "5." and "Infinity": none of those is this notation.
_DECIMAL_NOTATION = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_AMOUNT_NOTATION = "ASCII decimal notation, [+-]digits[.digits][e[+-]digits]"

# Money arithmetic is exact: with this context +, - and * never round (the precision is
# the largest libmpdec has; it allocates only what a result needs) and any inexact result
# would raise instead of passing silently. The default context rounds to 28 digits.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact])


@attrs.frozen
class Currency:
    """An ISO 4217 currency.

    Attributes:
        code: The three-letter code (``"MMK"``).
        exponent: Digits after the decimal point of its minor unit (2 for MMK, 0 for JPY,
            3 for KWD); ``None`` for codes without one (gold, SDR).
    """

    code: str
    exponent: int | None


def iso_currency(code: str, *, field: str = "currency") -> Currency:
    """Return the ISO 4217 currency for *code*.

    Raises:
        ValidationError: *code* is not an active ISO 4217 code (names *field*).
    """
    if code not in ISO_4217_EXPONENTS:
        msg = f"{code!r} is not an ISO 4217 currency code"
        raise ValidationError(field, msg, limit="ISO 4217 code")
    return Currency(code, ISO_4217_EXPONENTS[code])


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    r"""Convert *value* to a finite ``Decimal`` without losing or inventing precision.

    Accepted: ``Decimal``, ``int`` (not ``bool``), ``str`` in decimal notation, and a
    ``float`` only when its binary value is exactly the decimal it prints as (``6000.0``,
    ``0.5``, ``0.25``). ``0.1`` is refused: as a binary float it is
    0.1000000000000000055511151231257827..., so pass ``"0.1"`` or ``Decimal("0.1")``.

    Decimal notation is ASCII: an optional sign, digits, optionally a point followed by
    digits (``"6000"``, ``"-1.10"``, ``"+0.5"``), and optionally an exponent, the form
    ``str(Decimal)`` writes (``"1E-7"``, ``"6.0e3"``). Nothing else that ``Decimal()``
    would take: no surrounding whitespace (``" 6000"`` or a trailing newline), no ``"_"``
    (``"6_000"``), no non-ASCII digits (fullwidth ``"\uff16\uff10\uff10\uff10"``,
    Arabic-Indic, Myanmar), no ``".5"`` or ``"5."``.

    Raises:
        ValidationError: NaN, an infinity, an inexact float, a bool, text that is not
            decimal notation (the limit names the notation), or anything else.
    """
    if type(value) is Decimal and value.is_finite():
        return value  # the common case (parsed JSON, Money arithmetic), decided at once
    if isinstance(value, bool):
        msg = "a bool is not an amount"
        raise ValidationError(field, msg, limit="finite decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        exact = Decimal(value)
        if exact.is_finite() and exact != Decimal(repr(value)):
            msg = (
                f"the float {value!r} is not exactly representable in binary "
                f"(it is {exact}); pass a str or Decimal"
            )
            raise ValidationError(field, msg, limit="exact float")
        result = Decimal(repr(value)) if exact.is_finite() else exact
    elif isinstance(value, str):
        result = _parse(value, field)
    else:
        msg = f"{type(value).__name__} is not an amount"
        raise ValidationError(field, msg, limit="finite decimal")
    if not result.is_finite():
        msg = f"{result} is not a finite number"
        raise ValidationError(field, msg, limit="finite decimal")
    return result


def _parse(text: str, field: str) -> Decimal:
    # Plain ASCII digits (most amounts on the wire, "6000") need no regex: on ASCII text
    # isdigit() is 0-9 only.
    if not (text.isascii() and text.isdigit()) and _DECIMAL_NOTATION.fullmatch(text) is None:
        hint = ""
        if text != text.strip():
            hint = " (surrounding whitespace: strip it first)"
        elif not text.isascii():
            hint = " (only the ASCII digits 0-9 are decimal notation)"
        elif "_" in text:
            hint = " (write the digits without '_')"
        msg = f"{text!r:.60} is not a decimal number{hint}"
        raise ValidationError(field, msg, limit=_AMOUNT_NOTATION)
    try:
        return Decimal(text)
    except InvalidOperation:
        # The notation matched, but the exponent is beyond what Decimal represents.
        msg = f"{text!r:.60} has an exponent out of range"
        raise ValidationError(field, msg, limit="finite decimal") from None


# Codes already found valid: most checks are of a handful of codes (MMK, USD, ...), and a
# set lookup is cheaper than the regex. Bounded, so odd input cannot grow it without end.
_VALID_CODES: set[str] = set()
_VALID_CODES_LIMIT = 4096


def _currency_code(value: object) -> str:
    if type(value) is str and value in _VALID_CODES:
        return value
    if not isinstance(value, str) or _CODE.fullmatch(value) is None:
        msg = f"{value!r} is not a currency code"
        raise ValidationError("currency", msg, limit="2-12 upper-case letters or digits")
    if type(value) is str and len(_VALID_CODES) < _VALID_CODES_LIMIT:
        _VALID_CODES.add(value)
    return value


def _check_currency(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    _currency_code(value)


_MAX_EXPONENT = 18


def _exponent(currency: str, exponent: object) -> int:
    if exponent is not None:
        if type(exponent) is not int or not 0 <= exponent <= _MAX_EXPONENT:
            msg = f"exponent {exponent!r} is not an int from 0 to 18"
            raise ValidationError("exponent", msg, limit="0-18")
        return exponent
    places = ISO_4217_EXPONENTS.get(currency)
    if places is None:
        msg = f"{currency!r} has no ISO 4217 minor unit; pass exponent="
        raise ValidationError("currency", msg, limit="ISO 4217 code with a minor unit")
    return places


@attrs.frozen(order=False)
class Money:
    """An exact amount of one currency.

    ``Money("6000", "MMK")``. The amount is a ``Decimal`` kept exactly as given: no
    rounding, no float on the way, and its exponent survives a round trip
    (``"1.10"`` stays ``"1.10"``). Floats follow :func:`to_decimal`'s rule.

    ``+``, ``-`` and ordering work within one currency and raise
    :class:`~payplane.exceptions.CurrencyMismatchError` across two; ``==`` across two
    currencies is ``False``. Multiplying by an ``int`` or ``Decimal`` scales the amount.
    Arithmetic is exact whatever the number of digits (``decimal``'s default context
    would round to 28 significant digits; Money never rounds).

    Attributes:
        amount: The amount.
        currency: An upper-case currency code: ISO 4217, or a crypto code such as
            ``"USDTTRC20"`` as providers report them.
    """

    amount: Decimal = attrs.field(converter=to_decimal)
    currency: str = attrs.field(validator=_check_currency)

    def _same(self, other: Money, op: str) -> None:
        if self.currency != other.currency:
            msg = f"cannot {op} {self.currency} and {other.currency}"
            raise CurrencyMismatchError(msg)

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "add")
        return Money(_EXACT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "subtract")
        return Money(_EXACT.subtract(self.amount, other.amount), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            return NotImplemented
        return Money(_EXACT.multiply(self.amount, factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(_EXACT.minus(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __format__(self, spec: str) -> str:
        return f"{format(self.amount, spec)} {self.currency}"

    def is_whole(self) -> bool:
        """Return whether the amount has no fractional part (``6000.00`` is whole)."""
        return self.amount == self.amount.to_integral_value()

    @classmethod
    def from_minor_units(cls, value: int, currency: str, *, exponent: int | None = None) -> Money:
        """Return the money that *value* minor units of *currency* make, exactly.

        ``Money.from_minor_units(29935, "INR")`` is ``Money("299.35", "INR")``;
        ``Money.from_minor_units(295, "JPY")`` is ``Money("295", "JPY")``. Many PSPs
        (Razorpay, Stripe, Paystack) send amounts this way, as JSON integers.

        Args:
            value: The amount in minor units (paise, cents): an ``int``, never a ``bool``
                nor a float.
            currency: The currency code.
            exponent: Digits of the minor unit; by default the ISO 4217 exponent of
                *currency*. A provider whose own table differs passes its own.

        Raises:
            ValidationError: *value* is not an ``int`` (field ``amount``), or *currency*
                has no ISO 4217 minor unit and no *exponent* was given (field
                ``currency``).
        """
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"minor units must be an int, not {type(value).__name__}"
            raise ValidationError("amount", msg, limit="integer minor units")
        places = _exponent(currency, exponent)
        sign, digits, _ = Decimal(value).as_tuple()
        # Built from the digits: Decimal.scaleb would round to the context's 28 digits.
        return cls(Decimal((sign, digits, -places)), currency)

    def to_minor_units(self, exponent: int | None = None) -> int:
        """Return the amount in minor units of its currency (``Money("299.35", "INR")`` is 29935).

        Args:
            exponent: Digits of the minor unit; by default the currency's ISO 4217 exponent.

        Raises:
            ValidationError: the amount has more decimal places than the exponent allows
                (``Money("1.001", "USD")``; field ``amount``), or the currency has no
                ISO 4217 minor unit and no *exponent* was given (field ``currency``).
        """
        places = _exponent(self.currency, exponent)
        # Exact at any size: digits and exponent, never the 28-digit arithmetic context.
        sign, digits, exp = self.amount.as_tuple()
        shift = int(exp) + places
        if shift >= 0:
            units = int("".join(map(str, digits))) * 10**shift
        else:
            kept, dropped = digits[:shift], digits[shift:]
            if any(dropped):
                msg = f"{self} has more than {places} decimal places"
                raise ValidationError(
                    "amount", msg, limit=f"{places} decimal places ({self.currency})"
                )
            units = int("".join(map(str, kept)) or "0")
        result: int = -units if sign else units
        return result

    @property
    def minor_units(self) -> int:
        """The amount in minor units of its currency's ISO 4217 exponent.

        See :meth:`to_minor_units`, which also takes a provider's own exponent.
        """
        return self.to_minor_units()

    def to_dict(self) -> dict[str, str]:
        """Serialise exactly: ``{"amount": "6000.00", "currency": "MMK"}``.

        The amount is a string, so no JSON parser can turn it into a float.
        """
        return {"amount": str(self.amount), "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Money:
        """Parse what :meth:`to_dict` produced, exactly.

        Raises:
            ValidationError: a missing or invalid amount or currency.
        """
        try:
            amount, currency = data["amount"], data["currency"]
        except (KeyError, TypeError) as exc:
            msg = "expected a mapping with 'amount' and 'currency'"
            raise ValidationError(str(exc.args[0]) if exc.args else "money", msg) from None
        return cls(amount, currency)
