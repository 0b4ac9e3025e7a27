"""The project's inbox, named by the ``PAYPLANE_INBOX`` setting."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from payplane._inbox._receiver import Inbox
from payplane.exceptions import ConfigurationError

__all__ = ["INBOX_SETTING", "get_inbox"]

INBOX_SETTING = "PAYPLANE_INBOX"
"""The setting that names the project's inbox: the dotted path of an
:class:`~payplane.Inbox`, or of a function called once, without arguments, that returns
one (``"myproject.payments.inbox"``)."""

_lock = threading.Lock()
_cache: dict[str, Inbox] = {}


def get_inbox() -> Inbox:
    """Return the project's inbox, the one ``settings.PAYPLANE_INBOX`` names.

    The view, the admin actions and the management commands all use it. The dotted path
    is imported on first use (not at start-up) and the inbox kept for the life of the
    process; a factory is called once. Changing the setting (``override_settings``)
    forgets it.

    Raises:
        ConfigurationError: the setting is missing, cannot be imported, or names
            neither an :class:`~payplane.Inbox` nor a function returning one; or
            importing its module or calling the function raised (the error's type and
            text follow the setting's value, the error is chained)
            (``field="PAYPLANE_INBOX"``).
    """
    path = getattr(settings, INBOX_SETTING, None)
    if not isinstance(path, str) or not path:
        msg = (
            f"settings.{INBOX_SETTING} must be the dotted path of your payplane.Inbox "
            f'(or of a function returning one), e.g. "myproject.payments.inbox"; got {path!r}'
        )
        raise ConfigurationError(msg, field=INBOX_SETTING)
    inbox = _cache.get(path)
    if inbox is not None:
        return inbox
    with _lock:
        inbox = _cache.get(path)
        if inbox is None:
            inbox = _load(path)
            _cache[path] = inbox
    return inbox


def _load(path: str) -> Inbox:
    try:
        target: Any = import_string(path)
    except ImportError as exc:
        msg = f"settings.{INBOX_SETTING} = {path!r} cannot be imported: {exc}"
        raise ConfigurationError(msg, field=INBOX_SETTING) from exc
    except Exception as exc:
        # The module itself failed (an environment variable it reads, say): without the
        # setting named, a KeyError's text alone ("'PAYKASSMA_...'") says nothing.
        raise _failed(path, "importing it", exc) from exc
    if not isinstance(target, Inbox) and callable(target):
        try:
            target = target()
        except Exception as exc:
            raise _failed(path, "calling it", exc) from exc
    if not isinstance(target, Inbox):
        msg = (
            f"settings.{INBOX_SETTING} = {path!r} must name a payplane.Inbox or a function "
            f"returning one, not {type(target).__name__}"
        )
        raise ConfigurationError(msg, field=INBOX_SETTING)
    return target


def _failed(path: str, step: str, exc: Exception) -> ConfigurationError:
    msg = f"settings.{INBOX_SETTING} = {path!r}: {step} raised {type(exc).__name__}: {exc}"
    return ConfigurationError(msg, field=INBOX_SETTING)


def _forget(*, setting: str, **_kwargs: object) -> None:
    if setting == INBOX_SETTING:
        with _lock:
            _cache.clear()


setting_changed.connect(_forget, dispatch_uid="payplane.contrib.django.inbox")
