"""The contract suite's checks fail where they must: each test breaks FakePSP one way.

The checks are called directly on a hand-built subject (a FakePSP variant and its
samples), so each test shows one rule catching one fault, with the message it gives.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import payplane_fakepsp
import pytest
from payplane_fakepsp import FakeProvider

import payplane
from payplane import Flow, HttpRequest, HttpResponse, WithdrawalRequest
from payplane.exceptions import ValidationError
from payplane.testing import ContractSamples, ProviderContract
from payplane.testing._checks import ContractSubject, Harness

Failed = pytest.fail.Exception


@pytest.fixture
def make() -> Iterator[Any]:
    """Build (subject, harness) for a FakePSP variant; harnesses are closed after the test."""
    harnesses: list[Harness] = []

    def build(
        factory: type[FakeProvider] = FakeProvider,
        samples: ContractSamples | None = None,
        **spec_changes: Any,
    ) -> tuple[ContractSubject, Harness]:
        spec = attrs.evolve(payplane_fakepsp.SPEC, factory=factory, **spec_changes)
        registry = payplane.Registry(autoload=False)
        settings = spec.make_settings(dict(payplane_fakepsp.SAMPLE_SETTINGS))
        assert isinstance(settings, payplane_fakepsp.FakeSettings)
        provider = factory(settings)
        subject = ContractSubject(
            spec=spec,
            settings=settings,
            provider=provider,
            samples=samples or payplane_fakepsp.contract_samples(),
            registry=registry,
        )
        harness = Harness(subject)
        harnesses.append(harness)
        return subject, harness

    yield build
    for harness in harnesses:
        harness.close()


class RefusesUSDPayouts(FakeProvider):
    """Declares USD, but refuses every USD payout."""

    def create_withdrawal(self, request: WithdrawalRequest) -> Flow[payplane.WithdrawalResult]:
        if request.amount.currency == "USD":
            raise ValidationError("amount.currency", "no USD payouts", limit="MMK, JPY, KWD")
        return (yield from super().create_withdrawal(request))


def test_a_declared_currency_nothing_builds_in_fails_generation(make: Any) -> None:
    """Refusing every USD payout while declaring USD fails: refusals alone are no pass."""
    subject, harness = make(RefusesUSDPayouts)
    with pytest.raises(Failed) as info:
        ProviderContract().test_generated_requests_build(subject, harness)
    assert "no generated request builds for withdrawals in USD" in str(info.value)
    assert "no USD payouts" in str(info.value)
    assert "withdrawals in MMK" not in str(info.value)


def test_a_declared_currency_nothing_builds_in_fails_the_money_check(make: Any) -> None:
    """The money check reaches every declared payout currency, and says which one it cannot."""
    subject, harness = make(RefusesUSDPayouts)
    with pytest.raises(Failed, match="no amount reached the provider for withdrawals in USD"):
        ProviderContract().test_money_is_exact(subject, harness)


def test_declaring_fewer_currencies_for_the_capability_passes(make: Any) -> None:
    """With USD left out of its payout currencies, the same provider passes both checks."""
    subject, harness = make(
        RefusesUSDPayouts,
        capability_currencies={payplane.Capability.WITHDRAWALS: {"MMK", "JPY", "KWD"}},
    )
    ProviderContract().test_generated_requests_build(subject, harness)
    ProviderContract().test_money_is_exact(subject, harness)


class RoundsPayouts(FakeProvider):
    """Sends payout amounts through float, rounded to cents."""

    def build_withdrawal(
        self, request: WithdrawalRequest, beneficiary_id: str | None = None
    ) -> HttpRequest:
        built = super().build_withdrawal(request, beneficiary_id)
        amount = round(float(request.amount.amount), 2)
        return attrs.evolve(
            built,
            content=built.content.replace(b'"amount":"', b'"amount_":"') + f" {amount}".encode(),
        )


def test_an_amount_sent_inexactly_fails(make: Any) -> None:
    """A payout amount that reaches the wire through float is caught, per currency."""
    subject, harness = make(RoundsPayouts)
    with pytest.raises(Failed, match="carries no exact form of the amount"):
        ProviderContract().test_money_is_exact(subject, harness)


def test_too_few_recorded_answers_for_a_multi_step_flow_fail(make: Any) -> None:
    """A two-step payout recorded with one answer: the suite asks for one per request."""
    samples = payplane_fakepsp.contract_samples()
    (two_steps,) = [a for a in samples.answers if len(a.answers) == 2 and a.name.startswith("pay")]
    short = attrs.evolve(two_steps, responses=two_steps.answers[:1])
    subject, harness = make(samples=attrs.evolve(samples, answers=[short]))
    with pytest.raises(Failed, match="sent 2 requests, the sample records 1 answers"):
        ProviderContract().test_recorded_answers_parse(subject, harness)


class KeyErrorOnPayout(FakeProvider):
    """Reads the payout answer's status with a bare subscript."""

    def parse_withdrawal(
        self, request: WithdrawalRequest, response: HttpResponse
    ) -> payplane.WithdrawalResult:
        data = response.json()
        _ = data["status"]
        return super().parse_withdrawal(request, response)


def test_junk_at_a_later_step_is_checked(make: Any) -> None:
    """Junk reaching the payout step of a two-step flow finds the KeyError there."""
    samples = payplane_fakepsp.contract_samples()
    two_steps = [a for a in samples.answers if a.name == "payout to a beneficiary, OTP required"]
    subject, harness = make(KeyErrorOnPayout, samples=attrs.evolve(samples, answers=two_steps))
    with pytest.raises(Failed, match=r"create_withdrawal\(\) raised \w+: .* for .answer 2 of "):
        ProviderContract().test_junk_answers_never_succeed(subject, harness)


