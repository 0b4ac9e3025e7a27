"""The sandbox machinery over real sockets: serving, faults, delivery with retries."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Iterator

import attrs
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import payplane
from payplane import Money, WithdrawalRequest
from payplane._sandbox import (
    Deliverer,
    DeliveryCounts,
    DeliveryPolicy,
    FaultConfig,
    RunningSandbox,
    SandboxConfig,
    ServerThread,
    check_reachable,
    load_sandbox,
    sandbox_entry_points,
    start_sandbox,
)
from payplane.exceptions import ConfigurationError, UnknownOutcomeError

PROVIDER = "paykassma_wavepay"
FAST = DeliveryPolicy(attempts=4, timeout=5.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01)


def _keys() -> dict[str, str]:
    return {
        name: secrets.token_hex(8)
        for name in (
            "pluginapi_secret",
            "withdrawal_private_key",
            "postback_access_key",
            "postback_private_key",
        )
    }


@pytest.fixture
def receiver() -> Iterator[tuple[ServerThread, list[bytes], list[int]]]:
    """A postback receiver that fails the first deliveries it is told to fail."""
    bodies: list[bytes] = []
    fail_first = [0]

    async def receive(request: Request) -> Response:
        bodies.append(await request.body())
        if fail_first[0] > 0:
            fail_first[0] -= 1
            return JSONResponse({"status": "error"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])
    with ServerThread(app) as server:
        yield server, bodies, fail_first


def _sandbox(**kwargs: object) -> RunningSandbox:
    config = SandboxConfig(provider=PROVIDER, keys=_keys(), delivery=FAST, **kwargs)  # type: ignore[arg-type]
    return start_sandbox(config)


def _withdrawal() -> WithdrawalRequest:
    return WithdrawalRequest(
        customer_id="55",
        amount=Money(1000, "MMK"),
        account_number="09123456789",
        account_email="user@example.com",
    )


# -- configuration ------------------------------------------------------------------------


def test_config_listens_on_loopback_only() -> None:
    """A non-loopback host is refused."""
    with pytest.raises(ConfigurationError, match="loopback"):
        SandboxConfig(provider=PROVIDER, host="0.0.0.0")  # noqa: S104


def test_config_delivers_to_loopback_only() -> None:
    """A postback URL to another host is refused."""
    with pytest.raises(ConfigurationError, match="loopback"):
        SandboxConfig(provider=PROVIDER, postback_url="https://example.com/hook")


def test_config_hides_keys() -> None:
    """The config's repr shows no key."""
    keys = _keys()
    assert not any(
        value in repr(SandboxConfig(provider=PROVIDER, keys=keys)) for value in keys.values()
    )


def test_fault_rates_must_add_up() -> None:
    """Fault probabilities summing over 1 are refused."""
    with pytest.raises(ConfigurationError, match="exceed 1"):
        FaultConfig(error_rate=0.6, drop_rate=0.6)


def test_backoff_grows_and_is_capped() -> None:
    """Backoff doubles from wait_initial up to wait_max (no jitter here)."""
    import random  # noqa: PLC0415

    policy = DeliveryPolicy(wait_initial=0.1, wait_max=0.3, wait_jitter=0)
    rng = random.Random(0)  # noqa: S311 - jitter, not cryptography
    assert [policy.backoff(n, rng) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.3, 0.3]


# -- discovery ----------------------------------------------------------------------------


def test_wavepay_sandbox_is_discovered() -> None:
    """The provider's sandbox is found through the payplane.sandboxes entry points."""
    assert PROVIDER in sandbox_entry_points()
    assert load_sandbox(PROVIDER).client_settings("http://127.0.0.1:1")["api_host"] == (
        "http://127.0.0.1:1"
    )


def test_unknown_sandbox_lists_installed() -> None:
    """Asking for a sandbox nobody ships names those that exist."""
    with pytest.raises(ConfigurationError, match="sandboxes: paykassma_wavepay"):
        load_sandbox("nope")


def test_missing_key_is_named() -> None:
    """A sandbox started without a key names it."""
    keys = _keys()
    del keys["postback_private_key"]
    with pytest.raises(ConfigurationError, match="postback_private_key"):
        start_sandbox(SandboxConfig(provider=PROVIDER, keys=keys))


# -- serving ------------------------------------------------------------------------------


def test_port_in_use_is_a_configuration_error() -> None:
    """Binding a port someone listens on fails at once, naming the port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"port {port}"):
            _sandbox(port=port)


def test_check_reachable_refuses_closed_port() -> None:
    """Nothing listening at the postback URL is reported."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConfigurationError, match="unreachable"):
        check_reachable(f"http://127.0.0.1:{port}/hook")


