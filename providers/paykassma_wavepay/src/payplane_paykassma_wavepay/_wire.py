"""Wire classes mirroring Paykassma's JSON, and the one cattrs converter for them.

The converter is lenient about unknown members (they stay in the neutral records' ``raw``)
and strict about the types of the members it knows: a string is never silently made
from a number, nor a number from a bool. Amounts become exact ``Decimal``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from decimal import Decimal
from typing import Any, NewType, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory

from payplane import Money, to_decimal
from payplane.exceptions import MalformedPayloadError
from payplane_paykassma_wavepay._rawjson import ScanOnce, exact_number

__all__ = [
    "ConvertedAmounts",
    "Message",
    "WireActivationAnswer",
    "WireCurrency",
    "WireDepositAnswer",
    "WireDepositParams",
    "WireId",
    "WireLegacyPostback",
    "WirePostback",
    "WireTransaction",
    "WireWithdrawalAnswer",
    "converted_amounts_scanner",
    "make_converter",
    "structure",
]

T = TypeVar("T")

WireId = NewType("WireId", str)
"""An identifier Paykassma may send as a JSON string or integer; kept as text."""


# -- converted amounts ---------------------------------------------------------------

_CODES = re.compile(r"[A-Z][A-Z0-9]{1,11}(?:,[A-Z][A-Z0-9]{1,11})*")


def _reject_constant(name: str) -> Any:  # noqa: ANN401 - a json.JSONDecoder hook
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


# Scans a converted-amount map only to find where it ends and check its shape: each value
# must be a JSON number. The floats it makes are thrown away; the amounts are read again
# from the raw text, as Decimal, when first used (see ConvertedAmounts). A postback carries
# about 180 of them, most never looked at, and turning each into Decimal and Money up
# front would cost three times the rest of verifying and parsing the postback.
_SHAPE_SCANNER: ScanOnce = json.JSONDecoder(parse_constant=_reject_constant).scan_once  # type: ignore[attr-defined]
_EXACT = json.JSONDecoder(parse_float=exact_number, parse_constant=_reject_constant)


class ConvertedAmounts(Mapping[str, Money]):
    """A read-only map of currency code to exact :class:`~payplane.Money`.

    Paykassma's ``converted_amount`` (and the legacy ``stockpiling``): the event's amount
    in about 180 currencies, crypto codes such as ``USDTTRC20`` included. Built from the
    raw JSON text, it turns amounts into ``Decimal`` on first use, never through a float.
    """

    __slots__ = ("_cache", "_codes_or_none", "_text")

    # Codes match [A-Z][A-Z0-9]{1,11} and amounts are numbers: no secret can hide here, so
    # the client's redaction of a verified event leaves the map unread (walking it would
    # build ~180 Money objects per postback, 20 times the cost of verifying it).
    __payplane_holds_no_text__ = True

    def __init__(self, text: str, codes: Collection[str] | None) -> None:
        """Wrap *text*, a JSON object of code to number whose (distinct) codes are *codes*.

        Use :meth:`from_json` or :meth:`from_mapping`, which check the shape. ``None``
        for *codes* reads them from *text* when first needed: *text* must then be a
        compact map (``{"USD":4.61}``) whose shape was checked.
        """
        self._text = text
        self._codes_or_none = codes
        self._cache: dict[str, Money] | None = None

    @property
    def _codes(self) -> Collection[str]:
        codes = self._codes_or_none
        if codes is None:
            # dict.fromkeys keeps the first place of a repeated code, as a parsed dict does.
            codes = self._codes_or_none = dict.fromkeys(_CODE_IN_MAP.findall(self._text)).keys()
        return codes

    @classmethod
    def from_json(cls, text: str, parsed: object) -> ConvertedAmounts:
        """Check *parsed* (what a JSON scanner made of *text*) and wrap *text*.

        Raises:
            ValueError: not an object of currency code to number, or a number no
                ``Decimal`` can hold (``1e9999999999999999999``: the float scanner
                makes it ``inf``).
        """
        if not isinstance(parsed, dict):
            msg = "expected an object of currency code to amount"
            raise ValueError(msg)  # noqa: TRY004 - the scanner protocol reports ValueError
        if parsed:
            if not set(map(type, parsed.values())) <= {int, float}:
                msg = "every amount must be a JSON number"
                raise ValueError(msg)
            joined = ",".join(parsed)
            if _CODES.fullmatch(joined) is None or joined.count(",") != len(parsed) - 1:
                msg = "every key must be an upper-case currency code"
                raise ValueError(msg)
            # This is the scanner's slow path (the compact fast path only passes numbers
            # of at most 100 digits and 4 exponent digits): read the amounts exactly now,
            # so that a map that verifies can always be read later.
            _EXACT.decode(text)
        # Only the keys of the float-valued dict are kept.
        return cls(text, parsed.keys())

    @classmethod
    def from_mapping(cls, amounts: Mapping[str, Any]) -> ConvertedAmounts:
        """Build from a mapping of code to amount (``Decimal``, ``int``, decimal ``str``).

        Raises:
            ValidationError: an invalid code or amount.
        """
        exact = {code: Money(amount, code) for code, amount in amounts.items()}
        text = json.dumps({code: str(money.amount) for code, money in exact.items()})
        instance = cls(text, exact.keys())
        instance._cache = exact
        return instance

    def _amounts(self) -> dict[str, Money]:
        if self._cache is None:
            parsed = _EXACT.decode(self._text)
            self._cache = {code: Money(value, code) for code, value in parsed.items()}
        return self._cache

    def __getitem__(self, code: str) -> Money:
        return self._amounts()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def __repr__(self) -> str:
        return f"<ConvertedAmounts: {len(self)} currencies>"

    def to_dict(self) -> dict[str, str]:
        """Return code to amount text, exact (``{"USD": "4.61"}``)."""
        return {code: str(money.amount) for code, money in self._amounts().items()}

    def __payplane_json_text__(self) -> str | None:
        """:meth:`__payplane_json__`'s data as compact ASCII JSON, or ``None``.

        Written from one pattern pass over the map's own text: for a compact map (no
        whitespace, no escapes) whose numbers print as ``Decimal`` prints them and whose
        codes are distinct, which is what Paykassma sends. ``None`` otherwise: the inbox
        then writes the data.
        """
        text = self._text
        if self._cache is not None or _NOT_PLAIN.search(text):
            return None
        found = _NUMBER_IN_MAP.findall(text)
        if len(found) != text.count('":') or len({code for code, _ in found}) != len(found):
            return None  # an entry the pattern does not read, or a repeated code
        entries = [
            f'"{code}":{{"amount":"{number}","currency":"{code}"}}' for code, number in found
        ]
        return "{" + ",".join(entries) + "}"

    def __payplane_json__(self) -> dict[str, dict[str, str]]:
        """The form payplane's inbox stores: ``{code: money.to_dict()}``, the same text.

        Read from the map's JSON text without making a ``Money`` per entry (the inbox
        stores every postback's ~180 amounts): a number's text is what ``Decimal``
        prints, except for exponents and ``-0``, which go through ``Decimal`` and
        ``int``. A map whose text is not the compact form (whitespace, escapes) takes
        the amounts themselves.
        """
        text = self._text
        if self._cache is None and "\\" not in text:
            found = _NUMBER_IN_MAP.findall(text)
            # Every entry matched (the map was checked to hold only code: number).
            if len(found) == text.count('":'):
                if _EXPONENT.search(text) or "-0," in text or "-0}" in text:
                    found = [(code, _decimal_text(number)) for code, number in found]
                # A repeated code keeps its first place and its last value, as in a dict.
                amounts = dict(found)
                return {
                    code: {"amount": number, "currency": code} for code, number in amounts.items()
                }
        return {code: money.to_dict() for code, money in self._amounts().items()}


# The fast path of the shape check, for the compact maps PHP writes: every entry of
# `{"CODE":number,...}` is mapped character class by character class (A-Z to "A", 1-9 to
# "1"; "0" and punctuation kept), which keeps membership of the entry grammar below exact,
# and the few distinct shapes that leave are checked once and remembered. Anything else
# (whitespace, escapes, exponents in "E", very long numbers, a bad entry) takes the
# scanner below, which decides exactly as before: the fast path only accepts maps the
# scanner accepts, and reports the same end and codes.
_CLASSES = str.maketrans("123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "1" * 9 + "A" * 26)
_MAPPED_ENTRY = re.compile(
    r'"A[A01]{1,11}":-?(?:0|1[01]{0,99})(?:\.[01]{1,100})?(?:e[-+]?[01]{1,4})?'
)
_GOOD_SHAPES: set[str] = set()
_GOOD_SHAPES_LIMIT = 10_000
_CODE_IN_MAP = re.compile(r'"([A-Z][A-Z0-9]{1,11})":')
_NUMBER_IN_MAP = re.compile(
    r'"([A-Z][A-Z0-9]{1,11})":(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)(?=[,}])'
)


_EXPONENT = re.compile(r"[0-9][eE]")  # in a number (a code may hold one too: harmless)
# What the text form does not write as Decimal would: exponents, -0, whitespace, escapes.
_NOT_PLAIN = re.compile(r"[0-9][eE]|-0[,}]|[ \t\n\r\\]")


def _decimal_text(number: str) -> str:
    """The text ``str(Money(number).amount)`` gives for a JSON number's text *number*."""
    if "e" in number or "E" in number:
        return str(exact_number(number))
    if "." not in number:
        return str(int(number))  # "-0" is 0
    return number  # Decimal keeps a plain fraction's digits as they are


