"""Provider settings for the command line: from the environment and ``NAME=VALUE`` options.

Text becomes the type the provider's settings class declares for the field (read from
its attrs fields, string annotations resolved): ``int``, ``float``, ``Decimal`` and
``bool`` are converted here, strictly (ASCII digits, no ``_``, no other scripts' digits);
every other type (``str``, :class:`~payplane.Secret`, ``tzinfo``, ...) gets the text, for
the settings class's own converters and validators. ``X | None`` is read as ``X``.

Errors are :class:`~payplane.exceptions.ConfigurationError` naming the setting and where
its value came from; a secret value is never shown.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from payplane.exceptions import ConfigurationError

__all__ = ["convert", "env_name", "parse_pairs", "read_settings", "secret_texts"]

_INTEGER = re.compile(r"[+-]?[0-9]{1,100}")
_REAL = re.compile(
    r"[+-]?(?:[0-9]{1,100}(?:\.[0-9]{0,100})?|\.[0-9]{1,100})(?:[eE][+-]?[0-9]{1,4})?"
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def env_name(provider: str, field: str) -> str:
    """Return the environment variable of a setting: ``PAYPLANE_<PROVIDER>_<FIELD>``."""
    return f"PAYPLANE_{provider.upper()}_{field.upper()}"


def parse_pairs(values: Sequence[str], option: str) -> dict[str, str]:
    """Return ``NAME=VALUE`` *values* as a mapping; a later name wins.

    Raises:
        ConfigurationError: a value without ``=`` or without a name (the value is not
            shown: it may be a key).
    """
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            what = "a value without a name" if sep else "a value without '='"
            msg = f"{option} expects NAME=VALUE, got {what} (not shown: it may be a key)"
            raise ConfigurationError(msg)
        pairs[name] = text
    return pairs


def _field_types(cls: type) -> dict[str, object]:
    """The declared type of each field, by alias; string annotations resolved if possible."""
    # A name imported only for type checking cannot be resolved: its field keeps the text.
    with contextlib.suppress(NameError, TypeError, AttributeError):
        attrs.resolve_types(cls)
    return {field.alias: field.type for field in attrs.fields(cls)}


def _without_none(annotation: object) -> object:
    if typing.get_origin(annotation) in {typing.Union, types.UnionType}:
        rest = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _to_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ValueError(text)


def _to_int(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError(text)
    return int(text)


def _to_float(text: str) -> float:
    number = float(text) if _REAL.fullmatch(text) else math.nan
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _to_decimal(text: str) -> Decimal:
    if not _REAL.fullmatch(text):
        raise ValueError(text)
    return Decimal(text)


_CONVERTERS: Mapping[object, tuple[Callable[[str], object], str]] = {
    bool: (_to_bool, "true or false (also 1/0, yes/no, on/off)"),
    int: (_to_int, "an integer in ASCII digits, like 100000"),
    float: (_to_float, "a finite decimal number, like 2.5"),
    Decimal: (_to_decimal, "a decimal number, like 2.50"),
}


def convert(annotation: object, text: str) -> tuple[object, str | None]:
    """Return *text* as *annotation* asks, and ``None``; or the text and what was expected.

    Only ``bool``, ``int``, ``float`` and ``Decimal`` (or ``X | None`` of them) convert;
    any other annotation keeps the text.
    """
    converter = _CONVERTERS.get(_without_none(annotation))
    if converter is None:
        return text, None
    function, expected = converter
    try:
        return function(text), None
    except (ValueError, ArithmeticError):
        return text, expected


def read_settings(
    provider: str,
    cls: type,
    secret: Sequence[str],
    given: Mapping[str, str],
    option: str,
    *,
    only: Sequence[str] | None = None,
    require: bool = True,
    environ: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Collect *provider*'s settings from ``PAYPLANE_<PROVIDER>_<FIELD>`` and *given*.

    Args:
        provider: The provider id.
        cls: Its attrs settings class.
        secret: The names of its secret fields.
        given: ``NAME`` to text from the command line (wins over the environment).
        option: The option *given* came from, for messages (``"--setting"``).
        only: Read just these fields (the keys, for ``--key``); a name outside them is
            refused. Default: every field.
        require: Whether fields are required: every field of *only*, or every field
            without a default. Without it, absent fields are simply left out.
        environ: The environment (default: ``os.environ``); an empty variable is unset.

    Raises:
        ConfigurationError: an unknown name (the known ones are listed), a value that is
            not of the field's type, or missing required fields (named with their
            variables).
    """
    environ = os.environ if environ is None else environ
    types_ = _field_types(cls)
    names = list(only) if only is not None else list(types_)
    what = "key" if only is not None else "setting"
    for name in given:
        if name not in names:
            msg = (
                f"unknown {provider} {what} {name!r} (from {option}); "
                f"known {what}s: {', '.join(sorted(names))}"
            )
            raise ConfigurationError(msg, field=name, provider=provider)
    texts = {
        name: (env_name(provider, name), environ[env_name(provider, name)])
        for name in names
        if environ.get(env_name(provider, name))
    }
    texts.update({name: (option, text) for name, text in given.items()})
    values: dict[str, object] = {}
    for name, (source, text) in texts.items():
        value, expected = convert(types_.get(name), text)
        if expected is not None:
            shown = "(value not shown)" if name in secret else f"not {text!r}"
            msg = f"setting {name} (from {source}) must be {expected}, {shown}"
            raise ConfigurationError(msg, field=name, provider=provider)
        values[name] = value
    if require:
        fields = {field.alias: field for field in attrs.fields(cls)}
        missing = [
            name
            for name in names
            if name not in values and (only is not None or fields[name].default is attrs.NOTHING)
        ]
        if missing:
            hints = ", ".join(f"{name} ({env_name(provider, name)})" for name in missing)
            msg = (
                f"missing {provider} {what}(s): {hints}; set the variables "
                f"or pass {option} NAME=VALUE"
            )
            raise ConfigurationError(msg, field=missing[0], provider=provider)
    return values


def secret_texts(values: Mapping[str, Any], secret: Sequence[str]) -> set[str]:
    """The non-empty texts of the secret settings in *values*."""
    return {str(value) for name, value in values.items() if name in secret and value}