def test_sandbox_serves_on_a_free_port() -> None:
    """A started sandbox answers its state endpoint, and stops cleanly."""
    with _sandbox() as running:
        state = httpx.get(f"{running.url}/_sandbox/state").json()
    assert state["balance"] == 1_000_000


def test_server_listens_with_the_tcp_protocol_named() -> None:
    """The listening socket's proto is IPPROTO_TCP: what asyncio checks before TCP_NODELAY."""
    with ServerThread(Starlette()) as server:
        assert server._sock is not None
        assert server._sock.proto == socket.IPPROTO_TCP


def test_kept_alive_connections_have_nagle_off() -> None:
    """Accepted connections carry TCP_NODELAY, so an answer is not held for the peer's ACK.

    Without it each answer on a kept-alive connection waited for the client's delayed
    ACK (about 40 ms on Linux): h11 writes the status line and the body separately.
    """
    with _sandbox() as running, httpx.Client() as http:
        for _ in range(3):
            assert http.get(f"{running.url}/_sandbox/state").status_code == 200
        assert running.server._server is not None
        connections = list(running.server._server.server_state.connections)
        options = [
            connection.transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
            for connection in connections
        ]
    assert len(options) == 1  # one kept-alive connection served the three requests
    assert options[0] != 0


# -- faults -------------------------------------------------------------------------------


def test_injected_503_leaves_the_request_unprocessed() -> None:
    """error_rate=1 answers 503 and the withdrawal is not made."""
    with _sandbox(faults=FaultConfig(error_rate=1.0)) as running:
        answer = httpx.post(f"{running.url}/v2/withdrawal/create", json={})
        state = httpx.get(f"{running.url}/_sandbox/state").json()
    assert answer.status_code == 503
    assert state["withdrawals"] == {}


def test_injected_malformed_json() -> None:
    """malformed_rate=1 cuts the JSON answer short."""
    with _sandbox(faults=FaultConfig(malformed_rate=1.0)) as running:
        answer = httpx.post(f"{running.url}/v2/withdrawal/create", json={})
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_dropped_connection_is_an_unknown_outcome() -> None:
    """drop_rate=1: the withdrawal is made, its answer lost: an unknown outcome."""
    with _sandbox(faults=FaultConfig(drop_rate=1.0)) as running:
        with (
            payplane.client(PROVIDER, running.client_settings()) as client,
            pytest.raises(UnknownOutcomeError) as caught,
        ):
            client.create_withdrawal(request := _withdrawal())
        state = httpx.get(f"{running.url}/_sandbox/state").json()
    assert caught.value.reference == request.reference
    assert request.reference in state["withdrawals"]


def test_latency_is_added() -> None:
    """latency_ms delays every API answer."""
    with _sandbox(faults=FaultConfig(latency_ms=150)) as running:
        answer = httpx.post(f"{running.url}/v2/withdrawal/create", json={})
    assert answer.elapsed.total_seconds() >= 0.15


def test_same_seed_same_faults() -> None:
    """Fault draws are reproducible from the seed."""

    def statuses() -> list[int]:
        with _sandbox(faults=FaultConfig(error_rate=0.5, seed=7)) as running:
            return [
                httpx.post(f"{running.url}/v2/withdrawal/create", json={}).status_code
                for _ in range(12)
            ]

    first = statuses()
    assert first == statuses()
    assert {422, 503} == set(first)  # a refused withdrawal, or the injected fault


# -- delivery -----------------------------------------------------------------------------