def _compact_map_end(text: str, idx: int) -> int:
    """Return the end of a compact code-to-number map at *idx*, or -1 to scan it instead."""
    if text[idx : idx + 1] != "{":
        return -1
    end = text.find("}", idx) + 1
    if end == 0:
        return -1
    if end == idx + 2:  # {}
        return end
    shapes = set(text[idx + 1 : end - 1].translate(_CLASSES).split(","))
    if shapes <= _GOOD_SHAPES:
        return end
    for shape in shapes:
        if _MAPPED_ENTRY.fullmatch(shape) is None:
            return -1
    if len(_GOOD_SHAPES) < _GOOD_SHAPES_LIMIT:
        _GOOD_SHAPES.update(shapes)
    return end


def converted_amounts_scanner(text: str, idx: int) -> tuple[ConvertedAmounts | None, int]:
    """Scan a converted-amount map (or ``null``) at *idx* of *text* (a :data:`ScanOnce`).

    Raises:
        ValueError: not JSON, or not an object of currency code to number.
        StopIteration: no JSON value at *idx* (as ``scan_once`` does).
    """
    end = _compact_map_end(text, idx)
    if end >= 0:
        return ConvertedAmounts(text[idx:end], None), end
    parsed, end = _SHAPE_SCANNER(text, idx)
    if parsed is None:
        return None, end
    return ConvertedAmounts.from_json(text[idx:end], parsed), end


