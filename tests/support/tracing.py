"""Tracing in tests: an in-memory exporter installed through :func:`careflow.tracing.configure`.

OpenTelemetry lets a process set its global tracer provider once; a test that traces puts the
process back as it found it afterwards (the reset touches OpenTelemetry's private globals, as
its own test utilities do), so the next test can install its own exporter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import opentelemetry.trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from careflow import tracing
from careflow.settings import Settings

__all__ = ["by_name", "otlp_collector", "traced", "untraced"]


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


class _Collector(BaseHTTPRequestHandler):
    """Answers POST /v1/traces as an OpenTelemetry collector does, keeping each body."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def otlp_collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """An OTLP/HTTP collector on a free loopback port: its base URL and each (path, content
    type, body) it received, for a ``careflow`` process run with ``CAREFLOW_OTLP_ENDPOINT``."""
    received: list[tuple[str, str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
