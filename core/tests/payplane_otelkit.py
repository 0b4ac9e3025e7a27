"""Test helpers for payplane.contrib.opentelemetry: in-memory exporters and what they hold.

The SDK's ``InMemorySpanExporter`` (behind a ``SimpleSpanProcessor``) and
``InMemoryMetricReader`` capture everything the instrumentation records; these helpers
read it back as plain data, and render spans as the text the observability guide shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@attrs.define
class Telemetry:
    """Tracer and meter providers whose spans and metrics stay in memory."""

    exporter: InMemorySpanExporter = attrs.field(factory=InMemorySpanExporter)
    reader: InMemoryMetricReader = attrs.field(factory=InMemoryMetricReader)
    tracer_provider: TracerProvider = attrs.field(init=False)
    meter_provider: MeterProvider = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    def spans(self) -> list[ReadableSpan]:
        """The finished spans, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called *name*."""
        (found,) = [span for span in self.spans() if span.name == name]
        return found

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """The finished spans whose parent is *parent*, in the order they ended."""
        assert parent.context is not None
        return [
            span
            for span in self.spans()
            if span.parent is not None and span.parent.span_id == parent.context.span_id
        ]

    def points(self, name: str) -> list[Any]:
        """The data points of metric *name* (counters: ``value``; histograms: ``count``)."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def counts(self, name: str) -> dict[frozenset[tuple[str, Any]], int]:
        """Metric *name* as ``{attributes: value}`` (a histogram's: its count)."""
        return {
            frozenset((point.attributes or {}).items()): int(
                point.value if hasattr(point, "value") else point.count
            )
            for point in self.points(name)
        }

    def metrics(self) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """Every metric recorded: ``(name, unit, [attributes of each point])``."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            (
                metric.name,
                metric.unit or "",
                [dict(p.attributes or {}) for p in metric.data.data_points],
            )
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        ]

    def texts(self) -> Iterator[str]:
        """Every text the exported data shows: span names, attributes, events, statuses."""
        for span in self.spans():
            yield span.name
            if span.status.description:
                yield span.status.description
            yield from _attribute_texts(span.attributes)
            for event in span.events:
                yield event.name
                yield from _attribute_texts(event.attributes)
        for name, unit, points in self.metrics():
            yield name
            yield unit
            for attributes in points:
                yield from _attribute_texts(attributes)


def labels(**attributes: Any) -> frozenset[tuple[str, Any]]:
    """A metric point's attributes as :meth:`Telemetry.counts` keys them (``a__b`` is ``a.b``)."""
    return frozenset((name.replace("__", "."), value) for name, value in attributes.items())


def _attribute_texts(attributes: Any) -> Iterator[str]:
    for name, value in (attributes or {}).items():
        yield name
        values = value if isinstance(value, tuple | list) else (value,)
        yield from (str(item) for item in values)


def render(telemetry: Telemetry) -> str:
    """The finished spans as an indented tree: name, kind, status, sorted attributes.

    Children sit under their parent, in the order they started; durations and ids,
    which change on every run, are left out.
    """
    spans = sorted(telemetry.spans(), key=lambda span: span.start_time or 0)
    ids = {span.context.span_id for span in spans if span.context is not None}
    lines: list[str] = []

    def show(span: ReadableSpan, depth: int) -> None:
        indent = "    " * depth
        status = span.status.status_code.name
        if span.status.description:
            status += f" ({span.status.description})"
        lines.append(f"{indent}{span.name}  [{span.kind.name}, {status}]")
        for name, value in sorted((span.attributes or {}).items()):
            lines.append(f"{indent}    {name} = {value!r}")
        for child in spans:
            parent = child.parent
            if (
                parent is not None
                and span.context is not None
                and parent.span_id == span.context.span_id
            ):
                show(child, depth + 1)

    for span in spans:
        if span.parent is None or span.parent.span_id not in ids:
            show(span, 0)
    return "\n".join(lines)
