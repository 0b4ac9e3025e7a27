"""OpenTelemetry traces and metrics for payplane's clients and inbox (``payplane[otel]``).

One call switches it on, for every client and inbox of a registry, those made before
included::

    import payplane.contrib.opentelemetry

    payplane.contrib.opentelemetry.instrument()

It is a payplane plugin built on the observation hooks (:mod:`payplane.hookspecs`): each
client call becomes a ``CLIENT`` span with a child span per HTTP attempt, each postback
delivery a span with a child span per run of the handler, and every call, attempt,
delivery and handler run feeds the metrics listed in :data:`METRICS`. Spans and metrics
follow OpenTelemetry's semantic conventions where they apply (``http.request.method``,
``http.response.status_code``, ``server.address``, ``url.path``, ``error.type``) and put
payplane's own attributes under ``payplane.``. No secret, query string or personal
data (customer ids, names, emails, phone numbers, amounts, account numbers) is ever
recorded. See :doc:`/howto/observability` for what is recorded.

Only :func:`instrument` imports OpenTelemetry: importing this module does not, and
``import payplane`` never imports it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, final

from payplane._registry import Registry, default_registry
from payplane.exceptions import ConfigurationError

if TYPE_CHECKING:
    # Named in full in the signature: the documentation links nothing it cannot import.
    import opentelemetry.metrics
    import opentelemetry.trace

__all__ = ["INSTRUMENTATION_NAME", "METRICS", "PLUGIN_NAME", "Instrumentation", "instrument"]

INSTRUMENTATION_NAME = "payplane"
"""The instrumentation scope of every span and metric; its version is payplane's."""

PLUGIN_NAME = "payplane.contrib.opentelemetry"
"""The name the instrumentation is registered under in the registry's plugin manager."""

METRICS: dict[str, tuple[str, str, str]] = {
    "payplane.client.operation.duration": (
        "histogram",
        "s",
        "Duration of client calls, by provider, operation and outcome.",
    ),
    "payplane.client.errors": (
        "counter",
        "{error}",
        "Client calls that raised, by provider, operation, outcome and error type.",
    ),
    "payplane.client.retries": (
        "counter",
        "{retry}",
        "HTTP requests sent again by the client's retry policy.",
    ),
    "http.client.request.duration": (
        "histogram",
        "s",
        "Duration of each HTTP attempt (OpenTelemetry's HTTP client metric).",
    ),
    "payplane.inbox.received": (
        "counter",
        "{delivery}",
        "Postback deliveries answered, by provider, outcome and HTTP status.",
    ),
    "payplane.inbox.rejected": (
        "counter",
        "{delivery}",
        "Deliveries refused for good, by provider and reason.",
    ),
    "payplane.inbox.applied": (
        "counter",
        "{event}",
        "Events whose handler committed (replays included), by provider and kind.",
    ),
    "payplane.inbox.failed": (
        "counter",
        "{event}",
        "Handler runs that raised (or whose commit failed), by provider, kind, error type.",
    ),
    "payplane.inbox.dead": (
        "counter",
        "{event}",
        "Events a deferred worker gave up on, by provider and kind.",
    ),
    "payplane.inbox.handler.duration": (
        "histogram",
        "s",
        "Duration of handler runs (the handler and its commit), by provider, kind, outcome.",
    ),
    "payplane.inbox.receive.duration": (
        "histogram",
        "s",
        "Time from a delivery's arrival to its answer, by provider and outcome.",
    ),
}
"""Every metric recorded, as name to ``(instrument, unit, description)``."""

_EXTRA = 'payplane.contrib.opentelemetry needs the otel extra: pip install "payplane[otel]"'
_lock = threading.Lock()


@final
class Instrumentation:
    """payplane's OpenTelemetry instrumentation of one registry; :func:`instrument` makes it.

    Attributes:
        registry: The registry whose clients and inboxes are instrumented.
    """

    def __init__(self, registry: Registry, plugin: object) -> None:
        self.registry = registry
        self._plugin = plugin

    def __repr__(self) -> str:
        """Say whether it is on."""
        state = "on" if self.is_instrumented else "off"
        return f"<Instrumentation of payplane ({state})>"

    @property
    def is_instrumented(self) -> bool:
        """Whether the instrumentation is registered (until :meth:`uninstrument`)."""
        return self.registry.plugin_manager.is_registered(self._plugin)

    def uninstrument(self) -> None:
        """Stop recording: unregister the plugin. Idempotent.

        Spans already open (a call in flight) are ended by the hooks that close them
        only while the plugin is registered: uninstrument when no call is in flight.
        """
        with _lock:
            manager = self.registry.plugin_manager
            if manager.is_registered(self._plugin):
                manager.unregister(self._plugin)


def instrument(
    registry: Registry | None = None,
    *,
    tracer_provider: opentelemetry.trace.TracerProvider | None = None,
    meter_provider: opentelemetry.metrics.MeterProvider | None = None,
) -> Instrumentation:
    """Record OpenTelemetry spans and metrics for *registry*'s clients and inboxes.

    Idempotent: while *registry* is instrumented, another call returns the same
    :class:`Instrumentation` and ignores its providers (uninstrument first to change
    them).

    Args:
        registry: Whose clients and inboxes to instrument (default:
            :func:`payplane.default_registry`, which :func:`payplane.client` and
            :class:`payplane.Inbox` use unless given another).
        tracer_provider: Where spans go (default: OpenTelemetry's global provider, as
            set by ``opentelemetry.trace.set_tracer_provider``, now or later).
        meter_provider: Where metrics go (default: the global meter provider).

    Returns:
        The handle whose :meth:`~Instrumentation.uninstrument` switches it off.

    Raises:
        ConfigurationError: ``opentelemetry-api`` is not installed (the message says
            ``pip install "payplane[otel]"``).
    """
    try:
        from payplane.contrib.opentelemetry._plugin import (  # noqa: PLC0415 - the extra
            OpenTelemetryPlugin,
        )
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith("opentelemetry"):
            raise
        raise ConfigurationError(_EXTRA) from None
    registry = registry or default_registry()
    with _lock:
        registered = registry.plugin_manager.get_plugin(PLUGIN_NAME)
        if isinstance(registered, OpenTelemetryPlugin):
            return registered.instrumentation
        plugin = OpenTelemetryPlugin(tracer_provider, meter_provider)
        plugin.instrumentation = Instrumentation(registry, plugin)
        registry.register(plugin, name=PLUGIN_NAME)
        if not plugin.instrumentation.is_instrumented:  # pragma: no cover - a registry bug
            msg = f"could not register {PLUGIN_NAME}: see the registry's problems"
            raise ConfigurationError(msg)
        return plugin.instrumentation
