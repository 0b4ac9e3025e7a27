"""Deposits: one Payment Link per deposit, its checks, and a reused reference."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from payplane import DepositRequest, Money
from payplane.exceptions import (
    IntegrityError,
    MalformedPayloadError,
    NotFoundError,
    ProviderDeclinedError,
    ValidationError,
)
from payplane_razorpay import RazorpayProvider
from payplane_razorpay._contract import link_entity


def _request(**fields: Any) -> DepositRequest:
    values: dict[str, Any] = {
        "customer_id": "cust-1",
        "currency": "INR",
        "amount": Money("500.00", "INR"),
        "reference": "dep_0001",
    }
    values.update(fields)
    return DepositRequest(**values)


def _now(kit: Any, **delta: float) -> datetime:
    return datetime.fromtimestamp(kit.now, UTC) + timedelta(**delta)


def test_link_request(kit: Any, provider: RazorpayProvider) -> None:
    """The link is created with amount in paise, reference_id, notes, notify, Basic auth."""
    request = kit.first_request(provider.start_deposit(_request()))
    assert (request.method, request.url) == ("POST", "https://api.razorpay.com/v1/payment_links")
    assert kit.body(request) == {
        "amount": 50000,
        "currency": "INR",
        "reference_id": "dep_0001",
        "notes": {"payplane_reference": "dep_0001", "payplane_customer_id": "cust-1"},
        "notify": {"sms": False, "email": False},
    }
    token = base64.b64encode(f"{kit.key_id}:{kit.key_secret}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {token}"
    assert (request.moves_money, request.replay_safe) == (False, True)


def test_link_request_optional_fields(kit: Any, provider: RazorpayProvider) -> None:
    """Customer, expiry, callback (GET) and description are sent when given."""
    expires = _now(kit, hours=2)
    request = _request(
        customer_name="Gaurav Kumar",
        customer_email="gaurav.kumar@example.com",
        customer_phone="+919000090000",
        expires_at=expires,
        success_url="https://merchant.example/return",
        fail_url="https://merchant.example/fail",
        extra={"description": "Top-up"},
    )
    body = kit.body(kit.first_request(provider.start_deposit(request)))
    assert body["customer"] == {
        "name": "Gaurav Kumar",
        "email": "gaurav.kumar@example.com",
        "contact": "+919000090000",
    }
    assert body["expire_by"] == int(expires.timestamp())
    assert (body["callback_url"], body["callback_method"]) == (
        "https://merchant.example/return",
        "get",
    )
    assert body["description"] == "Top-up"


def test_notify_settings(kit: Any) -> None:
    """Razorpay sends the link by SMS/email only when the settings say so."""
    provider = kit.provider(notify_sms=True, notify_email=True)
    body = kit.body(kit.first_request(provider.start_deposit(_request())))
    assert body["notify"] == {"sms": True, "email": True}


def test_zero_and_three_decimal_currencies(kit: Any, provider: RazorpayProvider) -> None:
    """JPY goes in whole yen, KWD in fils (the third decimal being 0)."""
    jpy = _request(currency="JPY", amount=Money("295", "JPY"))
    kwd = _request(currency="KWD", amount=Money("99.990", "KWD"))
    assert kit.body(kit.first_request(provider.start_deposit(jpy)))["amount"] == 295
    assert kit.body(kit.first_request(provider.start_deposit(kwd)))["amount"] == 99990


def test_deposit_start(kit: Any, provider: RazorpayProvider) -> None:
    """The answer gives the hosted page (short_url), the link id, the expiry, the raw answer."""
    entity = link_entity(expire_by=int(kit.now) + 7200)
    record = kit.run(provider.start_deposit(_request()), [kit.answer(entity)])
    start = record.result
    assert start.hosted_page_url == "https://rzp.io/i/AbCdEfG"
    assert (start.reference, start.provider_reference) == ("dep_0001", "plink_TestLink000001")
    assert start.expires_at == datetime.fromtimestamp(kit.now + 7200, UTC)
    assert start.payment_details is None
    assert start.raw["short_url"] == "https://rzp.io/i/AbCdEfG"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": None}, "amount"),
        ({"reference": None}, "reference"),
        ({"reference": "r" * 41}, "reference"),
        ({"customer_id": "c" * 256}, "customer_id"),
        ({"amount": Money("0.99", "INR")}, "amount"),
        ({"amount": Money("500.001", "INR")}, "amount"),
        ({"currency": "KWD", "amount": Money("99.991", "KWD")}, "amount"),
        ({"currency": "JPY", "amount": Money("1.5", "JPY")}, "amount"),
        ({"hosted_page": False}, "hosted_page"),
        ({"success_url": "javascript:alert(1)"}, "success_url"),
        ({"extra": {"upi_link": "true"}}, "extra"),
        ({"extra": {"description": "d" * 2049}}, "extra.description"),
    ],
)
def test_refused_before_sending(
    kit: Any, provider: RazorpayProvider, fields: dict[str, Any], field: str
) -> None:
    """Each broken rule is a ValidationError naming the field, before any request."""
    with pytest.raises(ValidationError) as caught:
        kit.first_request(provider.start_deposit(_request(**fields)))
    assert caught.value.field == field
    assert caught.value.limit


@pytest.mark.parametrize(
    ("delta", "limit"),
    [
        ({"minutes": 14}, "at least 15 minutes ahead"),
        ({"days": 181}, "at most 180 days ahead"),
    ],
)
def test_expiry_bounds(kit: Any, provider: RazorpayProvider, delta: Any, limit: str) -> None:
    """An expiry under 15 minutes or over 180 days ahead is refused, naming expires_at."""
    with pytest.raises(ValidationError) as caught:
        kit.first_request(provider.start_deposit(_request(expires_at=_now(kit, **delta))))
    assert (caught.value.field, caught.value.limit) == ("expires_at", limit)


def test_expiry_bounds_inclusive(kit: Any, provider: RazorpayProvider) -> None:
    """Exactly 15 minutes and exactly 180 days ahead are accepted."""
    for delta in ({"minutes": 15}, {"days": 180}):
        request = _request(expires_at=_now(kit, **delta))
        assert "expire_by" in kit.body(kit.first_request(provider.start_deposit(request)))


def test_payment_details_ignored_with_hosted_page(kit: Any, provider: RazorpayProvider) -> None:
    """payment_details=True (the default) is ignored when a hosted page is asked for."""
    record = kit.run(
        provider.start_deposit(_request(payment_details=True)), [kit.answer(link_entity())]
    )
    assert record.result.payment_details is None


def test_refusal_is_declined(kit: Any, provider: RazorpayProvider) -> None:
    """A Razorpay error becomes ProviderDeclinedError with the field and description."""
    refusal = kit.error_answer("The amount must be at least INR 1.00", field="amount")
    with pytest.raises(ProviderDeclinedError) as caught:
        kit.run(provider.start_deposit(_request()), [refusal])
    assert caught.value.field_errors == {"amount": ("The amount must be at least INR 1.00",)}


def test_reused_reference_finds_the_link(kit: Any, provider: RazorpayProvider) -> None:
    """ "already attempted" (a retry after a lost answer) lists links by reference_id."""
    refusal = kit.error_answer(
        "payment link creation with reference ID already attempted", field="reference_id"
    )
    listing = kit.answer({"payment_links": [link_entity()]})
    record = kit.run(provider.start_deposit(_request()), [refusal, listing])
    assert record.requests[1].url == (
        "https://api.razorpay.com/v1/payment_links?reference_id=dep_0001"
    )
    assert (record.requests[1].method, record.requests[1].replay_safe) == ("GET", True)
    assert record.result.provider_reference == "plink_TestLink000001"


def test_reused_reference_reads_items_collections(kit: Any, provider: RazorpayProvider) -> None:
    """The listing may also come in the generic collection shape (items)."""
    refusal = kit.error_answer("payment link creation with reference ID already attempted")
    listing = kit.answer({"entity": "collection", "count": 1, "items": [link_entity()]})
    record = kit.run(provider.start_deposit(_request()), [refusal, listing])
    assert record.result.hosted_page_url == "https://rzp.io/i/AbCdEfG"


def test_reused_reference_of_another_deposit(kit: Any, provider: RazorpayProvider) -> None:
    """A reference already used for another amount is declined, naming the reference."""
    refusal = kit.error_answer("payment link creation with reference ID already attempted")
    listing = kit.answer({"payment_links": [link_entity(amount=70000)]})
    with pytest.raises(ProviderDeclinedError) as caught:
        kit.run(provider.start_deposit(_request()), [refusal, listing])
    assert "reference" in caught.value.field_errors


def test_reused_reference_not_listed(kit: Any, provider: RazorpayProvider) -> None:
    """A refused reference with no link listed is a NotFoundError for the deposit."""
    refusal = kit.error_answer("payment link creation with reference ID already attempted")
    with pytest.raises(NotFoundError) as caught:
        kit.run(provider.start_deposit(_request()), [refusal, kit.answer({"payment_links": []})])
    assert (caught.value.kind, caught.value.reference) == ("deposit", "dep_0001")


def test_answer_for_another_amount(kit: Any, provider: RazorpayProvider) -> None:
    """A link answer of another amount than asked contradicts the request."""
    with pytest.raises(IntegrityError):
        kit.run(provider.start_deposit(_request()), [kit.answer(link_entity(amount=1))])


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b'{"id": "plink_1"}',
        b'{"id": 5, "amount": 50000, "status": "created"}',
    ],
)
def test_malformed_answers(kit: Any, provider: RazorpayProvider, content: bytes) -> None:
    """A 2xx answer that is not a link is a MalformedPayloadError."""
    from payplane import HttpResponse  # noqa: PLC0415

    with pytest.raises(MalformedPayloadError):
        kit.run(
            provider.start_deposit(_request()), [HttpResponse(status_code=200, content=content)]
        )


def test_link_without_short_url(kit: Any, provider: RazorpayProvider) -> None:
    """A link answer without short_url gives no page: malformed."""
    with pytest.raises(MalformedPayloadError, match="short_url"):
        kit.run(provider.start_deposit(_request()), [kit.answer(link_entity(short_url=None))])
