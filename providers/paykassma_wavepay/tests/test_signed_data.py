"""Signed data decides: kind, amounts, currency and transactions come from the signed member.

Paykassma signs only the raw text of ``additional_data`` (legacy: ``transactions``). These
tests build correctly signed postbacks, then change what the signature does not cover:
the postback is either refused (``MalformedPayloadError``) or read exactly as the signed
entries say.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event as event_
from hypothesis import given
from hypothesis import strategies as st

from payplane import Money, PostbackEvent, PostbackKind
from payplane.exceptions import MalformedPayloadError
from payplane_paykassma_wavepay import WavepayProvider, postback_signature
from payplane_paykassma_wavepay._postbacks import (
    LEGACY_UNSIGNED_FIELDS,
    UNSIGNED_FIELDS,
    WITHDRAWAL_STATUSES,
)


def php_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sign(kit: Any, members: dict[str, Any], signed: str, member: str) -> bytes:
    """Return a body: *members* in order, the signed *member* as *signed* text, signed."""
    head = {"access_key": kit.access_key}
    head["signature"] = postback_signature(kit.access_key, kit.private_key, signed)
    text = php_json({**head, **members})
    return f'{text[:-1]},"{member}":{signed}}}'.encode()


# -- the signed entries ------------------------------------------------------------

identifiers = st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=10)
amounts = st.one_of(
    st.integers(min_value=1, max_value=10**9).map(Decimal),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2),
)


def wire_amount(amount: Decimal) -> st.SearchStrategy[object]:
    """The forms Paykassma writes an amount in: a string, an integer or a JSON number."""
    forms: list[object] = [str(amount)]
    if amount == amount.to_integral_value():
        forms.append(int(amount))
    else:
        forms.append(float(amount))
    return st.sampled_from(forms)


@st.composite
def deposit_entries(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One to four signed deposit entries, as Paykassma lists them."""
    ids = draw(st.lists(identifiers, min_size=1, max_size=4, unique=True))
    with_currency = draw(st.booleans())
    entries = []
    for transaction_id in ids:
        amount = draw(amounts)
        entry: dict[str, Any] = {
            "activated_datetime": "2023-08-01 16:37:16",
            "amount": draw(wire_amount(amount)),
            "wallet_type": "wavepay",
            "transaction_id": transaction_id,
            "withdrawal_id": draw(st.sampled_from([None, ""])),
            "withdrawal_status": draw(st.sampled_from([None, ""])),
            "plugin_custom_order_id": None,
            "bank_details": {"bank_code": "", "branch_code": ""},
        }
        if with_currency:
            entry["currency_code"] = "MMK"
        entries.append(entry)
    return entries


