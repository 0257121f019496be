"""The exporter wrapper that keeps exception messages and stack traces in the process."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

__all__ = ["ScrubbingExporter", "scrubbed"]

_EXCEPTION_KEPT = frozenset({"exception.type", "exception.escaped"})


class ScrubbingExporter(SpanExporter):
    """Export spans without exception messages or stack traces.

    The SDK's interceptor records an exception's message and stack trace on its span and puts
    ``Type: message`` in an error status; a message may quote a form's data (a validation
    error) or a person. Exception events keep ``exception.type`` (and ``escaped``), an error
    status keeps only the type.
    """

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrubbed(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    """``span`` with its exception events and error status reduced to the exception's type."""
    events = [
        Event(
            event.name,
            {k: v for k, v in (event.attributes or {}).items() if k in _EXCEPTION_KEPT},
            event.timestamp,
        )
        if event.name == "exception"
        else event
        for event in span.events
    ]
    status = span.status
    if status.status_code is StatusCode.ERROR and status.description:
        # "ApplicationError: form data rejected: …" -> "ApplicationError"
        status = Status(StatusCode.ERROR, status.description.split(":", 1)[0].strip())
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
