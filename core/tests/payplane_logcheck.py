"""The no-secret-in-logs check used by the suite-wide autouse fixture (root conftest.py).

Every secret any test configures (through ``payplane.Secret``) is recorded in
:data:`CONFIGURED_SECRETS`; the fixture fails a test whose log records show one.
"""

from __future__ import annotations

import logging

import payplane._secrets
from payplane.testing import log_record_texts

# Shorter values than this are too likely to occur in a log line by chance (hypothesis
# generates many short secrets).
_MIN_CHECKED_LEN = 8
CONFIGURED_SECRETS: set[str] = set()

_original_init = payplane._secrets.Secret.__init__


def _recording_init(self: payplane._secrets.Secret, value: str) -> None:
    _original_init(self, value)
    if len(value) >= _MIN_CHECKED_LEN:
        CONFIGURED_SECRETS.add(value)


payplane._secrets.Secret.__init__ = _recording_init  # type: ignore[method-assign]


def leaking_loggers(records: list[logging.LogRecord], secrets: set[str]) -> list[str]:
    """Return the names of the loggers whose records show any of *secrets*, sorted."""
    return sorted(
        {
            record.name
            for record in records
            for text in log_record_texts(record)
            if any(secret in text for secret in secrets)
        }
    )
