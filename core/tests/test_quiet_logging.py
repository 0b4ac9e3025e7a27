"""payplane prints nothing on stderr by itself: its records and stamina's reach only the
handlers an application configures (issue 14: bare ``stamina.retry_scheduled`` lines)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

RETRYING = textwrap.dedent(
    """
    import logging, sys
    if sys.argv[1] == "configured":
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
    import httpx
    import payplane
    from payplane import LookupRequest, PaymentKind
    settings = {
        "key_id": "rzp_test_abcdefghijklmn",
        "key_secret": "secret-abcdefgh",
        "webhook_secret": "whsec-abcdefgh",
    }
    policy = payplane.RetryPolicy(attempts=3, wait_initial=0, wait_max=0, wait_jitter=0)
    answer = httpx.MockTransport(lambda request: httpx.Response(503))
    with payplane.client("razorpay", settings, transport=answer, retry=policy) as client:
        try:
            client.look_up(LookupRequest(kind=PaymentKind.REFUND, provider_reference="rfnd_x"))
        except payplane.exceptions.TransportError as exc:
            print("gave up:", type(exc).__name__)
    """
)


def _run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RETRYING, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_retries_print_nothing_without_logging_configured() -> None:
    """No handler configured: retries leave stderr empty (no last-resort lines)."""
    result = _run("bare")
    assert result.stderr == ""
    assert result.stdout == "gave up: TransportError\n"


def test_retries_reach_configured_handlers() -> None:
    """With logging configured, stamina's retry records reach the application's handler."""
    result = _run("configured")
    assert result.stdout.count("stamina.retry_scheduled") == 2
    assert result.stdout.endswith("gave up: TransportError\n")
