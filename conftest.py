"""Suite-wide test configuration: hypothesis profiles and the no-secret-in-logs check."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import payplane._secrets

settings.register_profile("dev", max_examples=50)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# Every secret any test configures (through payplane.Secret) is recorded here; shorter
# values than this are too likely to occur in a log line by chance (hypothesis makes many).
_MIN_CHECKED_LEN = 8
CONFIGURED_SECRETS: set[str] = set()

_original_init = payplane._secrets.Secret.__init__


def _recording_init(self: payplane._secrets.Secret, value: str) -> None:
    _original_init(self, value)
    if isinstance(value, str) and len(value) >= _MIN_CHECKED_LEN:
        CONFIGURED_SECRETS.add(value)


payplane._secrets.Secret.__init__ = _recording_init  # type: ignore[method-assign]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _texts(record: logging.LogRecord) -> Iterator[str]:
    yield record.getMessage()
    formatter = logging.Formatter()
    if record.exc_info:
        yield formatter.formatException(record.exc_info)
    if record.stack_info:
        yield record.stack_info
    for value in vars(record).values():
        if isinstance(value, str):
            yield value


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[None]:
    """Fail the test if any log record, at any level, shows a secret the tests configured."""
    handler = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    leaks: list[tuple[str, Any]] = [
        (secret, record.name)
        for record in handler.records
        for text in _texts(record)
        for secret in CONFIGURED_SECRETS
        if secret in text
    ]
    assert not leaks, f"secret values reached log records: {sorted({n for _, n in leaks})}"