def test_deliverer_retries_until_accepted(
    receiver: tuple[ServerThread, list[bytes], list[int]],
) -> None:
    """A refused delivery is re-sent with backoff; every attempt is logged."""
    server, bodies, fail_first = receiver
    fail_first[0] = 2
    deliverer = Deliverer(f"{server.url}/hook", FAST)
    try:
        deliverer.submit(b'{"a":1}', label="test")
        assert deliverer.wait_idle(5)
    finally:
        deliverer.close()
    assert [(d.attempt, d.status, d.accepted) for d in deliverer.log] == [
        (1, 503, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert bodies == [b'{"a":1}'] * 3


def test_deliverer_gives_up_after_its_attempts(
    receiver: tuple[ServerThread, list[bytes], list[int]],
) -> None:
    """Deliveries are bounded by the policy's attempts."""
    server, _, fail_first = receiver
    fail_first[0] = 100
    deliverer = Deliverer(f"{server.url}/hook", FAST)
    try:
        deliverer.submit(b"{}", label="test")
        assert deliverer.wait_idle(5)
    finally:
        deliverer.close()
    assert len(deliverer.log) == FAST.attempts
    assert not any(d.accepted for d in deliverer.log)


def test_deliverer_logs_unreachable_receiver() -> None:
    """A receiver that is not there is logged attempt by attempt, without an HTTP status."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    deliverer = Deliverer(f"http://127.0.0.1:{port}/hook", FAST)
    try:
        deliverer.submit(b"{}", label="test")
        assert deliverer.wait_idle(5)
    finally:
        deliverer.close()
    assert [d.status for d in deliverer.log] == [None] * FAST.attempts
    assert all("ConnectError" in (d.error or "") for d in deliverer.log)


def test_deliverer_counts_what_it_did(
    receiver: tuple[ServerThread, list[bytes], list[int]],
) -> None:
    """Counts come from the log: postbacks, deliveries, and only the requests really made."""
    server, _, fail_first = receiver
    fail_first[0] = 1
    deliverer = Deliverer(f"{server.url}/hook", FAST)
    try:
        deliverer.submit(b"{}", label="first")
        deliverer.submit(b"{}", label="second")
        assert deliverer.wait_idle(5)
    finally:
        deliverer.close()
    assert deliverer.counts() == DeliveryCounts(
        postbacks=2, delivered=2, attempts=3, not_accepted=0, not_sent=0
    )


def test_refused_delivery_is_logged_as_text(
    receiver: tuple[ServerThread, list[bytes], list[int]],
) -> None:
    """A refusal's error shows the status and the answer as text, not a bytes repr."""
    server, _, fail_first = receiver
    fail_first[0] = 100
    deliverer = Deliverer(f"{server.url}/hook", attrs.evolve(FAST, attempts=1))
    try:
        deliverer.submit(b"{}", label="test")
        assert deliverer.wait_idle(5)
    finally:
        deliverer.close()
    assert [d.error for d in deliverer.log] == ['not accepted: HTTP 503: {"status":"error"}']
    assert deliverer.counts().not_accepted == 1


def test_without_a_url_nothing_is_sent_and_no_attempt_counted() -> None:
    """With no postback URL each postback gets one 'not sent' entry, and counts no attempt."""
    deliverer = Deliverer(None, FAST)
    try:
        for label in ("a", "b", "c"):
            deliverer.submit(b"{}", label=label)
        assert deliverer.wait_idle(5)
    finally:
        deliverer.close()
    assert [(d.attempt, d.sent, d.status, d.accepted) for d in deliverer.log] == [
        (0, False, None, False)
    ] * 3
    assert [d.to_dict()["sent"] for d in deliverer.log] == [False] * 3
    assert deliverer.counts() == DeliveryCounts(
        postbacks=3, delivered=0, attempts=0, not_accepted=0, not_sent=3
    )


def test_postbacks_queued_at_close_count_as_not_sent(
    receiver: tuple[ServerThread, list[bytes], list[int]],
) -> None:
    """A postback still waiting for its turn when the deliverer stops was never sent."""
    server, bodies, _ = receiver
    deliverer = Deliverer(f"{server.url}/hook", FAST)
    deliverer.submit(b"{}", label="later", delay=60)
    deliverer.close()
    assert bodies == []
    assert deliverer.counts() == DeliveryCounts(
        postbacks=1, delivered=0, attempts=0, not_accepted=0, not_sent=1
    )


def test_call_later_runs_on_the_delivery_thread() -> None:
    """Delayed work runs after its delay, off the caller's thread."""
    ran: list[str] = []
    deliverer = Deliverer(None, FAST)
    try:
        deliverer.call_later(0.05, lambda: ran.append(threading.current_thread().name))
        assert deliverer.wait_idle(5)
    finally:
        deliverer.close()
    assert ran == ["payplane-sandbox-deliverer"]


def test_sandbox_postbacks_reach_the_receiver_and_the_log(
    receiver: tuple[ServerThread, list[bytes], list[int]],
) -> None:
    """A credited activation's postback is delivered twice and shown in the delivery log."""
    server, bodies, _ = receiver
    with _sandbox(postback_url=f"{server.url}/hook") as running:
        with payplane.client(PROVIDER, running.client_settings()) as client:
            client.activate_deposit(
                payplane.ActivationRequest(
                    customer_id="55", amount=Money(6000, "MMK"), transaction_id="1234567890"
                )
            )
        assert running.deliverer.wait_idle(5)
        log = httpx.get(f"{running.url}/_sandbox/deliveries").json()
        event = client.verify_postback(bodies[0])
    assert [entry["accepted"] for entry in log] == [True, True]
    assert bodies[0] == bodies[1]
    assert event.event_key == "ingoing:1234567890"
