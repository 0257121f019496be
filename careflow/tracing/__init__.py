"""OpenTelemetry traces: a staff action as one trace, from its CLI or API call to its activities.

With ``CAREFLOW_OTLP_ENDPOINT`` set, :func:`configure` (once per process, at its start) installs
a tracer provider exporting over OTLP/HTTP; unset, nothing is installed, nothing is traced and
nothing of the OpenTelemetry SDK is imported. :func:`careflow.temporal.connect` then gives
every client :func:`temporal_plugins`: Temporal's OpenTelemetry interceptor
(``temporalio.contrib.opentelemetry``), which workers made from that client use too, and
:class:`careflow.tracing.causality.UpdateCausality`.

The chain of a task completion::

    careflow.api POST /api/v1/tasks/{task_id}/complete    (the staff service, the root)
      StartWorkflowUpdate:complete_task                   (its client)
        HandleUpdate:complete_task                        (the worker's workflow task)
          StartActivity:close_task                        (UpdateCausality puts it here)
            RunActivity:close_task                        (the worker's activity)

No personal data in spans: span names are action, route, Update and activity names; the
attributes are ids that are pseudonymous (workflow ids are built from case keys, task ids are
random), codes, route templates and outcomes. Exception messages and stack traces (which may
quote a form's data) never leave the process: the exporter is wrapped
(:class:`careflow.tracing.export.ScrubbingExporter`) so an exception event keeps only its type
and an error status only the exception's type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from careflow.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue
    from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider

    from careflow.tracing.causality import TracingPlugin

__all__ = [
    "SERVICE_CLI",
    "SERVICE_DEV",
    "SERVICE_INGRESS",
    "SERVICE_SERVE",
    "SERVICE_WORKER",
    "TRACER_NAME",
    "active",
    "configure",
    "root_span",
    "shutdown",
    "temporal_plugins",
    "traces_url",
]

SERVICE_CLI = "careflow-cli"
SERVICE_WORKER = "careflow-worker"
SERVICE_SERVE = "careflow-serve"
SERVICE_DEV = "careflow-dev"
SERVICE_INGRESS = "careflow-ingress"

TRACER_NAME = "careflow"
"""The instrumentation scope of careflow's own spans (the CLI's and the API's roots)."""


@dataclass(frozen=True)
class _Installed:
    provider: ReplaySafeTracerProvider
    service: str


class _Process:
    """What :func:`configure` installed in this process (nothing until it is called)."""

    installed: _Installed | None = None


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL (``http://collector:4318``).

    A URL already ending in ``/v1/traces`` is taken as it is.
    """
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def configure(
    settings: Settings,
    *,
    service: str,
    exporter: SpanExporter | None = None,
    export_timeout: float = 10.0,
) -> ReplaySafeTracerProvider | None:
    """Install this process's tracer provider, once; nothing when tracing is off.

    Args:
        settings: ``otlp_endpoint`` (``CAREFLOW_OTLP_ENDPOINT``) says where spans go; unset
            (and no ``exporter``) means no tracing.
        service: The ``service.name`` of the spans (:data:`SERVICE_WORKER`, …).
        exporter: Export to this instead of the endpoint, span by span (tests pass an
            ``InMemorySpanExporter``).
        export_timeout: Seconds one export (its retries included) may take; a one-shot
            command passes a short one, so a collector that is down delays its exit little.

    Returns:
        The provider, or None when tracing is off. A later call returns the first one's.

    Raises:
        RuntimeError: Another tracer provider is already the process's global one.
    """
    if _Process.installed is not None:
        return _Process.installed.provider
    if exporter is None and settings.otlp_endpoint is None:
        return None
    import opentelemetry.trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from temporalio.contrib.opentelemetry import create_tracer_provider

    from careflow.tracing.export import ScrubbingExporter

    processor: SpanProcessor
    if exporter is not None:
        processor = SimpleSpanProcessor(ScrubbingExporter(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert settings.otlp_endpoint is not None
        # Batches leave from a thread of their own; no event loop waits for the collector.
        processor = BatchSpanProcessor(
            ScrubbingExporter(
                OTLPSpanExporter(
                    endpoint=traces_url(settings.otlp_endpoint), timeout=export_timeout
                )
            )
        )
    # The sampler is the SDK's, from OTEL_TRACES_SAMPLER (parent-based, always on unless
    # set). Inside workflows the replay-safe provider draws span ids from the workflow's
    # seeded random and ends no span while a history is replayed.
    provider = create_tracer_provider(
        resource=Resource.create({"service.name": service}), shutdown_on_exit=False
    )
    provider.add_span_processor(processor)
    logging.getLogger("opentelemetry.context").addFilter(_evicted_workflow_detach)
    opentelemetry.trace.set_tracer_provider(provider)
    if opentelemetry.trace.get_tracer_provider() is not provider:
        raise RuntimeError("another OpenTelemetry tracer provider is already set")
    _Process.installed = _Installed(provider=provider, service=service)
    return provider


def _evicted_workflow_detach(record: logging.LogRecord) -> bool:
    """Drop OpenTelemetry's "Failed to detach context" of a workflow leaving the cache.

    An evicted workflow's coroutine is closed wherever garbage collection runs, so its open
    span's context cannot be detached there; nothing is left attached. OpenTelemetry logs it
    with a traceback at every eviction, which would bury the worker's own lines.
    """
    return record.getMessage() != "Failed to detach context"


def active() -> bool:
    """Whether :func:`configure` installed a provider in this process."""
    return _Process.installed is not None


def shutdown() -> None:
    """Export what is still queued, then stop (a command's or a service's last step)."""
    installed = _Process.installed
    if installed is not None:
        installed.provider.shutdown()


@contextmanager
def root_span(
    name: str, *, attributes: Mapping[str, AttributeValue] | None = None
) -> Iterator[Span | None]:
    """The span of one staff action (an API request, a CLI command), current in its block.

    Yields None when tracing is off. An exception leaving the block marks the span as an
    error naming only the exception's type (its message may hold personal data), unless the
    block set the span's status itself.
    """
    installed = _Process.installed
    if installed is None:
        yield None
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode

    tracer = installed.provider.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name,
        kind=SpanKind.SERVER,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as err:
            # The SDK's span has a status to read; the API's does not say so.
            status: Status | None = getattr(span, "status", None)
            if status is None or status.status_code is StatusCode.UNSET:
                span.set_status(Status(StatusCode.ERROR, type(err).__name__))
            raise


def temporal_plugins() -> list[TracingPlugin]:
    """The client plugins of tracing: one when a provider is installed, none otherwise."""
    if _Process.installed is None:
        return []
    from careflow.tracing.causality import tracing_plugin

    return [tracing_plugin()]
