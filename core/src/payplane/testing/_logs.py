"""Capture log records and read every text they carry: for "no secret in logs" checks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["captured_log_records", "log_record_texts"]


class _Collect(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_log_records() -> Iterator[list[logging.LogRecord]]:
    """Collect every log record of every logger, at every level, inside the block.

    The root logger is set to ``DEBUG`` for the block (and restored after), so debug
    records are created even where the application logs less. Yields the list the records
    are appended to.
    """
    handler = _Collect()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def log_record_texts(record: logging.LogRecord) -> Iterator[str]:
    """Yield every text a handler could write from *record*.

    The formatted message, the formatted exception and stack, and every string attribute
    (``extra=`` values included).
    """
    yield record.getMessage()
    if record.exc_info:
        yield logging.Formatter().formatException(record.exc_info)
    if record.stack_info:
        yield record.stack_info
    for value in vars(record).values():
        if isinstance(value, str):
            yield value
