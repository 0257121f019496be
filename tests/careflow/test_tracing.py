"""careflow.tracing: nothing without an endpoint, the plugin on every client when on, spans
without exception messages, and a real ``careflow`` process sending OTLP/HTTP to a collector.

The span chain of a task completion through the staff service is proven in
``tests/staff_service/test_tracing.py``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import opentelemetry.trace
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import StatusCode
from sqlalchemy.engine import Engine
from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor, ReplaySafeTracerProvider
from temporalio.testing import WorkflowEnvironment

from careflow import tracing
from careflow.metrics import ProcessMetrics
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from careflow.temporal import connect
from careflow.tracing.causality import TracingPlugin, UpdateCausality
from tests.support.tracing import otlp_collector, traced, untraced
from worker.interceptors import LogContextInterceptor
from worker.readable_summaries import ReadableSummaries
from worker.testing import cli_environment, running_worker

CANARY = "金丝雀 13900001234 140105195001011234X"


def _settings(env: WorkflowEnvironment, **values: object) -> Settings:
    return Settings(temporal_address=env.client.service_client.config.target_host, **values)  # type: ignore[arg-type]


def test_the_traces_url_of_a_collector() -> None:
    assert tracing.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("https://tempo/v1/traces") == "https://tempo/v1/traces"


async def test_without_an_endpoint_nothing_is_installed_and_clients_carry_no_interceptor(
    ts_env: WorkflowEnvironment,
) -> None:
    settings = _settings(ts_env)
    assert settings.otlp_endpoint is None
    assert tracing.configure(settings, service=tracing.SERVICE_WORKER) is None
    assert not tracing.active()
    assert not isinstance(opentelemetry.trace.get_tracer_provider(), ReplaySafeTracerProvider)
    with tracing.root_span("careflow.cli status") as span:
        assert span is None
    client = await connect(settings)
    config = client.config(active_config=True)
    assert config["plugins"] == [] and config["interceptors"] == []


async def test_when_tracing_every_client_and_its_workers_carry_the_interceptors_in_order(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    with traced() as exporter:
        provider = tracing.configure(_settings(ts_env), service="another")
        # Once per process: the second call returns the first provider (service careflow-worker).
        assert provider is opentelemetry.trace.get_tracer_provider()
        client = await connect(_settings(ts_env))
        config = client.config(active_config=True)
        assert [type(p) for p in config["plugins"]] == [TracingPlugin]
        assert [type(i) for i in config["interceptors"]] == [OpenTelemetryInterceptor]
        async with running_worker(client, registry, engine=engine) as worker:
            own = [type(i) for i in worker.config(active_config=True)["interceptors"]]
            # The worker's own, then causality; the SDK's comes first, from the client.
            assert own == [
                LogContextInterceptor,
                ReadableSummaries,
                ProcessMetrics,
                UpdateCausality,
            ]
            runner = worker.config(active_config=True)["workflow_runner"]
            assert "opentelemetry" in runner.restrictions.passthrough_modules  # type: ignore[attr-defined]
        with tracing.root_span("careflow.cli status", attributes={"careflow.command": "status"}):
            pass
        (span,) = exporter.get_finished_spans()
        assert span.name == "careflow.cli status"
        assert span.resource.attributes["service.name"] == "careflow-worker"


def test_spans_leave_the_process_without_exception_messages_or_stack_traces() -> None:
    with traced() as exporter:
        tracer = opentelemetry.trace.get_tracer("test")
        with pytest.raises(ValueError):
            with tracer.start_as_current_span("RunActivity:careflow.case.record"):
                raise ValueError(f"form data rejected: {CANARY}")
        with pytest.raises(KeyError):
            with tracing.root_span("careflow.cli tasks complete"):
                raise KeyError(CANARY)
    activity, command = exporter.get_finished_spans()
    (event,) = activity.events
    assert event.name == "exception"
    assert dict(event.attributes or {}) == {
        "exception.type": "ValueError",
        "exception.escaped": "False",
    }
    assert activity.status.status_code is StatusCode.ERROR
    assert activity.status.description == "ValueError"
    assert command.status.description == "KeyError" and not command.events
    assert CANARY not in repr([s.to_json() for s in (activity, command)])


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A collector on a free loopback port: its base URL and what it received."""
    with otlp_collector() as running:
        yield running


def test_a_careflow_command_sends_its_span_to_the_otlp_endpoint(
    collector: tuple[str, list[tuple[str, str, bytes]]], tmp_path: Path
) -> None:
    url, received = collector
    done = subprocess.run(
        [sys.executable, "-m", "cli", "plugins"],
        env=cli_environment(
            ["engine"], CAREFLOW_OTLP_ENDPOINT=url, CAREFLOW_DATA_DIR=str(tmp_path)
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert [(path, kind) for path, kind, _ in received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    request = ExportTraceServiceRequest.FromString(received[0][2])
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "careflow-cli"
    spans = [span for scope in resource_spans.scope_spans for span in scope.spans]
    assert [span.name for span in spans] == ["careflow.cli plugins"]
    attributes = {a.key: a.value for a in spans[0].attributes}
    assert attributes["careflow.command"].string_value == "plugins"
    assert attributes["process.exit.code"].int_value == 0


@pytest.fixture(autouse=True)
def _nothing_left_installed() -> Iterator[None]:
    yield
    if tracing.active():
        untraced()
