"""The contract suite: what every provider must do, checked against any installed one.

Subclass :class:`ProviderContract` in a test module (pytest collects the subclass), or
run ``pytest --payplane-provider=ID``. Each check is one test whose failure message says
what to fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, cast

import attrs
import pytest
from hypothesis import strategies as st

from payplane._currencies import ISO_4217_EXPONENTS
from payplane._http import HttpRequest, HttpResponse, PostbackAnswer
from payplane._models import DepositRequest
from payplane._money import Money
from payplane._protocols import Capability
from payplane._registry import Registry
from payplane._secrets import SECRET_METADATA_KEY
from payplane._spec import PLUGIN_API_VERSION
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
    CLIENT_CALLS,
    LOGGER,
    MIN_SECRET,
    OPERATIONS,
    ContractSubject,
    Request,
    amount_forms,
    build,
    carries_exactly,
    check_answer,
    check_no_secret,
    example_request,
    exception_texts,
    expect_refused,
    fail,
    hosted_page_amounts,
    money_currencies,
    parse,
    read_status,
    run_examples,
    status_of,
    unexpected,
    verify,
)
from payplane.testing._logs import captured_log_records, log_record_texts
from payplane.testing._samples import ContractSamples, RecordedAnswer, SignedPostback
from payplane.testing._strategies import (
    activation_requests,
    byte_mutations,
    deposit_requests,
    http_responses,
    money,
    status_codes,
    withdrawal_requests,
)
from payplane.testing._transports import failing_transport, recorded_transport

__all__ = ["ContractSubject", "ProviderContract", "contract_class"]


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
    Each test checks one rule, for the capabilities the provider declares; hypothesis
    draws the inputs (as many as the active profile says).

    Attributes:
        provider_id: The provider to check.
        samples: Samples to use instead of asking the hook.
        settings: Settings to use instead of the samples' (a mapping of fields).
    """

    provider_id: ClassVar[str] = ""
    samples: ClassVar[ContractSamples | None] = None
    settings: ClassVar[Mapping[str, Any] | None] = None

    # -- fixtures --------------------------------------------------------------------

    @pytest.fixture
    def payplane_registry(self) -> Registry:
        """The registry the provider is looked up in (default: entry points)."""
        return Registry()

    @pytest.fixture
    def payplane_subject(self, payplane_registry: Registry) -> ContractSubject:
        """The provider under test, built from its spec and the samples' settings."""
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
            provider = spec.load_factory()(settings)
        except Exception as exc:  # noqa: BLE001 - reported as the finding
            fail(f"the factory of {provider_id!r} failed on the samples' settings: {exc!r}")
        return ContractSubject(
            spec=spec,
            settings=settings,
            provider=provider,
            samples=samples,
            registry=payplane_registry,
        )

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
        """The spec names the provider, declares capabilities and currencies, speaks our API."""
        spec = payplane_subject.spec
        problems = []
        if not spec.display_name.strip():
            problems.append("display_name is empty")
        if not spec.capabilities:
            problems.append("capabilities is empty: declare what the provider implements")
        if not spec.currencies:
            problems.append("currencies is empty: declare the ISO 4217 codes it moves")
        if spec.api_version != PLUGIN_API_VERSION:
            problems.append(
                f"api_version is {spec.api_version}; this payplane speaks "
                f"{PLUGIN_API_VERSION} (use payplane.PLUGIN_API_VERSION)"
            )
        if problems:
            fail(f"the ProviderSpec of {spec.id!r} is invalid: " + "; ".join(problems))

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

    def test_provider_implements_declared_protocols(
        self, payplane_subject: ContractSubject
    ) -> None:
        """The provider object implements the protocol of every capability it declares."""
        missing = []
        for capability in sorted(payplane_subject.spec.capabilities, key=lambda c: c.value):
            protocol = capability.protocol
            if not isinstance(payplane_subject.provider, protocol):
                methods = [
                    name
                    for name in (
                        "build_deposit",
                        "parse_deposit",
                        "build_activation",
                        "parse_activation",
                        "build_withdrawal",
                        "parse_withdrawal",
                        "verify_postback",
                        "postback_answer",
                    )
                    if hasattr(protocol, name)
                    and not callable(getattr(payplane_subject.provider, name, None))
                ]
                missing.append(f"{capability.value} ({protocol.__name__}: {', '.join(methods)})")
        if missing:
            fail(
                f"{payplane_subject.id!r} declares capabilities its provider object does not "
                f"implement: {'; '.join(missing)}. Implement the methods, or drop the "
                "capabilities from its ProviderSpec"
            )

    def test_declared_operations_are_implemented(self, payplane_subject: ContractSubject) -> None:
        """Every declared operation does something: no NotImplementedError, no AttributeError."""
        subject = payplane_subject
        for capability in sorted(subject.spec.capabilities, key=lambda c: c.value):
            if capability is Capability.POSTBACKS:
                for accepted in (True, False):
                    answer = subject.call(capability, "postback_answer", accepted=accepted)
                    if not isinstance(answer, PostbackAnswer):
                        fail(f"{subject.id}: postback_answer() must return a PostbackAnswer")
                body = subject.samples.postbacks[0].body if subject.samples.postbacks else b"{}"
                with contextlib.suppress(Exception):
                    subject.call(capability, "verify_postback", body, {})
                continue
            request_type, op = BY_CAPABILITY[capability]
            requests = [
                a.request for a in subject.samples.answers if type(a.request) is request_type
            ]
            if not requests:
                requests = [example_request(request_type, subject.spec.currencies)]
            for request in requests:
                # Only a stub's NotImplementedError (or a missing method) fails here: other
                # errors are the business of the tests below.
                with contextlib.suppress(Exception):
                    subject.call(capability, op.build, request)
                with contextlib.suppress(Exception):
                    subject.call(capability, op.parse, request, HttpResponse(status_code=200))

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
        status_capabilities = {Capability.ACTIVATION, Capability.WITHDRAWALS, Capability.POSTBACKS}
        if subject.spec.capabilities & status_capabilities and not samples.status_probes:
            missing.append("a StatusProbe for each place the provider reads a status code")
        if missing:
            fail(
                f"the contract samples of {subject.id!r} lack: {'; '.join(missing)}. Add them "
                "to the ContractSamples its payplane_contract_samples hook returns"
            )

    # -- requests and answers --------------------------------------------------------

    def test_sample_requests_build(self, payplane_subject: ContractSubject) -> None:
        """The samples' requests build into well-formed HttpRequests (money moves flagged)."""
        for answer in payplane_subject.samples.answers:
            try:
                build(payplane_subject, answer.request)
            except ValidationError as exc:
                fail(
                    f"{payplane_subject.id}: the sample request of {answer.name!r} is refused "
                    f"({exc}); samples must hold valid requests"
                )

    def test_generated_requests_build(self, payplane_subject: ContractSubject) -> None:
        """Generated requests build, or are refused with a ValidationError naming a field."""
        subject = payplane_subject
        strategies = []
        currencies = sorted(c for c in subject.spec.currencies if c in ISO_4217_EXPONENTS)
        for capability, make in (
            (Capability.DEPOSITS, deposit_requests),
            (Capability.ACTIVATION, activation_requests),
            (Capability.WITHDRAWALS, withdrawal_requests),
        ):
            if capability in subject.spec.capabilities:
                strategies.append(make(currencies or None))
        if not strategies:
            pytest.skip(f"{subject.id!r} declares no request-building capability")

        def check(request: Request) -> None:
            try:
                build(subject, request)
            except ValidationError as exc:
                if not exc.field:
                    fail(f"{subject.id}: a ValidationError must name the field ({exc})")

        run_examples(st.one_of(strategies), check)

    def test_recorded_answers_parse(self, payplane_subject: ContractSubject) -> None:
        """Every recorded answer parses to the outcome the samples expect."""
        subject = payplane_subject
        for answer in subject.samples.answers:
            check_answer(subject, answer)

    def test_junk_answers_never_succeed(self, payplane_subject: ContractSubject) -> None:
        """Junk answers raise payplane errors or give non-success results, never KeyError."""
        subject = payplane_subject
        requests = [a.request for a in subject.samples.answers]
        if not requests:
            pytest.skip(f"{subject.id!r} has no recorded answers")

        def check(case: tuple[Request, HttpResponse]) -> None:
            request, response = case
            op = OPERATIONS[type(request)]
            try:
                result = parse(subject, request, response)
            except PayplaneError:
                return
            except Exception as exc:  # noqa: BLE001 - the finding
                unexpected(subject, op.parse, exc, response)
            status = status_of(result)
            if status is not None and status.is_success:
                fail(
                    f"{subject.id}: {op.parse}() read {response!r} as {status}: an answer "
                    "the provider cannot classify must raise MalformedPayloadError"
                )

        run_examples(st.tuples(st.sampled_from(requests), http_responses()), check)

    def test_lost_answer_is_unknown_outcome(self, payplane_subject: ContractSubject) -> None:
        """Through payplane.Client, a money-moving request whose answer is lost is unknown."""
        from payplane._client import Client, RetryPolicy  # noqa: PLC0415 - httpx on demand

        subject = payplane_subject
        requests = [
            a.request for a in subject.samples.answers if OPERATIONS[type(a.request)].moves_money
        ]
        if not requests:
            pytest.skip(f"{subject.id!r} has no money-moving sample request")
        for request in requests:
            op = OPERATIONS[type(request)]
            client = Client(
                subject.spec,
                subject.settings,
                subject.provider,
                transport=failing_transport(),
                retry=RetryPolicy(attempts=1),
            )
            with client, pytest.raises(TransportError) as info:
                getattr(client, CLIENT_CALLS[op.capability])(request)
            error = info.value
            if isinstance(error, UnknownOutcomeError):
                if error.reference != getattr(request, "reference", None):
                    fail(
                        f"{subject.id}: a lost {op.capability.value} answer carries reference "
                        f"{error.reference!r}, not the request's: build it with "
                        "reference=request.reference"
                    )
            elif not error.retry_safe:
                fail(
                    f"{subject.id}: a lost {op.capability.value} answer gave "
                    f"{type(error).__name__}, not UnknownOutcomeError: build the request with "
                    "moves_money=True"
                )

    # -- postbacks -------------------------------------------------------------------

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
            if sample.amount is not None and event.amount != sample.amount:
                problems.append(f"amount is {event.amount}, expected exactly {sample.amount}")
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

    def test_status_probes_reach_the_provider(self, payplane_subject: ContractSubject) -> None:
        """Each status probe's carrier works: some known code goes through without error."""
        subject = payplane_subject
        for probe in subject.samples.status_probes:
            if not probe.known:
                continue
            errors = []
            for code in sorted(probe.known, key=repr):
                try:
                    read_status(subject, probe.carrier(code))
                except PayplaneError as exc:
                    errors.append(f"{code!r}: {exc}")
                else:
                    break
            else:
                fail(
                    f"{subject.id}: status probe {probe.name!r} fails for every known code "
                    f"({'; '.join(errors)}): its carrier must build what the provider accepts"
                )

    def test_unknown_status_is_never_success(self, payplane_subject: ContractSubject) -> None:
        """A raw status code the provider does not know maps to UNKNOWN, or is refused."""
        subject = payplane_subject
        probes = tuple(subject.samples.status_probes)
        if not probes:
            pytest.skip(f"the samples of {subject.id!r} declare no status probe")

        def check(case: tuple[Any, object]) -> None:
            probe, code = case
            try:
                status = read_status(subject, probe.carrier(code))
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
            "repr(provider)": repr(subject.provider),
            "str(provider)": str(subject.provider),
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

    def test_secrets_not_in_errors(self, payplane_subject: ContractSubject) -> None:
        """Errors from generated requests, junk answers and tampered postbacks show no secret."""
        subject = payplane_subject
        strategies = _bad_inputs(subject)
        if not strategies:
            pytest.skip(f"{subject.id!r} declares nothing to feed bad inputs to")

        def check(action: Callable[[], object]) -> None:
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - only its text matters
                check_no_secret(subject, exception_texts(exc), "an exception message")

        run_examples(st.one_of(strategies), check)

    def test_secrets_not_in_client_logs(self, payplane_subject: ContractSubject) -> None:
        """The recorded exchanges, run through payplane.Client, log no secret (any level)."""
        from payplane._client import Client, RetryPolicy  # noqa: PLC0415 - httpx on demand

        subject = payplane_subject
        answers = [a for a in subject.samples.answers if a.response is not None]
        if not answers:
            pytest.skip(f"{subject.id!r} has no recorded answers")
        for answer in answers:
            op = OPERATIONS[type(answer.request)]
            assert answer.response is not None  # noqa: S101 - filtered above
            transport = recorded_transport([answer.response] * 3)
            client = Client(
                subject.spec,
                subject.settings,
                subject.provider,
                transport=transport,
                retry=RetryPolicy(attempts=1),
            )
            LOGGER.debug("running %s through payplane.Client", answer.name)
            with client:
                try:
                    getattr(client, CLIENT_CALLS[op.capability])(answer.request)
                except PayplaneError as exc:
                    check_no_secret(subject, exception_texts(exc), "a client error")
        # The autouse log guard checks the records.

    # -- money -----------------------------------------------------------------------

    def test_money_is_exact(self, payplane_subject: ContractSubject) -> None:
        """Amounts (0, 2 and 3 decimals where declared) reach the request exactly, or are refused.

        A fixed amount is either written exactly (as a decimal or in integer minor
        units) in the request or the hosted page URL, or refused with a
        ``ValidationError``; never rounded, never sent through a float.
        """
        subject = payplane_subject
        currencies = money_currencies(subject.spec.currencies)
        # Answers that parse: a deposit's hosted page URL may be where its amount goes.
        templates = [a for a in subject.samples.answers if not isinstance(a.expected, type)]
        if not templates or not currencies:
            pytest.skip(f"{subject.id!r} has no sample request to vary amounts in")

        def check(case: tuple[RecordedAnswer, Money]) -> None:
            answer, amount = case
            request: Request
            if isinstance(answer.request, DepositRequest):
                request = attrs.evolve(answer.request, amount=amount, currency=amount.currency)
            else:
                request = attrs.evolve(answer.request, amount=amount)
            try:
                op, built = build(subject, request)
            except ValidationError:
                return
            forms = amount_forms(built) if isinstance(built, HttpRequest) else []
            if isinstance(request, DepositRequest) and request.hosted_page:
                forms += hosted_page_amounts(subject, request, answer.response)
            if not carries_exactly(forms, amount):
                fail(
                    f"{subject.id}: {op.build}() for {amount} carries no exact form of the "
                    f"amount (numbers found: {[str(f) for f in forms][:8]}). Write amounts "
                    "as decimal text or integer minor units, never through float, or refuse "
                    "them with ValidationError('amount', ...)"
                )

        run_examples(
            st.tuples(st.sampled_from(templates), money(currencies, max_digits=9, excess_places=1)),
            check,
        )


def _bad_inputs(subject: ContractSubject) -> list[st.SearchStrategy[Callable[[], object]]]:
    """Strategies of calls that feed the provider bad input: each may raise, none may leak."""
    strategies: list[st.SearchStrategy[Callable[[], object]]] = [
        http_responses().map(
            lambda r, a=answer: lambda: parse(subject, a.request, r)  # type: ignore[misc]
        )
        for answer in subject.samples.answers
    ]
    makers = {
        Capability.DEPOSITS: deposit_requests,
        Capability.ACTIVATION: activation_requests,
        Capability.WITHDRAWALS: withdrawal_requests,
    }
    strategies.extend(
        make().map(lambda r: lambda: build(subject, cast("Request", r)))
        for capability, make in makers.items()
        if capability in subject.spec.capabilities
    )
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
