"""Amounts on Razorpay's wire: integers in the minor unit of Razorpay's currency table."""

from __future__ import annotations

from payplane import Money
from payplane.exceptions import MalformedPayloadError, ValidationError
from payplane_razorpay._currencies import EXPONENTS, THREE_DECIMAL

__all__ = ["from_minor_units", "to_minor_units"]


def to_minor_units(money: Money, field: str, *, minimum: int = 1) -> int:
    """Return *money* as the integer Razorpay wants, e.g. ``Money("299.35", "INR")`` -> 29935.

    The exponent comes from Razorpay's table. A three-decimal amount must end in 0
    (``KWD 99.990``, not ``99.991``): Razorpay's API pages say so and its currency page
    shows otherwise, so payplane takes the reading that cannot be refused.

    Args:
        money: The amount.
        field: The request field it came from, named in errors.
        minimum: The smallest accepted value, in minor units.

    Raises:
        ValidationError: a currency Razorpay does not list (``<field>.currency``), more
            decimals than the exponent, a three-decimal amount not ending in 0, or less
            than *minimum* (``<field>``).
    """
    exponent = EXPONENTS.get(money.currency)
    if exponent is None:
        msg = f"{money.currency} is not a currency Razorpay lists"
        name = f"{field}.currency"
        raise ValidationError(name, msg, limit="Razorpay's currency table")
    try:
        units = money.to_minor_units(exponent)
    except ValidationError as exc:
        detail = exc.message.partition(": ")[2]
        raise ValidationError(field, detail, limit=exc.limit) from None
    if money.currency in THREE_DECIMAL and units % 10:
        msg = f"{money} must end in 0 in its third decimal place"
        raise ValidationError(field, msg, limit=f"3 decimal places ending in 0 ({money.currency})")
    if units < minimum:
        least = Money.from_minor_units(minimum, money.currency, exponent=exponent)
        msg = f"{money} is less than {least}"
        raise ValidationError(field, msg, limit=f">= {least}")
    return units


def from_minor_units(value: object, currency: object, what: str) -> Money:
    """Return the exact money an amount on the wire stands for.

    Raises:
        MalformedPayloadError: *value* is not a non-negative JSON integer, or *currency*
            is not a code with a known exponent (names *what*).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{what}: the amount {value!r:.40} is not a non-negative integer"
        raise MalformedPayloadError(msg)
    if not isinstance(currency, str):
        msg = f"{what}: the currency {currency!r:.40} is not a code"
        raise MalformedPayloadError(msg)
    try:
        return Money.from_minor_units(value, currency, exponent=EXPONENTS.get(currency))
    except ValidationError as exc:
        msg = f"{what}: {exc.message}"
        raise MalformedPayloadError(msg) from exc