@st.composite
def withdrawal_entries(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One signed withdrawal entry; sometimes with a non-empty transaction_id too."""
    amount = draw(amounts)
    entry: dict[str, Any] = {
        "activated_datetime": "",
        "amount": draw(wire_amount(amount)),
        "currency_code": "MMK",
        "wallet_type": "wavepay",
        "transaction_id": draw(st.sampled_from(["", "CD0C06E08D"])),
        "withdrawal_id": draw(identifiers),
        "withdrawal_status": draw(st.sampled_from([1, 5, 3, "1", 0])),
        "plugin_custom_order_id": "",
        "account_number": "56432467654",
    }
    return [entry]


def signed_sum(entries: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(entry["amount"])) for entry in entries), Decimal(0))


def top_level(entries: list[dict[str, Any]], kind: PostbackKind) -> dict[str, Any]:
    """The unsigned members that agree with *entries*."""
    total = signed_sum(entries)
    return {
        "wallet_type": "wavepay",
        "amount": str(total),
        "currency_code": "MMK",
        "label": "7848747947846",
        "converted_amount": {"USD": 4.61},
        "direction": "ingoing" if kind is PostbackKind.DEPOSIT else "outgoing",
        "created_datetime": "2023-08-01 13:37:42",
    }


postback_entries = st.one_of(
    deposit_entries().map(lambda e: (PostbackKind.DEPOSIT, e)),
    withdrawal_entries().map(lambda e: (PostbackKind.WITHDRAWAL, e)),
)


# -- changes to what is not signed ----------------------------------------------------

unsigned_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["MMK", "USD", "mmk", "", "ingoing", "outgoing", "wavepay", "nagad"]),
    st.text(max_size=12),
)


@st.composite
def tamperings(draw: st.DrawFn, entries: list[dict[str, Any]]) -> dict[str, object]:
    """Replacements for unsigned members (``...`` removes one), none of them signed."""
    amount_choices = [str(signed_sum(entries)), *(str(e["amount"]) for e in entries)]
    values = {
        "amount": st.one_of(
            st.sampled_from(amount_choices),
            st.sampled_from(["600000", "1e999999", "-0", "1e-999999", "9" * 40]),
            st.decimals(allow_nan=False, allow_infinity=False).map(str),
            unsigned_values,
        ),
        "currency_code": st.sampled_from(["MMK", "USD", "EUR", "mmk", "", None, 5]),
        "direction": st.sampled_from(["ingoing", "outgoing", "sideways", "", None]),
        "label": st.one_of(st.text(max_size=20), st.integers(), st.none()),
        "wallet_type": st.sampled_from(["wavepay", "nagad", "", None]),
        "created_datetime": st.sampled_from(["2023-08-01 13:37:42", "2099-12-31 23:59:59", ""]),
        "brand_new": unsigned_values,
    }
    names = draw(st.lists(st.sampled_from(sorted(values)), min_size=1, unique=True))
    return {name: ... if draw(st.integers(0, 5)) == 0 else draw(values[name]) for name in names}


def apply(members: dict[str, Any], changes: dict[str, object]) -> dict[str, Any]:
    changed = dict(members)
    for name, value in changes.items():
        if value is ...:
            changed.pop(name, None)
        else:
            changed[name] = value
    return changed


def assert_read_as_signed(
    event: PostbackEvent, kind: PostbackKind, entries: list[dict[str, Any]], key: str
) -> None:
    """The event says exactly what the signed entries say."""
    assert event.kind is kind
    assert event.event_key == key
    assert event.amount == Money(signed_sum(entries), "MMK")
    assert [t.amount.amount for t in event.transactions] == [
        Decimal(str(e["amount"])) for e in entries
    ]
    assert [t.transaction_id for t in event.transactions] == [
        e["transaction_id"] or None for e in entries
    ]
    if kind is PostbackKind.WITHDRAWAL:
        assert event.reference == entries[0]["withdrawal_id"]
        assert event.status == WITHDRAWAL_STATUSES.map(entries[0]["withdrawal_status"])
    assert "customer_id" in event.unsigned


@given(postback_entries, st.data())
def test_unsigned_changes_are_refused_or_change_nothing_signed(
    kit: Any, case: tuple[PostbackKind, list[dict[str, Any]]], data: st.DataObject
) -> None:
    """Changing unsigned members of a signed postback: refused, or read as signed."""
    kind, entries = case
    provider = kit.provider()
    signed = php_json(entries)
    members = top_level(entries, kind)
    original = provider.verify_postback(sign(kit, members, signed, "additional_data"), {})
    assert_read_as_signed(original, kind, entries, original.event_key)

    changes = data.draw(tamperings(entries))
    body = sign(kit, apply(members, changes), signed, "additional_data")
    try:
        event = provider.verify_postback(body, {})
    except MalformedPayloadError:
        event_("refused")
        return
    event_("read as signed")
    assert_read_as_signed(event, kind, entries, original.event_key)


@given(postback_entries, st.data())
def test_renaming_the_signed_member_to_legacy(
    kit: Any, case: tuple[PostbackKind, list[dict[str, Any]]], data: st.DataObject
) -> None:
    """The signed list renamed `transactions` (still verifies): refused, or the same event.

    A withdrawal is always refused: the legacy format carries deposits only.
    """
    kind, entries = case
    provider = kit.provider()
    signed = php_json(entries)
    members = top_level(entries, kind)
    original = provider.verify_postback(sign(kit, members, signed, "additional_data"), {})
    changes = data.draw(st.one_of(st.just({}), tamperings(entries)))
    body = sign(kit, apply(members, changes), signed, "transactions")
    try:
        event = provider.verify_postback(body, {})
    except MalformedPayloadError:
        event_("refused")
        return
    event_("read as signed")
    assert kind is PostbackKind.DEPOSIT
    assert_read_as_signed(event, kind, entries, original.event_key)
    assert event.unsigned == LEGACY_UNSIGNED_FIELDS


# -- the faults the issue shows, and each member's rule -------------------------------


@pytest.fixture
def deposit(kit: Any) -> dict[str, Any]:
    data: dict[str, Any] = kit.load("seed_postback_deposit")
    return data


@pytest.fixture
def withdrawal(kit: Any) -> dict[str, Any]:
    data: dict[str, Any] = kit.load("seed_postback_withdrawal")
    return data


def one_entry(deposit: dict[str, Any], amount: str = "100") -> dict[str, Any]:
    """The seed deposit with one entry of *amount*, its top-level amount agreeing."""
    entry = {**deposit["additional_data"][0], "amount": amount}
    return {**deposit, "amount": int(amount), "additional_data": [entry]}


def test_unsigned_amount_is_refused(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """Entries totalling 100 MMK with a top-level amount of 600000: refused."""
    body = kit.signed_body({**one_entry(deposit), "amount": 600000, "label": "someone-else"})
    with pytest.raises(MalformedPayloadError, match="amount: 600000 contradicts"):
        provider.verify_postback(body, {})


def test_event_amount_is_the_signed_sum(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """The event's amount is the entries' sum, never the top-level member."""
    event = provider.verify_postback(kit.signed_body({**deposit, "amount": "6100.00"}), {})
    assert event.amount == Money("6100", "MMK")


@pytest.mark.parametrize("amount", ["6000", "100"])
def test_amount_of_one_entry_is_accepted(
    kit: Any, provider: WavepayProvider, deposit: Any, amount: str
) -> None:
    """As in Paykassma's example, a top-level amount equal to one entry's passes; sum used."""
    event = provider.verify_postback(kit.signed_body({**deposit, "amount": amount}), {})
    assert event.amount == Money("6100", "MMK")


@pytest.mark.parametrize("amount", ["1e999999", "-0", "1e-999999", "6100.0000001", 1, "99" * 20])
def test_absurd_unsigned_amounts_are_refused(
    kit: Any, provider: WavepayProvider, deposit: Any, amount: str | int
) -> None:
    """Huge, tiny, negative zero and 40-digit top-level amounts contradict the entries."""
    with pytest.raises(MalformedPayloadError, match="amount"):
        provider.verify_postback(kit.signed_body({**deposit, "amount": amount}), {})


def test_withdrawal_entry_with_ingoing_direction_is_refused(
    kit: Any, provider: WavepayProvider, withdrawal: Any
) -> None:
    """A signed withdrawal entry carrying a transaction_id, sent as ingoing: refused."""
    entry = {**withdrawal["additional_data"][0], "transaction_id": "CD0C06E08D"}
    body = kit.signed_body({**withdrawal, "direction": "ingoing", "additional_data": [entry]})
    with pytest.raises(MalformedPayloadError, match="which lists a withdrawal"):
        provider.verify_postback(body, {})


def test_deposit_entries_with_outgoing_direction_are_refused(
    kit: Any, provider: WavepayProvider, deposit: Any
) -> None:
    """Signed deposit entries sent as outgoing: refused."""
    with pytest.raises(MalformedPayloadError, match="which lists deposits"):
        provider.verify_postback(kit.signed_body({**deposit, "direction": "outgoing"}), {})


def test_withdrawal_renamed_legacy_is_refused(
    kit: Any, provider: WavepayProvider, withdrawal: Any
) -> None:
    """A signed withdrawal list renamed to the legacy `transactions`: refused."""
    entry = {**withdrawal["additional_data"][0], "transaction_id": "CD0C06E08D"}
    members = {"label": withdrawal["label"]}
    body = sign(kit, members, php_json([entry]), "transactions")
    with pytest.raises(MalformedPayloadError, match="deposits only"):
        provider.verify_postback(body, {})


def test_mixed_entries_are_refused(
    kit: Any, provider: WavepayProvider, deposit: Any, withdrawal: Any
) -> None:
    """A deposit entry and a withdrawal entry in one postback: refused."""
    entries = [deposit["additional_data"][0], withdrawal["additional_data"][0]]
    body = kit.signed_body({**deposit, "additional_data": entries})
    with pytest.raises(MalformedPayloadError, match="mix deposits and withdrawals"):
        provider.verify_postback(body, {})


def test_entry_without_ids_is_refused(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """An entry that is neither a deposit nor a withdrawal says no kind: refused."""
    entry = {**deposit["additional_data"][0], "transaction_id": ""}
    body = kit.signed_body({**deposit, "additional_data": [entry]})
    with pytest.raises(MalformedPayloadError, match=r"additional_data\[0\]: neither"):
        provider.verify_postback(body, {})


def test_unsigned_currency_contradicting_entries_is_refused(
    kit: Any, provider: WavepayProvider, deposit: Any
) -> None:
    """Entries in MMK, top-level currency_code USD: refused."""
    with pytest.raises(MalformedPayloadError, match="currency_code: 'USD' contradicts"):
        provider.verify_postback(kit.signed_body({**deposit, "currency_code": "USD"}), {})


def test_currency_comes_from_the_entries(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """Entries in USD (signed) with a USD top level: a USD event, not MMK."""
    entries = [{**entry, "currency_code": "USD"} for entry in deposit["additional_data"]]
    body = kit.signed_body({**deposit, "currency_code": "USD", "additional_data": entries})
    event = provider.verify_postback(body, {})
    assert event.amount == Money("6100", "USD")
    assert all(t.amount.currency == "USD" for t in event.transactions)


def test_entries_without_currency_take_mmk_only(
    kit: Any, provider: WavepayProvider, deposit: Any
) -> None:
    """Entries naming no currency are in the top-level code only if it is MMK."""
    entries = [
        {k: v for k, v in entry.items() if k != "currency_code"}
        for entry in deposit["additional_data"]
    ]
    event = provider.verify_postback(kit.signed_body({**deposit, "additional_data": entries}), {})
    assert event.amount == Money("6100", "MMK")
    body = kit.signed_body({**deposit, "currency_code": "USD", "additional_data": entries})
    with pytest.raises(MalformedPayloadError, match="is not MMK"):
        provider.verify_postback(body, {})


def test_entries_in_two_currencies_are_refused(
    kit: Any, provider: WavepayProvider, deposit: Any
) -> None:
    """A signed list mixing currencies has no one amount: refused."""
    first, second = deposit["additional_data"]
    entries = [first, {**second, "currency_code": "USD"}]
    body = kit.signed_body({**deposit, "additional_data": entries})
    with pytest.raises(MalformedPayloadError, match="mix currencies"):
        provider.verify_postback(body, {})


def test_unsigned_wallet_type_contradicting_entries_is_refused(
    kit: Any, provider: WavepayProvider, deposit: Any
) -> None:
    """Entries of wavepay with a top-level wallet_type of another wallet: refused."""
    with pytest.raises(MalformedPayloadError, match="wallet_type: 'nagad' contradicts"):
        provider.verify_postback(kit.signed_body({**deposit, "wallet_type": "nagad"}), {})


@pytest.mark.parametrize(
    ("member", "value"),
    [("amount", 1), ("currency_code", "USD"), ("direction", "outgoing"), ("wallet_type", "x")],
)
def test_legacy_unsigned_members_are_checked_too(
    kit: Any, vectors: dict[str, Any], member: str, value: object
) -> None:
    """A legacy body carrying a contradicting amount, currency, direction or wallet: refused."""
    vector = vectors["postback"][4]
    provider = kit.provider(
        postback_access_key=vector["access_key"], postback_private_key=vector["private_key"]
    )
    body = vector["body"].replace('"label":"77"', f'"label":"77","{member}":{json.dumps(value)}')
    with pytest.raises(MalformedPayloadError, match=member):
        provider.verify_postback(body.encode(), {})


@pytest.mark.parametrize("label", ["a\nb", "x\x00", "\ud800", "tab\t", "\x85"])
def test_label_with_control_characters_is_refused(
    kit: Any, provider: WavepayProvider, deposit: Any, label: str
) -> None:
    """The unsigned label (customer_id) holding a control character or lone surrogate."""
    body = kit.signed_body({**deposit, "label": "PLACEHOLDER"})
    body = body.replace(b'"PLACEHOLDER"', json.dumps(label).encode())
    with pytest.raises(MalformedPayloadError, match="label"):
        provider.verify_postback(body, {})


def test_unsigned_fields_are_named(
    kit: Any, provider: WavepayProvider, deposit: Any, withdrawal: Any
) -> None:
    """customer_id and occurred_at come from unsigned members, and the event says so."""
    for body in (deposit, withdrawal):
        event = provider.verify_postback(kit.signed_body(body), {})
        assert event.unsigned == UNSIGNED_FIELDS == {"customer_id", "occurred_at"}


@pytest.mark.parametrize(
    "amount", ["0", "-100", "0.000000001", "1000000000000000000", "1e18", 0, -1]
)
def test_signed_amounts_outside_bounds_are_refused(
    kit: Any, provider: WavepayProvider, deposit: Any, amount: object
) -> None:
    """An entry's amount must be at least 0.00000001 and below 10^18."""
    entry = {**deposit["additional_data"][0], "amount": amount}
    body = kit.signed_body({**deposit, "additional_data": [entry], "amount": 1})
    with pytest.raises(MalformedPayloadError, match=r"additional_data\[0\]\.amount"):
        provider.verify_postback(body, {})


def test_many_entries_sum_exactly(kit: Any, provider: WavepayProvider, deposit: Any) -> None:
    """Sums beyond 28 digits (decimal's default precision) are exact."""
    template = deposit["additional_data"][0]
    entries = [
        {**template, "transaction_id": "A", "amount": "999999999999999999.999999999999"},
        {**template, "transaction_id": "B", "amount": "0.00000001"},
    ]
    body = kit.signed_body({**deposit, "additional_data": entries, "amount": "0.00000001"})
    event = provider.verify_postback(body, {})
    assert event.amount.amount == Decimal("1000000000000000000.000000009999")