# -- wire classes --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Message:
    """A ``message`` member: a string, or a map of field to list of strings.

    Attributes:
        text: The message; for a map, every message joined with ``"; "``.
        fields: The per-field messages (empty for a plain string).
    """

    text: str
    fields: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class WireTransaction:
    """One entry of a postback's ``additional_data`` (or legacy ``transactions``)."""

    amount: Decimal
    currency_code: str | None = None
    wallet_type: str | None = None
    transaction_id: WireId | None = None
    stockpiling_id: WireId | None = None
    withdrawal_id: WireId | None = None
    # Kept as sent (1, "1", null, ...): the status map decides; unknown means UNKNOWN.
    withdrawal_status: Any = None
    plugin_custom_order_id: WireId | None = None
    activated_datetime: str | None = None
    created_datetime: str | None = None


@attrs.frozen(kw_only=True)
class WirePostback:
    """A postback in the current format (``access_key`` and ``signature`` left out)."""

    direction: str
    amount: Decimal
    currency_code: str
    additional_data: tuple[WireTransaction, ...]
    label: WireId | None = None
    wallet_type: str | None = None
    created_datetime: str | None = None
    converted_amount: ConvertedAmounts | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class WireLegacyPostback:
    """A postback in the legacy format (``access_key`` and ``signature`` left out).

    The legacy format has no ``direction``, ``amount``, ``currency_code`` or
    ``wallet_type``: they are read, when a body carries them, only to refuse one that
    contradicts its signed transactions.
    """

    transactions: tuple[WireTransaction, ...]
    label: WireId | None = None
    stockpiling_id: WireId | None = None
    stockpiling: ConvertedAmounts | None = attrs.field(default=None, eq=False)
    direction: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None
    wallet_type: str | None = None


