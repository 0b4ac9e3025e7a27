"""The suite-wide secret check (root conftest.py's autouse fixture): logs, errors, hooks.

Three views of every test are checked against the secrets the test configured:

* every log record, at any level, of any logger;
* every payplane error that escaped to code outside payplane and its providers (a
  test's ``pytest.raises``, a failing test): ``str``, ``repr``, ``args``, every
  attribute, and each exception of its chain, an httpx error's request URL and
  headers included;
* every payload handed to a payplane hook implementation.

Secrets are recorded as they are made (``Secret.__init__`` is wrapped), for the test that
made them, plus those of every ``Secret`` still alive (a session fixture's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import attrs

import payplane._registry
import payplane._secrets
from payplane._redaction import LIVE
from payplane.exceptions import PayplaneError
from payplane.testing import log_record_texts

# Shorter values than this are too likely to occur in a text by chance (hypothesis
# generates many short secrets).
MIN_CHECKED_LEN = 8
CONFIGURED_SECRETS: set[str] = set()
"""The secrets made during the current test (the fixture empties it before each)."""
ESCAPED_ERRORS: list[PayplaneError] = []
"""Every payplane error made during the current test; those that escaped are checked."""
HOOK_PAYLOADS: list[tuple[str, Mapping[str, object]]] = []
"""Every hook call of the current test that reached an implementation: ``(name, kwargs)``."""

_original_secret_init = payplane._secrets.Secret.__init__
_original_error_init = PayplaneError.__init__
_original_registry_init = payplane._registry.Registry.__init__


def _recording_secret_init(self: payplane._secrets.Secret, value: str) -> None:
    _original_secret_init(self, value)
    if len(value) >= MIN_CHECKED_LEN:
        CONFIGURED_SECRETS.add(value)


def _recording_error_init(self: PayplaneError, *args: Any, **kwargs: Any) -> None:
    _original_error_init(self, *args, **kwargs)
    ESCAPED_ERRORS.append(self)


def _monitored_registry_init(self: payplane._registry.Registry, *args: Any, **kwargs: Any) -> None:
    _original_registry_init(self, *args, **kwargs)

    def before(hook_name: str, impls: Sequence[object], hook_kwargs: Mapping[str, Any]) -> None:
        if impls:  # a call without implementations shows its payload to no one
            HOOK_PAYLOADS.append((hook_name, dict(hook_kwargs)))

    def after(*_args: object) -> None:
        pass

    self.plugin_manager.add_hookcall_monitoring(before, after)


payplane._secrets.Secret.__init__ = _recording_secret_init  # type: ignore[method-assign]
PayplaneError.__init__ = _recording_error_init  # type: ignore[method-assign]
payplane._registry.Registry.__init__ = _monitored_registry_init  # type: ignore[method-assign]


def checked_secrets() -> set[str]:
    """The secrets to look for now: this test's, and every living one long enough."""
    alive = {value for value in LIVE.values() if len(value) >= MIN_CHECKED_LEN}
    return CONFIGURED_SECRETS | alive


def reset() -> None:
    """Forget the secrets, errors and hook payloads recorded so far (a new test starts)."""
    CONFIGURED_SECRETS.clear()
    ESCAPED_ERRORS.clear()
    HOOK_PAYLOADS.clear()


# -- what a view shows ----------------------------------------------------------------------


def texts_of(value: object) -> Iterator[str]:
    """Yield every text *value* shows: strings at any depth, bytes decoded, reprs.

    Walks mappings (keys too), sequences, attrs instances and exceptions (``str``,
    ``repr``, ``args``, attributes, the whole chain of causes and contexts); an httpx
    request (in an httpx error) shows its URL and headers. A ``Secret`` shows nothing.
    """
    seen: set[int] = set()
    stack = [value]
    while stack:
        current = stack.pop()
        if id(current) in seen or isinstance(current, payplane._secrets.Secret):
            continue
        seen.add(id(current))
        if isinstance(current, str):
            yield current
        elif isinstance(current, bytes | bytearray):
            yield bytes(current).decode("utf-8", "surrogateescape")
        elif isinstance(current, Mapping):
            stack.extend(item for pair in current.items() for item in pair)
        elif isinstance(current, list | tuple | set | frozenset):
            stack.extend(current)
        elif isinstance(current, BaseException):
            yield from _exception_views(current, stack)
        elif attrs.has(type(current)):
            yield repr(current)
            fields = attrs.fields(cast("type[attrs.AttrsInstance]", type(current)))
            stack.extend(getattr(current, field.name) for field in fields)
        elif hasattr(current, "url") and hasattr(current, "headers"):  # an httpx request
            yield str(current.url)
            stack.append(dict(current.headers))


def _exception_views(exc: BaseException, stack: list[object]) -> Iterator[str]:
    yield str(exc)
    yield repr(exc)
    stack.append(exc.args)
    stack.append(dict(vars(exc)))
    stack.extend(link for link in (exc.__cause__, exc.__context__) if link is not None)
    request = getattr(exc, "_request", None)  # httpx keeps it here; .request raises if unset
    if request is not None:
        stack.append(request)


def _shows_secret(texts: Iterator[str], secrets: set[str]) -> bool:
    return any(secret in text for text in texts for secret in secrets)


def leaking_loggers(records: list[logging.LogRecord], secrets: set[str]) -> list[str]:
    """Return the names of the loggers whose records show any of *secrets*, sorted."""
    return sorted(
        {
            record.name
            for record in records
            if _shows_secret(iter(list(log_record_texts(record))), secrets)
        }
    )


def escaped(exc: BaseException) -> bool:
    """Whether *exc* was raised and caught outside payplane and its providers."""
    traceback = exc.__traceback__
    if traceback is None:
        return False
    module = traceback.tb_frame.f_globals.get("__name__", "")
    return not str(module).startswith("payplane")


def leaking_errors(errors: list[PayplaneError], secrets: set[str]) -> list[str]:
    """Return ``Type: str`` of each escaped error any of whose views shows *secrets*."""
    return sorted(
        {
            f"{type(error).__name__}: {str(error)[:120]}"
            for error in errors
            if escaped(error) and _shows_secret(texts_of(error), secrets)
        }
    )


def leaking_hooks(payloads: list[tuple[str, Mapping[str, object]]], secrets: set[str]) -> list[str]:
    """Return the names of the hooks whose payloads show any of *secrets*, sorted."""
    return sorted({name for name, kwargs in payloads if _shows_secret(texts_of(kwargs), secrets)})
