"""Secret values that never print themselves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import quote, quote_plus

import attrs

__all__ = [
    "REDACTED",
    "SECRET_METADATA_KEY",
    "Redactor",
    "Secret",
    "redact",
    "secret_field",
    "secret_values",
    "to_secret",
]

REDACTED = "***"
SECRET_METADATA_KEY = "payplane.secret"  # noqa: S105 - a metadata key, not a secret


@attrs.frozen(repr=False)
class Secret:
    """A secret setting (an API key, a signing key).

    ``repr()`` and ``str()`` show ``***``; only :meth:`reveal` returns the value, so a
    secret cannot reach a log line, an f-string or an exception by accident. Settings
    classes mark a field secret by typing it ``Secret`` (with ``converter=Secret``, a
    plain string is accepted).
    """

    _value: str = attrs.field(validator=attrs.validators.instance_of(str), alias="value")

    def reveal(self) -> str:
        """Return the secret value. Use it only where the value goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)


def to_secret(value: object) -> Secret:
    """Wrap *value* as a :class:`Secret` unless it is one already (an attrs converter)."""
    if not isinstance(value, str | Secret):
        msg = f"a secret must be a str, not {type(value).__name__}"
        raise TypeError(msg)
    return value if isinstance(value, Secret) else Secret(value)


def secret_field(**kwargs: Any) -> Any:  # noqa: ANN401 - mirrors attrs.field
    """Declare a secret field of an attrs settings class.

    Use it as ``api_key: Secret = secret_field()``.

    Accepts what ``attrs.field`` accepts; a plain ``str`` given for it is wrapped in a
    :class:`Secret`, and :meth:`ProviderSpec.secret_fields <payplane.ProviderSpec.secret_fields>`
    lists it.
    """
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata[SECRET_METADATA_KEY] = True
    return attrs.field(converter=to_secret, metadata=metadata, **kwargs)


def secret_values(settings: object) -> frozenset[str]:
    """Return the revealed values of every :class:`Secret` field of an attrs *settings*."""
    if not attrs.has(type(settings)):
        return frozenset()
    fields = attrs.fields(cast("type[attrs.AttrsInstance]", type(settings)))
    values = (getattr(settings, field.name) for field in fields)
    return frozenset(v.reveal() for v in values if isinstance(v, Secret) and v.reveal())


class Redactor:
    """Replaces secrets in text; the forms to look for are worked out once.

    Each secret is also looked for percent-encoded, as it appears in a URL's query
    string. Longer forms are replaced first, so a secret that contains another is fully
    hidden.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {form for s in secrets if s for form in (s, quote(s, safe=""), quote_plus(s))}
        self.forms = tuple(sorted(forms, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        """Return *text* with every form of every secret replaced by ``***``."""
        for form in self.forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return *text* with every occurrence of every non-empty secret replaced by ``***``.

    Each secret is also looked for percent-encoded, as it appears in a URL's query string.
    Longer forms are replaced first, so a secret that contains another is fully hidden.
    """
    return Redactor(secrets)(text)