@attrs.frozen(kw_only=True)
class WireDepositParams:
    """``params`` of the wallet-details answer."""

    identifier: WireId


@attrs.frozen(kw_only=True)
class WireDepositAnswer:
    """The answer to ``transaction/create/wavepay``."""

    status: str
    params: WireDepositParams | None = None
    message: Message | None = None


@attrs.frozen(kw_only=True)
class WireCurrency:
    """``currency`` of an activation answer."""

    code: str
    symbol: str | None = None


@attrs.frozen(kw_only=True)
class WireActivationAnswer:
    """The answer to ``transaction/activate``, all five shapes."""

    status: str
    deposit: bool | None = None
    deposit_amount: Decimal | None = None
    transactions_sum: Decimal | None = None
    stockpiling_sum: Decimal | None = None
    lacks_sum: Decimal | None = None
    minimum_deposit: Decimal | None = None
    currency: WireCurrency | None = None
    message: Message | None = None


@attrs.frozen(kw_only=True)
class WireWithdrawalAnswer:
    """The answer to ``v2/withdrawal/create``; the success answer may echo the request."""

    status: str | None = None
    message: Message | None = None
    withdrawal_id: WireId | None = None
    amount: Decimal | None = None
    currency_code: str | None = None


# -- the converter -------------------------------------------------------------------


def _type_error(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__} {value!r:.40}")


def _str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _type_error("a string", value)
    return value


def _int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error("an integer", value)
    return value


def _bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise _type_error("true or false", value)
    return value


def _decimal(value: object, _: type) -> Decimal:
    if isinstance(value, float):
        raise _type_error("an exact amount", value)
    return to_decimal(value)