class PayoutNotFlagged(FakeProvider):
    """Forgets to say that the payout moves money."""

    def build_withdrawal(
        self, request: WithdrawalRequest, beneficiary_id: str | None = None
    ) -> HttpRequest:
        return attrs.evolve(super().build_withdrawal(request, beneficiary_id), moves_money=False)


def test_a_money_moving_flow_must_flag_a_request(make: Any) -> None:
    """A payout flow where no request says moves_money=True fails, saying why it matters."""
    subject, harness = make(PayoutNotFlagged)
    with pytest.raises(Failed, match="no request says moves_money=True"):
        ProviderContract().test_sample_requests_build(subject, harness)


class WrongReference(FakeProvider):
    """Puts another reference on the payout request."""

    def build_withdrawal(
        self, request: WithdrawalRequest, beneficiary_id: str | None = None
    ) -> HttpRequest:
        built = super().build_withdrawal(request, beneficiary_id)
        return attrs.evolve(built, reference="not-the-request-reference")


def test_a_money_moving_request_carries_the_reference(make: Any) -> None:
    """The payout request must carry the request's reference (an unknown outcome quotes it)."""
    subject, harness = make(WrongReference)
    with pytest.raises(Failed, match="reference is not the request's reference"):
        ProviderContract().test_sample_requests_build(subject, harness)


def test_fakepsp_samples_pass_the_lost_answer_check_through_both_clients(make: Any) -> None:
    """The lost-answer check runs the money step of multi-step flows sync and async."""
    subject, harness = make()
    ProviderContract().test_lost_answer_is_unknown_outcome(subject, harness)


class KeyFromEventIdHeader(FakeProvider):
    """Takes the event key from an ``x-event-id`` header the signature does not cover."""

    def verify_postback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> payplane.PostbackEvent | payplane.OtherEvent:
        event = super().verify_postback(body, headers)
        given = headers.get("x-event-id")
        return event if given is None else attrs.evolve(event, event_key=given)


def _with_event_id_header(samples: ContractSamples) -> ContractSamples:
    """*samples* whose postbacks also carry an unsigned ``x-event-id`` header."""
    postbacks = [
        attrs.evolve(p, headers=dict(p.headers) | {"x-event-id": p.event_key})
        for p in samples.postbacks
    ]
    return attrs.evolve(samples, postbacks=postbacks)


def test_an_event_key_from_an_unsigned_header_fails(make: Any) -> None:
    """A provider keying events on an unsigned header is caught: a new id forges an event."""
    samples = _with_event_id_header(payplane_fakepsp.contract_samples())
    subject, _harness = make(KeyFromEventIdHeader, samples=samples)
    # The samples themselves verify: only a changed header shows the fault.
    ProviderContract().test_postbacks_verify(subject)
    with pytest.raises(Failed, match=r"with an unsigned header changed \(x-event-id: "):
        ProviderContract().test_unsigned_headers_cannot_forge_events(subject)


def test_an_unsigned_header_the_provider_ignores_passes(make: Any) -> None:
    """The same samples pass for FakePSP, which keys events on signed data only."""
    samples = _with_event_id_header(payplane_fakepsp.contract_samples())
    subject, _harness = make(samples=samples)
    ProviderContract().test_unsigned_headers_cannot_forge_events(subject)


def _dist(tmp_path: Path, name: str, module: str, code: str) -> None:
    """Write module *module* and a dist-info declaring it as a payplane.providers entry point."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    info = tmp_path / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[payplane.providers]\n{name} = {module}\n")


_PLUGIN = """
    {imports}
    from payplane import PLUGIN_API_VERSION, Capability, ProviderSpec
    from payplane.hookspecs import hookimpl


    @hookimpl
    def payplane_providers():
        return [
            ProviderSpec(
                id="{name}",
                display_name="{name}",
                capabilities=set(Capability),
                currencies={{"USD"}},
                api_version=PLUGIN_API_VERSION,
                settings="payplane_fakepsp:FakeSettings",
                factory="payplane_fakepsp:FakeProvider",
            )
        ]
"""


@pytest.mark.parametrize(
    ("imports", "heavy"),
    [("import httpx", True), ("", False)],
    ids=["imports-httpx", "light"],
)
def test_entry_point_import_cost_is_checked(
    make: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    imports: str,
    heavy: bool,
) -> None:
    """An entry-point module that imports httpx fails the check; a light one passes."""
    name = "heavyplugin" if heavy else "lightplugin"
    _dist(tmp_path, name, f"{name}_mod", _PLUGIN.format(imports=imports, name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    core_tests = str(Path(payplane_fakepsp.__file__).parent)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{core_tests}")
    registry = payplane.Registry(blocked={"paykassma_wavepay"})
    assert name in registry.providers()
    subject, _harness = make(id=name)
    subject = attrs.evolve(subject, registry=registry, spec=registry.spec(name))
    check = ProviderContract().test_entry_point_imports_cheaply
    if heavy:
        with pytest.raises(
            Failed, match=f"importing its entry-point module {name}_mod .* imports httpx"
        ):
            check(subject)
    else:
        check(subject)
    sys.modules.pop(f"{name}_mod", None)
