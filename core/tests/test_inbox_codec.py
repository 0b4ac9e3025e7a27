"""The stored event's JSON: a raw value's own stored form, as data or as spliced text."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

import payplane
from payplane import PostbackEvent, PostbackKind
from payplane._inbox._codec import event_from_dict, event_to_dict, event_to_json
from payplane._secrets import Redactor
from payplane.exceptions import MalformedPayloadError


class Lazy:
    """A provider's lazy raw value: its stored form as data, and maybe as text."""

    def __init__(self, data: dict[str, Any], text: str | None) -> None:
        self.data, self.text = data, text

    def __payplane_json__(self) -> dict[str, Any]:
        return self.data

    def __payplane_json_text__(self) -> str | None:
        return self.text


def _event(raw: dict[str, Any]) -> PostbackEvent:
    return PostbackEvent(
        provider="fakepsp",
        kind=PostbackKind.DEPOSIT,
        event_key="deposit:1",
        status=payplane.MappedStatus(payplane.DepositStatus.SUCCEEDED, "paid"),
        amount=payplane.Money("10.5", "USD"),
        raw=raw,
    )


DATA = {"USD": {"amount": "4.61", "currency": "USD"}, "MMK": {"amount": "1000", "currency": "MMK"}}
TEXT = json.dumps(DATA, separators=(",", ":"))


@pytest.mark.parametrize("text", [TEXT, None], ids=["spliced text", "data"])
def test_raw_value_stored_form_is_the_same_either_way(text: str | None) -> None:
    """The text form and the data form give one stored event, which reads back."""
    stored = event_to_json(_event({"map": Lazy(DATA, text), "n": Decimal("1.50")}))
    assert json.loads(stored)["raw"] == {"map": DATA, "n": "1.50"}
    assert stored == json.dumps(
        event_to_dict(_event({"map": DATA, "n": Decimal("1.50")})), separators=(",", ":")
    )
    assert event_from_dict(json.loads(stored)).raw["map"] == DATA


def test_a_secret_in_a_spliced_value_is_scrubbed() -> None:
    """The scrub sees the spliced text; when it must act, it works on the data."""
    secret = "s3cr3t-key"
    data = {"K": {"amount": "1", "currency": secret}}
    lazy = Lazy(data, json.dumps(data, separators=(",", ":")))
    stored = event_to_json(_event({"map": lazy}), scrub=Redactor([secret]))
    assert secret not in stored
    assert json.loads(stored)["raw"]["map"]["K"]["currency"] == "***"


def test_a_string_that_looks_like_a_placeholder_is_kept_as_written() -> None:
    """Raw text shaped like the splice placeholder (without its random token) stays as is."""
    fake = "\x00payplane-json-0000000000000000-0\x00"
    stored = event_to_json(_event({"map": Lazy(DATA, TEXT), "fake": fake}))
    raw = json.loads(stored)["raw"]
    assert raw == {"map": DATA, "fake": fake}


def test_a_raw_value_counts_two_levels_deep() -> None:
    """A raw value's stored form is taken as two levels for the nesting limit."""
    event = _event({"map": Lazy(DATA, TEXT)})
    event_to_json(event, max_depth=4)  # event 1, raw 2, map 3, entries 4
    with pytest.raises(MalformedPayloadError, match="deeper than 3 levels"):
        event_to_json(event, max_depth=3)