def _wire_id(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _type_error("a string or integer id", value)


def _converted(value: object, _: type) -> ConvertedAmounts:
    if isinstance(value, ConvertedAmounts):
        return value
    if isinstance(value, Mapping):
        return ConvertedAmounts.from_mapping(value)
    raise _type_error("an object of currency code to amount", value)


def _message(value: object, _: type) -> Message:
    if isinstance(value, str):
        return Message(text=value)
    if isinstance(value, Mapping):
        fields: dict[str, tuple[str, ...]] = {}
        for key, messages in value.items():
            items = messages if isinstance(messages, list | tuple) else [messages]
            fields[str(key)] = tuple(str(item) for item in items)
        text = "; ".join(f"{key}: {item}" for key, items in fields.items() for item in items)
        return Message(text=text, fields=fields)
    raise _type_error("a message string or a map of field to messages", value)


def _is_wire_tuple(type_: Any) -> bool:  # noqa: ANN401 - any type cattrs asks about
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis  # noqa: PLR2004


def _array_factory(type_: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:  # noqa: ANN401
    inner = homogenous_tuple_structure_factory(type_, converter)

    def structure_array(value: object, target: Any) -> Any:  # noqa: ANN401
        # cattrs would iterate a dict's keys or a string's characters; JSON arrays only.
        if not isinstance(value, list | tuple):
            raise _type_error("a JSON array", value)
        return inner(value, target)

    return structure_array


def _optional(hook: Callable[[object, type], T]) -> Callable[[object, type], T | None]:
    def structure_optional(value: object, type_: type) -> T | None:
        return None if value is None else hook(value, type_)

    return structure_optional


def make_converter() -> cattrs.Converter:
    """Return the converter of the wire classes.

    Unknown members are ignored, known ones type-checked strictly, amounts exact.
    """
    converter = cattrs.Converter(forbid_extra_keys=False, detailed_validation=True)
    converter.register_structure_hook(str, _str)
    converter.register_structure_hook(int, _int)
    converter.register_structure_hook(bool, _bool)
    converter.register_structure_hook(Decimal, _decimal)
    converter.register_structure_hook(WireId, _wire_id)
    converter.register_structure_hook(ConvertedAmounts, _converted)
    converter.register_structure_hook(Message, _message)
    # Direct hooks for the optional members: cattrs' generic Optional handling costs a
    # quarter of structuring a postback.
    for type_, hook in ((str, _str), (WireId, _wire_id), (Decimal, _decimal), (bool, _bool)):
        converter.register_structure_hook(type_ | None, _optional(hook))
    converter.register_structure_hook_factory(_is_wire_tuple, _array_factory)
    converter.register_unstructure_hook(Decimal, str)
    converter.register_unstructure_hook(ConvertedAmounts, ConvertedAmounts.to_dict)
    converter.register_unstructure_hook(
        Message, lambda message: dict(message.fields) if message.fields else message.text
    )
    return converter


_CONVERTER = make_converter()


# -- the postback fast path ------------------------------------------------------------
# Every postback is structured, so the two postback classes have hand-written structure
# functions for well-typed input: the same hooks as the converter, inlined where a type
# check settles it. They return None at the first thing they do not expect, and the
# converter then structures the data from scratch and reports errors as it always has;
# so they never accept what the converter refuses nor build anything it would not.


def _fast_optional_id(value: object) -> str | None:
    """``WireId | None``; raise ``TypeError`` for anything but ``None``, str and int."""
    if value is None or type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    raise TypeError


def _fast_decimal(value: object) -> Decimal:
    """The ``Decimal`` hook for the amounts postbacks carry most: ``"6000"``, ``6000``."""
    kind = type(value)
    if kind is str:
        # ASCII digits only: plain decimal notation, nothing to_decimal would refuse.
        if value.isdigit() and value.isascii():  # type: ignore[attr-defined]
            return Decimal(value)  # type: ignore[arg-type]
    elif kind is int:
        return Decimal(value)  # type: ignore[arg-type]
    elif kind is Decimal and value.is_finite():  # type: ignore[attr-defined]
        return value  # type: ignore[return-value]
    return _decimal(value, Decimal)


def _fast_transaction(item: object) -> WireTransaction:
    """Structure one transaction; raise ``TypeError``/``KeyError`` to hand over to cattrs."""
    if type(item) is not dict:
        raise TypeError
    get = item.get
    currency_code, wallet_type = get("currency_code"), get("wallet_type")
    activated, created = get("activated_datetime"), get("created_datetime")
    transaction_id, stockpiling_id = get("transaction_id"), get("stockpiling_id")
    withdrawal_id, custom_id = get("withdrawal_id"), get("plugin_custom_order_id")
    if (
        (currency_code is not None and type(currency_code) is not str)
        or (wallet_type is not None and type(wallet_type) is not str)
        or (activated is not None and type(activated) is not str)
        or (created is not None and type(created) is not str)
    ):
        raise TypeError
    amount = item["amount"]
    return WireTransaction(
        amount=_fast_decimal(amount),
        currency_code=currency_code,
        wallet_type=wallet_type,
        transaction_id=transaction_id
        if type(transaction_id) is str
        else _fast_optional_id(transaction_id),  # type: ignore[arg-type]
        stockpiling_id=stockpiling_id
        if stockpiling_id is None
        else _fast_optional_id(stockpiling_id),  # type: ignore[arg-type]
        withdrawal_id=withdrawal_id if withdrawal_id is None else _fast_optional_id(withdrawal_id),  # type: ignore[arg-type]
        withdrawal_status=get("withdrawal_status"),
        plugin_custom_order_id=custom_id if custom_id is None else _fast_optional_id(custom_id),  # type: ignore[arg-type]
        activated_datetime=activated,
        created_datetime=created,
    )


def _fast_postback(data: dict[str, Any]) -> WirePostback:
    """Structure a current-format postback; raise to hand over to cattrs."""
    direction, currency, items = data["direction"], data["currency_code"], data["additional_data"]
    get = data.get
    wallet_type, created, converted = (
        get("wallet_type"),
        get("created_datetime"),
        get("converted_amount"),
    )
    if (
        type(direction) is not str
        or type(currency) is not str
        or type(items) is not list
        or (wallet_type is not None and type(wallet_type) is not str)
        or (created is not None and type(created) is not str)
        or (converted is not None and type(converted) is not ConvertedAmounts)
    ):
        raise TypeError
    return WirePostback(
        direction=direction,
        amount=_fast_decimal(data["amount"]),
        currency_code=currency,
        additional_data=tuple([_fast_transaction(item) for item in items]),
        label=_fast_optional_id(get("label")),  # type: ignore[arg-type]
        wallet_type=wallet_type,
        created_datetime=created,
        converted_amount=converted,
    )


def _fast_optional_decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    if type(value) is int:
        return Decimal(value)
    return _decimal(value, Decimal)


def _fast_message(value: object) -> Message | None:
    return None if value is None else _message(value, Message)


def _fast_optional_text(value: object) -> str | None:
    if value is None or type(value) is str:
        return value
    raise TypeError


def _fast_activation_answer(data: dict[str, Any]) -> WireActivationAnswer:
    """Structure an activation answer; raise to hand over to cattrs."""
    status, deposit, currency = data["status"], data.get("deposit"), data.get("currency")
    if type(status) is not str or (deposit is not None and type(deposit) is not bool):
        raise TypeError
    wire_currency = None
    if currency is not None:
        if type(currency) is not dict or type(currency["code"]) is not str:
            raise TypeError
        wire_currency = WireCurrency(
            code=currency["code"], symbol=_fast_optional_text(currency.get("symbol"))
        )
    return WireActivationAnswer(
        status=status,
        deposit=deposit,
        deposit_amount=_fast_optional_decimal(data.get("deposit_amount")),
        transactions_sum=_fast_optional_decimal(data.get("transactions_sum")),
        stockpiling_sum=_fast_optional_decimal(data.get("stockpiling_sum")),
        lacks_sum=_fast_optional_decimal(data.get("lacks_sum")),
        minimum_deposit=_fast_optional_decimal(data.get("minimum_deposit")),
        currency=wire_currency,
        message=_fast_message(data.get("message")),
    )


def _fast_withdrawal_answer(data: dict[str, Any]) -> WireWithdrawalAnswer:
    """Structure a withdrawal answer; raise to hand over to cattrs."""
    return WireWithdrawalAnswer(
        status=_fast_optional_text(data.get("status")),
        message=_fast_message(data.get("message")),
        withdrawal_id=_fast_optional_id(data.get("withdrawal_id")),  # type: ignore[arg-type]
        amount=_fast_optional_decimal(data.get("amount")),
        currency_code=_fast_optional_text(data.get("currency_code")),
    )


_FAST: dict[type[Any], Callable[[dict[str, Any]], Any]] = {
    WirePostback: _fast_postback,
    WireActivationAnswer: _fast_activation_answer,
    WireWithdrawalAnswer: _fast_withdrawal_answer,
}


def structure(data: object, cls: type[T], *, what: str) -> T:
    """Structure *data* into *cls*; errors become one readable MalformedPayloadError.

    Raises:
        MalformedPayloadError: a missing or mistyped member (the message lists each,
            with its path), chained to cattrs' error.
    """
    if not isinstance(data, dict):
        msg = f"{what} is not a JSON object"
        raise MalformedPayloadError(msg)
    fast = _FAST.get(cls)
    if fast is not None:
        try:
            return fast(data)  # type: ignore[no-any-return]
        except Exception:  # noqa: BLE001, S110 - the converter below reports it properly
            pass
    try:
        return _CONVERTER.structure(data, cls)
    except Exception as exc:
        details = "; ".join(cattrs.transform_error(exc, path="$"))
        msg = f"{what} is malformed: {details}"
        raise MalformedPayloadError(msg) from exc
