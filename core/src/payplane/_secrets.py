"""Secret values that never print themselves, and the settings fields that hold them."""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Iterable
from typing import Any, NoReturn, cast

import attrs

from payplane._redaction import LIVE, REDACTED, Redactor, redactor_for
from payplane.exceptions import ValidationError

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

SECRET_METADATA_KEY = "payplane.secret"  # noqa: S105 - a metadata key, not a secret


class Secret:
    """A secret setting (an API key, a signing key).

    ``repr()`` and ``str()`` show ``***``; only :meth:`reveal` returns the value, so a
    secret cannot reach a log line, an f-string or an exception by accident. Settings
    classes mark a field secret with :func:`secret_field` (a plain string is accepted
    and wrapped).

    Not an attrs class, so ``attrs.asdict(settings)``, ``attrs.astuple(settings)`` and
    ``cattrs`` unstructuring keep the ``Secret`` object itself: it shows ``***`` there
    too, as with ``json.dumps(..., default=str)``.

    Every value wrapped in a ``Secret`` is redacted from every log record of the process
    and from ``repr()`` of HTTP descriptions while the ``Secret`` object lives (see
    :doc:`/concepts/secrets`).

    Secrets compare equal when their values are (in constant time) and are immutable.
    ``copy`` returns the same object; ``pickle`` keeps the value, so settings can be
    handed to another process (``multiprocessing``): a pickle is a way to move a key,
    never a view to show.

    Raises:
        TypeError: *value* is not a ``str``.
    """

    __slots__ = ("__weakref__", "_value")

    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(cast("object", value), str):
            msg = f"a secret must be a str, not {type(value).__name__}"
            raise TypeError(msg)
        object.__setattr__(self, "_value", value)
        LIVE.add(self, value)

    def reveal(self) -> str:
        """Return the secret value. Use it only where the value goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        mine = self._value.encode("utf-8", "surrogatepass")
        theirs = other._value.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(mine, theirs)

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        msg = "Secret is immutable"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> NoReturn:
        msg = "Secret is immutable"
        raise AttributeError(msg)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self


def to_secret(value: object) -> Secret:
    """Wrap *value* as a :class:`Secret` unless it is one already.

    Raises:
        TypeError: *value* is neither a ``str`` nor a ``Secret``.
    """
    if not isinstance(value, str | Secret):
        msg = f"a secret must be a str, not {type(value).__name__}"
        raise TypeError(msg)
    return value if isinstance(value, Secret) else Secret(value)


# Characters no key holds: C0/C1 controls (a newline, a tab), invisible format characters
# (a zero-width space from a copy and paste), lone surrogates, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_LIMIT = "non-empty text, no surrounding whitespace, no control characters"


def _optional(field: attrs.Attribute[Any], empty: object) -> bool:
    """Whether *field* declares *empty* (``None`` or ``""``) as its default: "not set"."""
    default = field.default
    if isinstance(default, Secret):
        default = default.reveal()
    return default is not attrs.NOTHING and default == empty and type(default) is type(empty)


def _to_secret_field(value: str | Secret | None) -> Secret | None:
    """Wrap a ``str``; anything else passes through, for the validator to name the field."""
    return Secret(value) if isinstance(value, str) else value


def _problem(value: str) -> str | None:
    """What is wrong with a secret value, in words that never show it; ``None`` if fine."""
    if not value:
        return "is empty"
    if not value.strip():
        return "is only whitespace"
    if value != value.strip():
        return (
            "starts or ends with whitespace (a newline read from a key file?): "
            "remove it; payplane strips nothing from a key"
        )
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in value):
        return "holds a control or invisible character: copy the key again"
    return None


def _valid_secret(_instance: object, field: attrs.Attribute[Any], value: object) -> None:
    if value is None and _optional(field, None):
        return
    if not isinstance(value, Secret):
        msg = f"must be a str or a payplane.Secret, not {type(value).__name__}"
        raise ValidationError(field.name, msg, limit="text")
    text = value.reveal()
    if text == "" and _optional(field, ""):
        return
    problem = _problem(text)
    if problem is not None:
        raise ValidationError(field.name, problem, limit=_LIMIT)


def secret_field(**kwargs: Any) -> Any:  # noqa: ANN401 - mirrors attrs.field
    """Declare a secret field of an attrs settings class.

    Use it as ``api_key: Secret = secret_field()``.

    Accepts what ``attrs.field`` accepts (a ``validator`` runs after payplane's own); a
    plain ``str`` given for it is wrapped in a :class:`Secret`, and
    :meth:`ProviderSpec.secret_fields <payplane.ProviderSpec.secret_fields>` lists it.

    A value is refused at construction, with a
    :class:`~payplane.exceptions.ValidationError` that names the field and never shows
    the value (a :class:`~payplane.exceptions.ConfigurationError` through
    :meth:`ProviderSpec.make_settings <payplane.ProviderSpec.make_settings>`), when it is:

    - not a ``str`` or a ``Secret`` (``123``, ``b"key"``, ``None``);
    - empty, or whitespace only;
    - surrounded by whitespace, such as the newline that ``$(cat keyfile)`` or a key
      file read with ``read_text()`` leaves: refused rather than stripped, since a key
      with a stray newline is a mistake to see, not to guess about;
    - holding a control or invisible character (category ``Cc``, ``Cf``, ``Cs``, ``Zl``
      or ``Zp``).

    An optional secret declares ``default=None`` (``Secret | None``); ``None`` is then
    accepted. ``default=""`` also marks "not configured", and the empty string is then
    accepted.
    """
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata[SECRET_METADATA_KEY] = True
    extra = kwargs.pop("validator", None)
    validators: list[Any] = [_valid_secret]
    if isinstance(extra, list | tuple):
        validators.extend(extra)
    elif extra is not None:
        validators.append(extra)
    return attrs.field(
        converter=_to_secret_field, validator=validators, metadata=metadata, **kwargs
    )


def secret_values(settings: object) -> frozenset[str]:
    """Return the revealed values of every :class:`Secret` field of an attrs *settings*."""
    if not attrs.has(type(settings)):
        return frozenset()
    fields = attrs.fields(cast("type[attrs.AttrsInstance]", type(settings)))
    values = (getattr(settings, field.name) for field in fields)
    return frozenset(v.reveal() for v in values if isinstance(v, Secret) and v.reveal())


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return *text* with every form of every non-empty secret replaced by ``***``.

    A secret is found as is, percent-encoded, JSON- or Python-escaped (any of its
    characters, in any mix) and, from seven bytes on, base64-encoded inside other data
    (the forms are listed in :doc:`/concepts/secrets`). Where secrets overlap or one
    contains another, every character of each is hidden. The forms of a set of secrets
    are worked out once and reused by later calls.
    """
    return redactor_for(secrets)(text)
