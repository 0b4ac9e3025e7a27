"""Fixtures of the Razorpay provider's tests: data files, settings, providers, flow stepping.

Tests run with ``--import-mode=importlib``, so test modules cannot import this one;
helpers reach them through the session-scoped :func:`kit` fixture.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from payplane import Flow, HttpRequest, HttpResponse
from payplane_razorpay import RazorpayProvider, RazorpaySettings
from payplane_razorpay._contract import answer, error_answer, signed_webhook

NOW = 1_735_689_000.0
"""The tests' clock: 2025-01-01T00:50:00Z."""


class FlowRecord:
    """What a flow yielded and returned when fed recorded answers."""

    def __init__(self, requests: list[HttpRequest], result: object) -> None:
        self.requests = requests
        self.result = result


class Kit:
    """Test helpers: data files, settings, providers, signed webhooks, flow stepping."""

    data = Path(__file__).parent / "data"
    # Made-up keys, 8 characters or more so the root conftest's log check can see them.
    key_id = "rzp_test_Kit000000000001"
    key_secret = "kit-key-secret-0001"
    webhook_secret = "kit-webhook-secret-0001"
    account_number = "7878780080316316"
    now = NOW

    answer = staticmethod(answer)
    error_answer = staticmethod(error_answer)

    def load(self, name: str) -> Any:
        """Return the parsed JSON data file *name* (without ``.json``)."""
        return json.loads((self.data / f"{name}.json").read_text(encoding="utf-8"))

    def settings_values(self, **overrides: object) -> dict[str, Any]:
        """Return a settings mapping with made-up keys; *overrides* replace fields."""
        values: dict[str, Any] = {
            "key_id": self.key_id,
            "key_secret": self.key_secret,
            "webhook_secret": self.webhook_secret,
            "payout_account_number": self.account_number,
        }
        values.update(overrides)
        return values

    def settings(self, **overrides: object) -> RazorpaySettings:
        """Return settings with made-up keys; *overrides* replace fields."""
        return RazorpaySettings(**self.settings_values(**overrides))

    def provider(self, **overrides: object) -> RazorpayProvider:
        """Return a provider over :meth:`settings`, on the tests' clock."""
        return RazorpayProvider(self.settings(**overrides), clock=lambda: NOW)

    def webhook(
        self, event: str, payload: dict[str, Any], **kwargs: Any
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook body and headers signed with the kit's webhook secret."""
        kwargs.setdefault("secret", self.webhook_secret)
        return signed_webhook(event, payload, **kwargs)

    @staticmethod
    def run(flow: Flow[Any], responses: Sequence[HttpResponse]) -> FlowRecord:
        """Feed *responses* to *flow* one per request; return what it yielded and returned.

        Fails the test if the flow asks for more requests than there are responses, or
        returns before using them all.
        """
        requests: list[HttpRequest] = []
        answers = iter(responses)
        try:
            request = next(flow)
            while True:
                requests.append(request)
                response = next(answers, None)
                if response is None:
                    flow.close()
                    pytest.fail(f"the flow asked for request {len(requests)}: {request.url}")
                request = flow.send(response)
        except StopIteration as stop:
            leftover = list(answers)
            assert not leftover, f"{len(leftover)} answer(s) unused"
            return FlowRecord(requests, stop.value)

    @staticmethod
    def first_request(flow: Flow[Any]) -> HttpRequest:
        """Run *flow* to its first request (checks run then) and close it."""
        try:
            return next(flow)
        finally:
            flow.close()

    @staticmethod
    def body(request: HttpRequest) -> Any:
        """The JSON body of *request*."""
        return json.loads(request.content)


@pytest.fixture(scope="session")
def kit() -> Kit:
    """The test helpers."""
    return Kit()


@pytest.fixture(scope="session")
def vectors(kit: Kit) -> dict[str, Any]:
    """The signature vectors (a copy of ../shared/vectors/razorpay.json)."""
    data: dict[str, Any] = kit.load("razorpay_vectors")
    return data


@pytest.fixture
def settings(kit: Kit) -> RazorpaySettings:
    """Settings with made-up keys."""
    return kit.settings()


@pytest.fixture
def provider(kit: Kit) -> RazorpayProvider:
    """A provider with made-up keys, on the tests' clock."""
    return kit.provider()
