"""The contract suite: what every provider must do, checked against any installed one.

Subclass :class:`ProviderContract` in a test module (pytest collects the subclass), or
run ``pytest --payplane-provider=ID``. Each check is one test whose failure message says
what to fix. Operations run through payplane's own :class:`~payplane.Client` and
:class:`~payplane.AsyncClient` over recorded answers, as a platform would run them.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import types
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any, ClassVar, cast

import attrs
import httpx
import pytest
from hypothesis import strategies as st

from payplane._http import HttpResponse, PostbackAnswer
from payplane._models import DepositStart, OtherEvent, PostbackKind
from payplane._money import Money
from payplane._protocols import Capability, adapt_v1
from payplane._registry import ENTRY_POINT_GROUP, Registry
from payplane._secrets import SECRET_METADATA_KEY
from payplane._spec import (
    PLUGIN_API_VERSION,
    SUPPORTED_PLUGIN_API_VERSIONS,
    PluginDeprecationWarning,
)
from payplane.exceptions import (
    MalformedPayloadError,
    PayplaneError,
    SignatureError,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)
from payplane.testing._checks import (
    BY_CAPABILITY,
    MIN_SECRET,
    MONEY_CAPABILITIES,
    OPERATIONS,
    ContractSubject,
    Harness,
    Outcome,
    Request,
    Scripted,
    amount_forms,
    carries_exactly,
    check_answer,
    check_no_secret,
    check_requests,
    currencies,
    exception_texts,
    expect_refused,
    fail,
    provider_bug,
    read_status,
    run_examples,
    scripts,
    status_of,
    unexpected,
    verify,
    with_amount,
)
from payplane.testing._logs import captured_log_records, log_record_texts
from payplane.testing._samples import RecordedAnswer, SignedPostback
from payplane.testing._strategies import (
    activation_requests,
    byte_mutations,
    deposit_requests,
    http_responses,
    in_currency,
    lookup_requests,
    money,
    refund_requests,
    request_variants,
    status_codes,
    withdrawal_requests,
)

__all__ = ["ContractSubject", "ProviderContract", "contract_class"]

_GENERIC: dict[Capability, Callable[[list[str]], st.SearchStrategy[Any]]] = {
    Capability.DEPOSITS: deposit_requests,
    Capability.ACTIVATION: activation_requests,
    Capability.WITHDRAWALS: withdrawal_requests,
    Capability.LOOKUPS: lambda _codes: lookup_requests(),
    Capability.REFUNDS: refund_requests,
}
# Operations whose every request carries an amount: one must reach the provider in each
# currency declared for them. (Deposits and refunds may leave the amount out.)
_AMOUNT_REQUIRED = frozenset({Capability.ACTIVATION, Capability.WITHDRAWALS})
_STATUS_CAPABILITIES = frozenset(
    {
        Capability.ACTIVATION,
        Capability.WITHDRAWALS,
        Capability.POSTBACKS,
        Capability.LOOKUPS,
        Capability.REFUNDS,
    }
)
_HEAVY_MODULES = ("httpx", "hypothesis", "pytest")

Pair = tuple[Capability, str | None]
"""A capability and one currency declared for it (``None`` for lookups, which have none)."""


class ProviderContract:
    """The contract suite: subclass it, set :attr:`provider_id`, and pytest runs it.

    ::

        from payplane.testing import ProviderContract

        class TestContract(ProviderContract):
            provider_id = "acmepay"

    The provider is found in a :class:`~payplane.Registry` (entry points; override the
    ``payplane_registry`` fixture to register one in-process) and checked with the
    :class:`~payplane.testing.ContractSamples` its plugin returns from the
    :func:`~payplane.hookspecs.payplane_contract_samples` hook, or with :attr:`samples`.
    Each test checks one rule, for the capabilities the provider declares and each
    currency it declares for them; hypothesis draws the inputs (as many as the active
    profile says). Operations run through :class:`~payplane.Client` and
    :class:`~payplane.AsyncClient` over the samples' recorded answers.

    A provider written for plugin API 1 (``build_x``/``parse_x`` methods) is checked as
    payplane runs it, through the version-2 protocols, with a
    :class:`~payplane.PluginDeprecationWarning`.

    Attributes:
        provider_id: The provider to check.
        samples: Samples to use instead of asking the hook.
        settings: Settings to use instead of the samples' (a mapping of fields).
    """

    provider_id: ClassVar[str] = ""
    samples: ClassVar[Any] = None
    settings: ClassVar[Mapping[str, Any] | None] = None

    # -- fixtures --------------------------------------------------------------------

    @pytest.fixture
    def payplane_registry(self) -> Registry:
        """The registry the provider is looked up in (default: entry points)."""
        return Registry()

    @pytest.fixture
    def payplane_subject(self, payplane_registry: Registry) -> ContractSubject:
        """The provider under test, built from its spec and the samples' settings."""
        from payplane.testing._samples import ContractSamples  # noqa: PLC0415

        provider_id = self.provider_id
        if not provider_id:
            fail(f"{type(self).__name__}: set provider_id to the id of the provider to check")
        installed = payplane_registry.providers()
        if provider_id not in installed:
            problems = [p for p in payplane_registry.problems if provider_id in p.name]
            detail = f" (load problems: {problems})" if problems else ""
            fail(
                f"no provider {provider_id!r} is installed{detail}; installed providers: "
                f"{', '.join(installed) or 'none'}. Install the distribution (pip install "
                "-e .) so its payplane.providers entry point is found"
            )
        spec = installed[provider_id]
        samples = self.samples
        if samples is None:
            hook = payplane_registry.plugin_manager.hook.payplane_contract_samples
            samples = hook(provider=provider_id)
        if not isinstance(samples, ContractSamples):
            fail(
                f"no contract samples for {provider_id!r}: implement the "
                "payplane_contract_samples(provider) hook in its entry-point module "
                "(returning payplane.testing.ContractSamples), or set samples on the "
                f"test class (got {type(samples).__name__})"
            )
        values = self.settings if self.settings is not None else samples.settings
        try:
            settings = spec.make_settings(dict(values))
        except PayplaneError as exc:
            fail(f"the samples' settings of {provider_id!r} are invalid: {exc}")
        try:
            raw = spec.load_factory()(settings)
        except Exception as exc:  # noqa: BLE001 - reported as the finding
            fail(f"the factory of {provider_id!r} failed on the samples' settings: {exc!r}")
        with warnings.catch_warnings():
            # test_spec_is_valid warns, once, for an old plugin API.
            warnings.simplefilter("ignore", PluginDeprecationWarning)
            v1 = spec.api_version == 1 or payplane_registry._implements_v1(spec, raw)  # noqa: SLF001
        return ContractSubject(
            spec=spec,
            settings=settings,
            provider=adapt_v1(raw) if v1 else raw,
            samples=samples,
            registry=payplane_registry,
            raw_provider=raw,
            api_version=1 if v1 else spec.api_version,
        )

    @pytest.fixture
    def payplane_harness(self, payplane_subject: ContractSubject) -> Iterator[Harness]:
        """The subject's Client and AsyncClient over scripted answers."""
        harness = Harness(payplane_subject)
        yield harness
        harness.close()

    @pytest.fixture(autouse=True)
    def payplane_log_guard(self, payplane_subject: ContractSubject) -> Iterator[None]:
        """Fail the test when a log record of any level shows a secret setting."""
        with captured_log_records() as records:
            yield
        for record in records:
            texts = list(log_record_texts(record))
            check_no_secret(payplane_subject, texts, f"a log record of {record.name!r}")

    # -- metadata --------------------------------------------------------------------

    def test_spec_is_valid(self, payplane_subject: ContractSubject) -> None:
        """The spec names the provider, declares capabilities and currencies, speaks our API.

        A provider on an older plugin API that payplane still supports passes, with a
        :class:`~payplane.PluginDeprecationWarning`.
        """
        spec = payplane_subject.spec
        problems = []
        if not spec.display_name.strip():
            problems.append("display_name is empty")
        if not spec.capabilities:
            problems.append("capabilities is empty: declare what the provider implements")
        if not spec.currencies:
            problems.append("currencies is empty: declare the ISO 4217 codes it moves")
        if spec.api_version not in SUPPORTED_PLUGIN_API_VERSIONS:
            problems.append(
                f"api_version is {spec.api_version}; this payplane speaks "
                f"{PLUGIN_API_VERSION} (use payplane.PLUGIN_API_VERSION)"
            )
        if problems:
            fail(f"the ProviderSpec of {spec.id!r} is invalid: " + "; ".join(problems))
        if payplane_subject.api_version != PLUGIN_API_VERSION:
            warnings.warn(
                f"{spec.id!r} implements payplane plugin API version 1 (build_x/parse_x "
                f"methods); version {PLUGIN_API_VERSION} is current: see the migration "
                "notes in payplane's write-a-provider guide",
                PluginDeprecationWarning,
                stacklevel=1,
            )

    def test_settings_declare_secrets(self, payplane_subject: ContractSubject) -> None:
        """The settings class is attrs, with secret fields, and the samples' secrets are long."""
        spec = payplane_subject.spec
        cls = spec.load_settings_class()
        secret_names = [f.name for f in attrs.fields(cls) if f.metadata.get(SECRET_METADATA_KEY)]
        if not secret_names:
            fail(
                f"{cls.__name__} ({spec.id!r}) declares no secret field: declare API keys "
                "and signing keys with payplane.secret_field(), so reprs, logs and errors "
                "never show them"
            )
        short = [
            name
            for name in secret_names
            if len(getattr(payplane_subject.settings, name).reveal()) < MIN_SECRET
        ]
        if short:
            fail(
                f"the samples' settings of {spec.id!r} give {', '.join(short)} fewer than "
                f"{MIN_SECRET} characters: use longer made-up values, so the suite can "
                "tell a leaked secret from chance"
            )

    def test_entry_point_imports_cheaply(self, payplane_subject: ContractSubject) -> None:
        """Importing the entry-point module (and listing its providers) loads no implementation.

        payplane imports every installed provider's entry-point module to list them:
        it must not import the provider's implementation (the settings and factory
        modules), nor httpx, hypothesis or pytest.
        """
        subject = payplane_subject
        module = _entry_module(subject)
        if module is None:
            pytest.skip(f"{subject.id!r} is registered in-process, not by an entry point")
        implementation = {
            name
            for name in (_module_of(subject.spec.settings), _module_of(subject.spec.factory))
            if name is not None and name != module
        }
        code = (
            "import json, sys\n"
            f"import {module} as plugin\n"
            "listed = getattr(plugin, 'payplane_providers', None)\n"
            "if callable(listed): listed()\n"
            "print(json.dumps(sorted(sys.modules)))\n"
        )
        done = subprocess.run(  # noqa: S603 - this interpreter, our own code
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            fail(f"{subject.id}: importing {module} failed: {done.stderr.strip()[-1500:]}")
        loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
        heavy = sorted(
            name
            for name in loaded
            if name in {*_HEAVY_MODULES, *implementation}
            or any(name.startswith(f"{impl}.") for impl in implementation)
        )
        if heavy:
            fail(
                f"{subject.id}: importing its entry-point module {module} (and calling "
                f"payplane_providers()) imports {', '.join(heavy)}. Keep that module to "
                "metadata and hooks: give settings and factory as 'module:attribute' "
                "strings and import samples inside the payplane_contract_samples hook"
            )

    def test_provider_implements_declared_protocols(
        self, payplane_subject: ContractSubject
    ) -> None:
        """The provider object implements the protocol of every capability it declares."""
        subject = payplane_subject
        missing = []
        for capability in sorted(subject.spec.capabilities, key=lambda c: c.value):
            protocol = subject.protocol(capability)
            if not isinstance(subject.raw_provider, protocol):
                methods = [
                    name
                    for name, value in vars(protocol).items()
                    if callable(value)
                    and not name.startswith("_")
                    and not callable(getattr(subject.raw_provider, name, None))
                ]
                missing.append(f"{capability.value} ({protocol.__name__}: {', '.join(methods)})")
        if missing:
            fail(
                f"{subject.id!r} declares capabilities its provider object does not "
                f"implement: {'; '.join(missing)}. Implement the methods, or drop the "
                "capabilities from its ProviderSpec"
            )

    def test_declared_operations_are_implemented(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Every declared operation does something: no NotImplementedError, no AttributeError."""
        subject = payplane_subject
        for capability in sorted(subject.spec.capabilities, key=lambda c: c.value):
            if capability is Capability.POSTBACKS:
                for accepted in (True, False):
                    answer = subject.call(capability, "postback_answer", accepted=accepted)
                    if not isinstance(answer, PostbackAnswer):
                        fail(f"{subject.id}: postback_answer() must return a PostbackAnswer")
                body = subject.samples.postbacks[0].body if subject.samples.postbacks else b"{}"
                with contextlib.suppress(PayplaneError):
                    subject.call(capability, "verify_postback", body, {})
                continue
            # Only a stub's NotImplementedError fails here (the harness fails for it):
            # what else happens is the business of the tests below.
            for request in subject.templates(capability):
                payplane_harness.run(request, subject.answers_for(request))

    def test_samples_cover_capabilities(self, payplane_subject: ContractSubject) -> None:
        """The samples hold an answer per request capability, postbacks, and status probes."""
        subject = payplane_subject
        samples = subject.samples
        missing = []
        for capability, (request_type, _op) in BY_CAPABILITY.items():
            if capability in subject.spec.capabilities and not any(
                type(a.request) is request_type for a in samples.answers
            ):
                missing.append(
                    f"a RecordedAnswer with a {request_type.__name__} ({capability.value})"
                )
        if Capability.POSTBACKS in subject.spec.capabilities and not samples.postbacks:
            missing.append("a SignedPostback (postbacks)")
        if subject.spec.capabilities & _STATUS_CAPABILITIES and not samples.status_probes:
            missing.append("a StatusProbe for each place the provider reads a status code")
        if missing:
            fail(
                f"the contract samples of {subject.id!r} lack: {'; '.join(missing)}. Add them "
                "to the ContractSamples its payplane_contract_samples hook returns"
            )

    # -- requests and answers --------------------------------------------------------

    def test_sample_requests_build(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """The samples' requests and templates build well-formed requests (money moves flagged)."""
        subject = payplane_subject
        runs: list[tuple[str, Request, tuple[HttpResponse, ...], bool]] = [
            (a.name, a.request, a.answers, not isinstance(a.expected, type))
            for a in subject.samples.answers
        ]
        runs.extend(
            ("request template", t, subject.answers_for(t), False)
            for t in subject.samples.request_templates
        )
        for name, request, answers, succeeds in runs:
            if type(request) not in OPERATIONS:
                fail(f"{subject.id}: sample {name!r} holds a {type(request).__name__}")
            if OPERATIONS[type(request)].capability not in subject.spec.capabilities:
                continue
            outcome = payplane_harness.run(request, answers)
            if outcome.refused:
                fail(
                    f"{subject.id}: the sample request of {name!r} is refused "
                    f"({outcome.error}); samples must hold valid requests"
                )
            whole = succeeds and not outcome.stopped and outcome.error is None
            check_requests(subject, outcome, whole=whole)

    def test_generated_requests_build(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Generated requests build, or are refused naming a field; some build in every currency.

        For each request capability and each currency the provider declares for it, the
        samples' templates (moved into that currency, then varied) and payplane's own
        strategies generate requests. A refusal must be a ``ValidationError`` naming the
        field; and if no request of a capability builds in a declared currency, the
        check fails: declaring it is then a promise the provider does not keep.
        """
        subject = payplane_subject
        pairs = _pairs(subject, [c for c in BY_CAPABILITY if c is not Capability.POSTBACKS])
        if not pairs:
            pytest.skip(f"{subject.id!r} declares no request-building capability")
        built: Counter[Pair] = Counter()
        refusals: dict[Pair, str] = {}

        def check(case: tuple[Pair, Request | None, Request]) -> None:
            pair, template, request = case
            answers = subject.answers_for(template) if template is not None else ()
            outcome = payplane_harness.run(request, answers)
            _judge_before_sending(subject, outcome)
            check_requests(subject, outcome, whole=False)
            if outcome.built:
                built[pair] += 1
            elif outcome.refused:
                refusals[pair] = str(outcome.error)

        for pair in pairs:
            for template in subject.templates(pair[0]):
                moved = template if pair[1] is None else in_currency(template, pair[1])
                check((pair, template, moved))
        run_examples(st.sampled_from(pairs).flatmap(lambda p: _requests(subject, p)), check)
        never = [pair for pair in pairs if not built[pair]]
        if never:
            fail(
                f"{subject.id}: no generated request builds for "
                + "; ".join(
                    f"{_label(pair)} (last refusal: {refusals.get(pair, 'none')})" for pair in never
                )
                + ". Give a request template that builds there (ContractSamples."
                "request_templates), or declare fewer currencies for the capability "
                "(ProviderSpec.capability_currencies)"
            )

    def test_recorded_answers_parse(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Every recorded answer (sequence) leads to the outcome the samples expect."""
        for answer in self._answers(payplane_subject):
            check_answer(payplane_harness, answer)

    def test_async_client_agrees(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Through AsyncClient every recorded answer gives what it gives through Client."""
        subject = payplane_subject
        for answer in self._answers(subject):
            sync = payplane_harness.run(answer.request, answer.answers)
            async_ = check_answer(payplane_harness, answer, mode="async")
            if _outcome_view(sync) != _outcome_view(async_):
                fail(
                    f"{subject.id}: answer {answer.name!r} gives {_outcome_view(sync)} through "
                    f"Client but {_outcome_view(async_)} through AsyncClient: a flow must "
                    "not depend on which client drives it"
                )

    def test_junk_answers_never_succeed(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Junk at any step raises payplane errors or gives non-success results, never KeyError."""
        subject = payplane_subject
        cases = [
            (answer, step) for answer in self._answers(subject) for step in scripts(answer.answers)
        ]
        if not cases:
            pytest.skip(f"{subject.id!r} has no recorded answers")

        def check(case: tuple[tuple[RecordedAnswer, int], HttpResponse]) -> None:
            (answer, step), junk = case
            outcome = payplane_harness.run(answer.request, (*answer.answers[:step], junk))
            method = OPERATIONS[type(answer.request)].method
            bug = provider_bug(outcome.error)
            if bug is not None:
                unexpected(subject, method, bug, f"answer {step + 1} of {answer.name!r}: {junk!r}")
            status = status_of(outcome.result)
            if status is not None and status.is_success:
                fail(
                    f"{subject.id}: {method}() read {junk!r} (answer {step + 1} of "
                    f"{answer.name!r}) as {status}: an answer the provider cannot classify "
                    "must raise MalformedPayloadError"
                )

        run_examples(st.tuples(st.sampled_from(cases), http_responses()), check)

    def test_lost_answer_is_unknown_outcome(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Through Client and AsyncClient, a lost answer to the money-moving request is unknown."""
        subject = payplane_subject
        samples = [
            a
            for a in self._answers(subject)
            if OPERATIONS[type(a.request)].moves_money and not isinstance(a.expected, type)
        ]
        if not samples:
            pytest.skip(f"{subject.id!r} has no money-moving sample request")
        for answer in samples:
            full = payplane_harness.run(answer.request, answer.answers)
            step = next((i for i, r in enumerate(full.requests) if r.moves_money), None)
            if step is None:
                continue  # test_sample_requests_build says what is wrong
            script: tuple[Scripted, ...] = (*answer.answers[:step], httpx.ReadTimeout)
            for mode in ("sync", "async"):
                outcome = payplane_harness.run(answer.request, script, mode=mode)
                _judge_lost_answer(subject, answer, outcome, mode)

    # -- postbacks -------------------------------------------------------------------

    def _answers(self, subject: ContractSubject) -> list[RecordedAnswer]:
        return [
            a
            for a in subject.samples.answers
            if OPERATIONS[type(a.request)].capability in subject.spec.capabilities
        ]

    def _postbacks(self, subject: ContractSubject) -> tuple[SignedPostback, ...]:
        if Capability.POSTBACKS not in subject.spec.capabilities:
            pytest.skip(f"{subject.id!r} does not declare postbacks")
        if not subject.samples.postbacks:
            fail(f"{subject.id!r} declares postbacks but its samples hold no SignedPostback")
        return tuple(subject.samples.postbacks)

    def test_postbacks_verify(self, payplane_subject: ContractSubject) -> None:
        """Each signed sample verifies, twice alike, to its expected key, kind and amount."""
        subject = payplane_subject
        for sample in self._postbacks(subject):
            try:
                event = verify(subject, sample.body, sample.headers)
                again = verify(subject, sample.body, dict(sample.headers))
            except PayplaneError as exc:
                fail(
                    f"{subject.id}: the signed sample {sample.name!r} does not verify: {exc}. "
                    "Sign samples with the samples' settings"
                )
            problems = []
            if event.provider != subject.id:
                problems.append(f"provider is {event.provider!r}, not {subject.id!r}")
            if event.event_key != sample.event_key:
                problems.append(f"event_key is {event.event_key!r}, expected {sample.event_key!r}")
            if again.event_key != event.event_key:
                problems.append("a re-delivery gives another event_key")
            if event.kind is not sample.kind:
                problems.append(f"kind is {event.kind}, expected {sample.kind}")
            if (sample.kind is PostbackKind.OTHER) != isinstance(event, OtherEvent):
                problems.append(
                    "an event about a payment is a PostbackEvent, any other an OtherEvent"
                )
            amount = getattr(event, "amount", None)
            if sample.amount is not None and amount != sample.amount:
                problems.append(f"amount is {amount}, expected exactly {sample.amount}")
            if problems:
                fail(f"{subject.id}: postback {sample.name!r}: " + "; ".join(problems))

    def test_postback_mutations_are_refused(self, payplane_subject: ContractSubject) -> None:
        """Any change, removal or insertion of one signed byte is refused."""
        subject = payplane_subject
        samples = self._postbacks(subject)

        def check(case: tuple[SignedPostback, bytes]) -> None:
            sample, body = case
            try:
                event = verify(subject, body, sample.headers)
            except (SignatureError, MalformedPayloadError):
                return
            except PayplaneError as exc:
                fail(
                    f"{subject.id}: a tampered postback raised {type(exc).__name__}; refuse "
                    "it with SignatureError (or MalformedPayloadError)"
                )
            except Exception as exc:  # noqa: BLE001 - the finding
                unexpected(subject, "verify_postback", exc, body)
            fail(
                f"{subject.id}: postback {sample.name!r} with one signed byte changed "
                f"still verified (event_key {event.event_key!r}): {body!r}. The signature "
                "must cover these bytes; if it does not, declare signed_span"
            )

        run_examples(
            st.sampled_from(samples).flatmap(
                lambda s: st.tuples(st.just(s), byte_mutations(s.body, s.signed_span))
            ),
            check,
        )

    def test_unsigned_postback_bytes_cannot_forge_events(
        self, payplane_subject: ContractSubject
    ) -> None:
        """Outside a signed span, a change is refused or leaves the event key and kind alone."""
        subject = payplane_subject
        cases: list[st.SearchStrategy[tuple[SignedPostback, bytes]]] = []
        for sample in self._postbacks(subject):
            if sample.signed_span is None:
                continue
            start, end = sample.signed_span
            cases.extend(
                st.tuples(st.just(sample), byte_mutations(sample.body, span))
                for span in ((0, start), (end, len(sample.body)))
                if span[1] > span[0]
            )
        if not cases:
            pytest.skip(f"every postback sample of {subject.id!r} is signed whole")

        def check(case: tuple[SignedPostback, bytes]) -> None:
            sample, body = case
            try:
                event = verify(subject, body, sample.headers)
            except PayplaneError:
                return
            except Exception as exc:  # noqa: BLE001 - the finding
                unexpected(subject, "verify_postback", exc, body)
            if event.event_key != sample.event_key or event.kind is not sample.kind:
                fail(
                    f"{subject.id}: changing an unsigned byte of {sample.name!r} made another "
                    f"event ({event.kind}, {event.event_key!r}): build event keys and kinds "
                    f"from signed data only. Body: {body!r}"
                )

        run_examples(st.one_of(cases), check)

    def test_unsigned_headers_cannot_forge_events(self, payplane_subject: ContractSubject) -> None:
        """Changing or removing a header the signature does not cover makes no other event.

        Each sample header outside ``signed_headers`` (an event id header such as
        Razorpay's ``X-Razorpay-Event-Id``, a content type) is removed, then given other
        values: the postback is refused, or verifies to the same event key and kind. A
        key taken from such a header would let a replayed body under a new id pass for
        a new event.
        """
        subject = payplane_subject
        cases = [
            (sample, name)
            for sample in self._postbacks(subject)
            for name in sorted(sample.headers)
            if name not in sample.signed_headers
        ]
        if not cases:
            pytest.skip(f"the postback samples of {subject.id!r} carry no unsigned header")

        def judge(sample: SignedPostback, headers: Mapping[str, str], change: str) -> None:
            try:
                event = verify(subject, sample.body, headers)
            except PayplaneError:
                return
            except Exception as exc:  # noqa: BLE001 - the finding
                unexpected(subject, "verify_postback", exc, headers)
            if event.event_key != sample.event_key or event.kind is not sample.kind:
                fail(
                    f"{subject.id}: postback {sample.name!r} with an unsigned header changed "
                    f"({change}) verified to another event ({event.kind}, "
                    f"{event.event_key!r}): build event keys and kinds from signed data only"
                )

        for sample, name in cases:
            without = {k: v for k, v in sample.headers.items() if k != name}
            judge(sample, without, f"without {name!r}")

        def check(case: tuple[tuple[SignedPostback, str], str]) -> None:
            (sample, name), value = case
            judge(sample, dict(sample.headers) | {name: value}, f"{name}: {value!r}")

        def values(case: tuple[SignedPostback, str]) -> st.SearchStrategy[str]:
            current = case[0].headers[case[1]].encode("latin-1")
            fresh = st.text(
                alphabet=st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=40
            )
            if not current:
                return fresh
            return fresh | byte_mutations(current).map(lambda b: b.decode("latin-1"))

        run_examples(
            st.sampled_from(cases).flatmap(lambda c: st.tuples(st.just(c), values(c))), check
        )

    def test_signed_header_changes_are_refused(self, payplane_subject: ContractSubject) -> None:
        """Removing or changing a signed header (the signature's) is refused."""
        subject = payplane_subject
        cases = [
            (sample, name)
            for sample in self._postbacks(subject)
            for name in sorted(sample.signed_headers)
        ]
        if not cases:
            pytest.skip(f"the postback samples of {subject.id!r} declare no signed header")
        for sample, name in cases:
            if name not in sample.headers:
                fail(f"{subject.id}: signed header {name!r} is not in sample {sample.name!r}")
            without = {k: v for k, v in sample.headers.items() if k != name}
            expect_refused(subject, sample, sample.body, without, f"without {name!r}")

        def check(case: tuple[tuple[SignedPostback, str], bytes]) -> None:
            (sample, name), value = case
            headers = dict(sample.headers) | {name: value.decode("latin-1")}
            expect_refused(subject, sample, sample.body, headers, f"{name}: {headers[name]!r}")

        run_examples(
            st.sampled_from(cases).flatmap(
                lambda c: st.tuples(
                    st.just(c), byte_mutations(c[0].headers[c[1]].encode("latin-1"))
                )
            ),
            check,
        )

    # -- statuses --------------------------------------------------------------------

    def test_status_probes_reach_the_provider(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Each status probe's carrier works: some known code goes through without error."""
        subject = payplane_subject
        for probe in subject.samples.status_probes:
            if not probe.known:
                continue
            errors = []
            for code in sorted(probe.known, key=repr):
                try:
                    read_status(payplane_harness, probe.carrier(code))
                except PayplaneError as exc:
                    errors.append(f"{code!r}: {exc}")
                else:
                    break
            else:
                fail(
                    f"{subject.id}: status probe {probe.name!r} fails for every known code "
                    f"({'; '.join(errors)}): its carrier must build what the provider accepts"
                )

    def test_unknown_status_is_never_success(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """A raw status code the provider does not know maps to UNKNOWN, or is refused."""
        subject = payplane_subject
        probes = tuple(subject.samples.status_probes)
        if not probes:
            pytest.skip(f"the samples of {subject.id!r} declare no status probe")

        def check(case: tuple[Any, object]) -> None:
            probe, code = case
            try:
                status = read_status(payplane_harness, probe.carrier(code))
            except PayplaneError:
                return
            if status is None:
                fail(f"{subject.id}: status probe {probe.name!r} gave no status for {code!r}")
            if status.name != "UNKNOWN":
                verdict = "success" if status.is_success else "a known status"
                fail(
                    f"{subject.id}: {probe.name} {code!r} is not a code it knows, yet it "
                    f"maps to {type(status).__name__}.{status.name} ({verdict}). Unknown "
                    "codes must map to UNKNOWN (payplane.StatusMap does), never to success"
                )

        run_examples(
            st.sampled_from(probes).flatmap(lambda p: st.tuples(st.just(p), status_codes(p.known))),
            check,
        )

    # -- secrets ---------------------------------------------------------------------

    def test_secrets_not_in_reprs(self, payplane_subject: ContractSubject) -> None:
        """No secret setting shows in the repr or str of the settings or the provider."""
        subject = payplane_subject
        texts = {
            "repr(settings)": repr(subject.settings),
            "str(settings)": str(subject.settings),
            "repr(provider)": repr(subject.raw_provider),
            "str(provider)": str(subject.raw_provider),
        }
        for where, text in texts.items():
            check_no_secret(subject, [text], where)

    def test_secrets_not_in_settings_errors(self, payplane_subject: ContractSubject) -> None:
        """The errors for bad settings values never show a secret."""
        subject = payplane_subject
        cls = subject.spec.load_settings_class()
        secret_names = set(subject.spec.secret_fields())
        values = dict(self.settings if self.settings is not None else subject.samples.settings)
        for field in attrs.fields(cls):
            if field.name in secret_names or field.alias not in values:
                continue
            for bad in (object(), "\x00 not valid", -1):
                try:
                    subject.spec.make_settings(values | {field.alias: bad})
                except Exception as exc:  # noqa: BLE001 - only its text matters
                    where = f"the error for a bad {field.name}"
                    check_no_secret(subject, exception_texts(exc), where)

    def test_secrets_not_in_errors(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Errors from generated requests, junk answers and tampered postbacks show no secret."""
        subject = payplane_subject
        strategies = _bad_inputs(subject, payplane_harness, self._answers(subject))
        if not strategies:
            pytest.skip(f"{subject.id!r} declares nothing to feed bad inputs to")

        def check(action: Callable[[], object]) -> None:
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - only its text matters
                check_no_secret(subject, exception_texts(exc), "an exception message")

        run_examples(st.one_of(strategies), check)

    def test_secrets_not_in_client_logs(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """The recorded exchanges, run through Client and AsyncClient, log no secret."""
        subject = payplane_subject
        answers = [a for a in self._answers(subject) if a.answers]
        if not answers:
            pytest.skip(f"{subject.id!r} has no recorded answers")
        for answer in answers:
            for mode in ("sync", "async"):
                outcome = payplane_harness.run(answer.request, answer.answers, mode=mode)
                if outcome.error is not None:
                    check_no_secret(subject, exception_texts(outcome.error), "a client error")
        # The autouse log guard checks the records.

    # -- money -----------------------------------------------------------------------

    def test_money_is_exact(
        self, payplane_subject: ContractSubject, payplane_harness: Harness
    ) -> None:
        """Amounts in every declared currency reach the request exactly, or are refused.

        A fixed amount is either written exactly (as a decimal or in integer minor
        units) in a request the flow sends or in the hosted page URL, or refused with a
        ``ValidationError``; never rounded, never sent through a float. Activations and
        withdrawals must take some amount in each currency declared for them.
        """
        subject = payplane_subject
        pairs = _pairs(subject, [c for c in MONEY_CAPABILITIES if c in BY_CAPABILITY])
        if not pairs:
            pytest.skip(f"{subject.id!r} declares no capability that carries amounts")
        carried: Counter[Pair] = Counter()

        def check(case: tuple[Pair, Request, Money]) -> None:
            pair, template, amount = case
            request = with_amount(template, amount)
            outcome = payplane_harness.run(request, subject.answers_for(template))
            if outcome.refused:
                return
            method = OPERATIONS[type(request)].method
            _judge_before_sending(subject, outcome)
            forms, reached = _carried(outcome)
            if carries_exactly(forms, amount):
                carried[pair] += 1
            elif reached:
                fail(
                    f"{subject.id}: {method}() for {amount} carries no exact form of the "
                    f"amount (numbers found: {[str(f) for f in forms][:8]}). Write amounts "
                    "as decimal text or integer minor units, never through float, or refuse "
                    "them with ValidationError('amount', ...)"
                )

        for pair in pairs:
            assert pair[1] is not None  # noqa: S101 - money capabilities have currencies
            for template in subject.templates(pair[0]):
                moved = in_currency(template, pair[1])
                amount = getattr(moved, "amount", None) or Money(100, pair[1])
                check((pair, template, amount))
        run_examples(
            st.sampled_from(pairs).flatmap(
                lambda p: st.tuples(
                    st.just(p),
                    st.sampled_from(subject.templates(p[0])),
                    money([p[1] or "USD"], max_digits=9, excess_places=1),
                )
            ),
            check,
        )
        never = [p for p in pairs if p[0] in _AMOUNT_REQUIRED and not carried[p]]
        if never:
            fail(
                f"{subject.id}: no amount reached the provider for "
                + ", ".join(_label(p) for p in never)
                + ": every one was refused or never sent. Give a request template (and "
                "recorded answers) that carry an amount there, or declare fewer currencies "
                "for the capability (ProviderSpec.capability_currencies)"
            )


def _pairs(subject: ContractSubject, capabilities: list[Capability]) -> list[Pair]:
    """Each declared capability of *capabilities* with each currency declared for it."""
    pairs: list[Pair] = []
    for capability in capabilities:
        if capability not in subject.spec.capabilities:
            continue
        if capability is Capability.LOOKUPS:
            pairs.append((capability, None))
        else:
            pairs.extend((capability, code) for code in currencies(subject, capability))
    return pairs


def _label(pair: Pair) -> str:
    capability, currency = pair
    return capability.value if currency is None else f"{capability.value} in {currency}"


def _requests(
    subject: ContractSubject, pair: Pair
) -> st.SearchStrategy[tuple[Pair, Request | None, Request]]:
    """Requests of *pair*: the templates varied, and payplane's own strategy."""
    capability, currency = pair
    codes = [currency] if currency is not None else None
    variants = [
        st.tuples(st.just(pair), st.just(t), request_variants(t, codes))
        for t in subject.templates(capability)
    ]
    generic = _GENERIC[capability](codes or ["USD"])
    return st.one_of(*variants, st.tuples(st.just(pair), st.none(), generic))


def _judge_before_sending(subject: ContractSubject, outcome: Outcome) -> None:
    """An error before anything was sent is a ValidationError naming its field."""
    error = outcome.error
    if outcome.requests or error is None:
        return
    method = OPERATIONS[type(outcome.request)].method
    if isinstance(error, ValidationError):
        if not error.field:
            fail(f"{subject.id}: a ValidationError must name the field ({error})")
    elif isinstance(error, PayplaneError):
        fail(
            f"{subject.id}: {method}() raised {type(error).__name__} ({error}) before "
            "sending anything; refusing a request before sending is a ValidationError "
            "naming the field"
        )
    else:
        unexpected(subject, method, error, outcome.request)


def _carried(outcome: Outcome) -> tuple[list[Decimal], bool]:
    """The numbers the run sent (requests, hosted page URL), and whether it reached money."""
    forms = [form for sent in outcome.requests for form in amount_forms(sent)]
    result = outcome.result
    if isinstance(result, DepositStart) and result.hosted_page_url:
        forms += amount_forms(result.hosted_page_url)
    reached = any(r.moves_money for r in outcome.requests) or isinstance(result, DepositStart)
    return forms, reached


def _outcome_view(outcome: Outcome) -> object:
    """What must be equal between the sync and the async run."""
    if outcome.error is not None:
        return (type(outcome.error).__name__, str(outcome.error))
    return ("result", outcome.result, outcome.stopped)


def _judge_lost_answer(
    subject: ContractSubject, answer: RecordedAnswer, outcome: Outcome, mode: str
) -> None:
    capability = OPERATIONS[type(answer.request)].capability.value
    error = outcome.error
    if not isinstance(error, TransportError):
        fail(
            f"{subject.id}: a lost answer to the money-moving request of {answer.name!r} "
            f"({mode} client) gave {error!r}, not a TransportError"
        )
    if isinstance(error, UnknownOutcomeError):
        if error.reference != getattr(answer.request, "reference", None):
            fail(
                f"{subject.id}: a lost {capability} answer carries reference "
                f"{error.reference!r}, not the request's: build it with "
                "reference=request.reference"
            )
    elif not error.retry_safe:
        fail(
            f"{subject.id}: a lost {capability} answer gave {type(error).__name__}, not "
            "UnknownOutcomeError: build the request with moves_money=True"
        )


def _entry_module(subject: ContractSubject) -> str | None:
    """The entry-point module that declares *subject*, if it came from one."""
    declared = {
        entry_point.value.partition(":")[0] for entry_point in entry_points(group=ENTRY_POINT_GROUP)
    }
    hook = subject.registry.plugin_manager.hook.payplane_providers
    for impl in hook.get_hookimpls():
        plugin = impl.plugin
        if not isinstance(plugin, types.ModuleType) or plugin.__name__ not in declared:
            continue
        with contextlib.suppress(Exception):
            specs = cast("Iterable[object]", impl.function())
            if any(getattr(spec, "id", None) == subject.id for spec in specs):
                return plugin.__name__
    return None


def _module_of(target: object) -> str | None:
    if isinstance(target, str):
        return target.partition(":")[0]
    module = getattr(target, "__module__", None)
    return module if isinstance(module, str) else None


def _bad_inputs(
    subject: ContractSubject, harness: Harness, answers: list[RecordedAnswer]
) -> list[st.SearchStrategy[Callable[[], object]]]:
    """Strategies of calls that feed the provider bad input: each may raise, none may leak."""

    def junk_run(answer: RecordedAnswer, step: int, junk: HttpResponse) -> Callable[[], object]:
        def action() -> object:
            outcome = harness.run(answer.request, (*answer.answers[:step], junk))
            if outcome.error is not None:
                raise outcome.error
            return outcome.result

        return action

    def request_run(request: Request) -> Callable[[], object]:
        def action() -> object:
            outcome = harness.run(request)
            if outcome.error is not None:
                raise outcome.error
            return outcome.result

        return action

    strategies: list[st.SearchStrategy[Callable[[], object]]] = [
        http_responses().map(lambda junk, a=answer, s=step: junk_run(a, s, junk))  # type: ignore[misc]
        for answer in answers
        for step in scripts(answer.answers)
    ]
    for capability in subject.spec.capabilities:
        if capability is Capability.POSTBACKS:
            continue
        codes = currencies(subject, capability) or None
        strategies.append(_GENERIC[capability](codes or ["USD"]).map(request_run))
    strategies.extend(
        byte_mutations(sample.body).map(
            lambda b, s=sample: lambda: verify(subject, b, s.headers)  # type: ignore[misc]
        )
        for sample in subject.samples.postbacks
    )
    return strategies


def contract_class(provider_id: str) -> type[ProviderContract]:
    """Return a :class:`ProviderContract` subclass for *provider_id* that pytest collects."""
    return type(
        "TestProviderContract",
        (ProviderContract,),
        {"provider_id": provider_id, "__module__": __name__, "__doc__": f"{provider_id}"},
    )
