"""The hooks payplane calls, for provider plugins and observers.

A provider distribution registers a module under the ``payplane.providers`` entry-point
group (name: the provider id). payplane imports that module and registers it with its
``pluggy.PluginManager("payplane")``; the module implements :func:`payplane_providers`
with :data:`hookimpl`, and may implement the observation hooks. Keep that module cheap to
import: metadata and hook implementations only, the implementation behind
``"module:attribute"`` paths in :class:`~payplane.ProviderSpec`.

Hook implementations may declare any subset of a hook's arguments, by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from payplane._http import HttpRequest, HttpResponse
    from payplane._models import PostbackEvent
    from payplane._spec import ProviderSpec
    from payplane.testing import ContractSamples

__all__ = [
    "hookimpl",
    "hookspec",
    "payplane_contract_samples",
    "payplane_postback_applied",
    "payplane_providers",
    "payplane_request_sent",
    "payplane_response_received",
]

PROJECT_NAME = "payplane"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in this module as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's function as an implementation of a payplane hook."""


@hookspec
def payplane_providers() -> Sequence[ProviderSpec]:  # type: ignore[empty-body]
    """Return the providers this plugin offers.

    Called once per plugin when the registry loads; every plugin's specs are collected.
    Must not import the provider's implementation: give ``settings`` and ``factory`` as
    ``"module:attribute"`` paths.
    """


@hookspec
def payplane_request_sent(provider: str, request: HttpRequest) -> None:
    """Called just before the client sends *request* to *provider*.

    *request* is redacted: every form of every secret setting reads ``***`` in its URL,
    header values and body, and credential headers (``Authorization``, ``Cookie``,
    ``X-API-Key``...) read ``***`` whatever their value. Called again for each retry.
    """


@hookspec
def payplane_response_received(
    provider: str, request: HttpRequest, response: HttpResponse, elapsed: float
) -> None:
    """Called when *provider* answered *request*, before the answer is parsed.

    *request* and *response* are redacted as for :func:`payplane_request_sent`: secrets
    read ``***`` in the URL, the header values and both bodies, credential headers
    (``Set-Cookie``...) are masked. *elapsed* is the exchange's duration in seconds.
    """


@hookspec
def payplane_postback_applied(provider: str, event: PostbackEvent, replay: bool) -> None:  # noqa: FBT001 - hooks take arguments by name
    """Called after the inbox's handler for *event* committed.

    *replay* is true when an operator replayed an already applied event. Called once per
    applied event (and once per replay), after the commit, so an observer that raises
    cannot undo the application.
    """


@hookspec(firstresult=True)
def payplane_contract_samples(provider: str) -> ContractSamples | None:
    """Return the samples the contract suite checks *provider* with, or ``None``.

    Called only by :mod:`payplane.testing`'s contract suite, once per test class, with
    the id of the provider under test; the first non-``None`` answer is used. Answer
    for your own provider ids and return ``None`` for others. Import the samples inside
    the function, so the entry-point module stays cheap: the samples may load the
    implementation, but only when a test asks.
    """
