"""Tracing in tests: an in-memory exporter installed through :func:`careflow.tracing.configure`.

OpenTelemetry lets a process set its global tracer provider once; a test that traces puts the
process back as it found it afterwards (the reset touches OpenTelemetry's private globals, as
its own test utilities do), so the next test can install its own exporter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import opentelemetry.trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from careflow import tracing
from careflow.settings import Settings

__all__ = ["by_name", "traced", "untraced"]


@contextmanager
def traced(service: str = tracing.SERVICE_WORKER) -> Iterator[InMemorySpanExporter]:
    """Trace this process into an in-memory exporter for the block."""
    exporter = InMemorySpanExporter()
    tracing.configure(Settings(), service=service, exporter=exporter)
    try:
        yield exporter
    finally:
        untraced()


def untraced() -> None:
    """Shut tracing down and forget it, so this process traces nothing until configured again."""
    tracing.shutdown()
    tracing._Process.installed = None
    opentelemetry.trace._TRACER_PROVIDER = None
    opentelemetry.trace._TRACER_PROVIDER_SET_ONCE = Once()


def by_name(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> Mapping[str, ReadableSpan]:
    """The spans by name (the last of a name wins)."""
    return {span.name: span for span in spans}
