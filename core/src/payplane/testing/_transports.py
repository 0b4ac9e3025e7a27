"""Mock transports: run a :class:`payplane.Client` over recorded answers, no network."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence

import httpx

from payplane._http import HttpResponse

__all__ = ["RecordingTransport", "failing_transport", "recorded_transport"]

Answer = HttpResponse | httpx.Response
"""A recorded answer: payplane's description or an ``httpx.Response``."""


def _to_httpx(answer: Answer) -> httpx.Response:
    if isinstance(answer, httpx.Response):
        return answer
    return httpx.Response(answer.status_code, headers=dict(answer.headers), content=answer.content)


class RecordingTransport(httpx.MockTransport):
    """An ``httpx.MockTransport`` that keeps every request it was sent.

    Works under ``httpx.Client`` and ``httpx.AsyncClient`` alike. Build one with
    :func:`recorded_transport` or :func:`failing_transport`, or pass your own *handler*.

    Args:
        handler: Called with each request; returns the response (or raises an
            ``httpx`` error, as a failing network would).

    Attributes:
        requests: The requests sent so far, in order, bodies read.
    """

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

        def record(request: httpx.Request) -> httpx.Response:
            request.read()
            with self._lock:
                self.requests.append(request)
            return handler(request)

        super().__init__(record)


def recorded_transport(
    answers: Sequence[Answer] | Mapping[str, Answer | Sequence[Answer]],
) -> RecordingTransport:
    """Return a transport that answers from *answers*, recording what it is sent.

    Args:
        answers: A sequence, answered in order, one per request; or a mapping from
            ``"METHOD /path"`` or ``"/path"`` (query excluded) to an answer, or to a
            sequence of answers given in turn (the last one repeats).

    A request beyond the sequence, or to a path the mapping lacks, raises
    ``LookupError`` naming it: a test should know every exchange it causes.
    """
    lock = threading.Lock()
    if isinstance(answers, Mapping):
        queues = {
            key: deque([value] if isinstance(value, HttpResponse | httpx.Response) else value)
            for key, value in answers.items()
        }

        def by_route(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            for key in (f"{request.method} {path}", path):
                queue = queues.get(key)
                if queue:
                    with lock:
                        answer = queue.popleft() if len(queue) > 1 else queue[0]
                    return _to_httpx(answer)
            msg = f"no recorded answer for {request.method} {path}; recorded: {sorted(queues)}"
            raise LookupError(msg)

        return RecordingTransport(by_route)

    pending = deque(answers)

    def in_order(request: httpx.Request) -> httpx.Response:
        with lock:
            if not pending:
                msg = f"no recorded answer left for {request.method} {request.url.path}"
                raise LookupError(msg)
            return _to_httpx(pending.popleft())

    return RecordingTransport(in_order)


def failing_transport(
    error: type[httpx.TransportError] = httpx.ReadTimeout,
) -> RecordingTransport:
    """Return a transport whose every request fails with *error*, after it is recorded.

    The default, ``httpx.ReadTimeout``, is an answer lost after the request went out:
    what the client must report as an unknown outcome for a money-moving request.
    """

    def fail(request: httpx.Request) -> httpx.Response:
        msg = f"{error.__name__} (simulated by payplane.testing)"
        raise error(msg, request=request)

    return RecordingTransport(fail)
