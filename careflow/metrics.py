"""Prometheus metrics of a worker: the Temporal SDK's own and careflow's, on one endpoint.

The SDK runtime serves ``/metrics`` (``CAREFLOW_METRICS_PORT``); careflow's counters go
through the same runtime's meter, so no other exporter or dependency is needed. Inside a
workflow the meter is ``workflow.metric_meter()``, which records nothing while a history is
replayed, so a counter counts each thing once however often a worker replays it.

Labels carry codes only: district, process, role, outcome (and the event's signal). Never a
registry id, a case ref or key, a workflow id or a person.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from temporalio import workflow
from temporalio.common import MetricMeter
from temporalio.exceptions import FailureError, is_cancelled_exception
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from careflow.settings import Settings

__all__ = [
    "EVENTS_ROUTED",
    "METRIC_DESCRIPTIONS",
    "PROCESSES_CLOSED",
    "PROCESSES_STARTED",
    "TASKS_COMPLETED",
    "TASKS_ESCALATED",
    "TASKS_OPENED",
    "TASKS_OVERDUE",
    "ProcessMetrics",
    "count",
    "metrics_url",
    "runtime_for",
    "task_labels",
]

TASKS_OPENED = "careflow_tasks_opened_total"
TASKS_COMPLETED = "careflow_tasks_completed_total"
TASKS_ESCALATED = "careflow_tasks_escalated_total"
TASKS_OVERDUE = "careflow_tasks_overdue_total"
PROCESSES_STARTED = "careflow_processes_started_total"
PROCESSES_CLOSED = "careflow_processes_closed_total"
EVENTS_ROUTED = "careflow_events_routed_total"

METRIC_DESCRIPTIONS: Mapping[str, str] = {
    TASKS_OPENED: "Human tasks opened (district, process, role).",
    TASKS_COMPLETED: "Human tasks completed (district, process, role, outcome on_time|late).",
    TASKS_ESCALATED: "Escalations of human tasks past a due time (district, process, role).",
    TASKS_OVERDUE: "Human tasks that passed their last due time unanswered "
    "(district, process, role).",
    PROCESSES_STARTED: "Processes started, not counting continue-as-new (district, process).",
    PROCESSES_CLOSED: "Processes closed (district, process, outcome completed|failed|cancelled).",
    EVENTS_ROUTED: "Routed events received by their process "
    "(district, event_type = the route's signal, outcome applied|repeated).",
}

# One runtime per process and port: a runtime's exporter binds its port once.
_RUNTIMES: dict[int, Runtime] = {}


def runtime_for(settings: Settings) -> Runtime | None:
    """The SDK runtime serving Prometheus metrics on ``settings.metrics_port``, made once.

    Returns:
        None when no metrics port is set (the client then uses the SDK's default runtime).
    """
    port = settings.metrics_port
    if port is None:
        return None
    runtime = _RUNTIMES.get(port)
    if runtime is None:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=f"0.0.0.0:{port}"),
            )
        )
        _RUNTIMES[port] = runtime
    return runtime


def metrics_url(settings: Settings, *, host: str = "127.0.0.1") -> str | None:
    """Where a scraper reads the metrics of this process, or None without a metrics port."""
    if settings.metrics_port is None:
        return None
    return f"http://{host}:{settings.metrics_port}/metrics"


def task_labels(district: str, process: str, role: str) -> dict[str, str]:
    """The labels of the task counters: codes only."""
    return {"district": district, "process": process, "role": role}


def count(meter: MetricMeter, name: str, labels: Mapping[str, str], value: int = 1) -> None:
    """Add ``value`` to the counter ``name`` with ``labels`` (nothing for ``value`` 0).

    Args:
        meter: ``workflow.metric_meter()`` in a workflow (replay-safe),
            ``activity.metric_meter()`` in an activity, a runtime's ``metric_meter`` elsewhere.
        name: One of this module's metric names.
        labels: Codes only (district, process, role, outcome).
        value: How many.
    """
    if value <= 0:
        return
    counter = meter.create_counter(name, METRIC_DESCRIPTIONS.get(name))
    counter.add(value, dict(labels))


def _process_labels(args: Any) -> dict[str, str] | None:
    """District and process of a process workflow's input, None for any other workflow."""
    first = args[0] if args else None
    context = getattr(first, "context", None)
    district = getattr(context, "district", None)
    process = getattr(context, "process", None)
    if isinstance(district, str) and isinstance(process, str):
        return {"district": district, "process": process}
    return None


class _ProcessClosed(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        labels = _process_labels(input.args)
        try:
            result = await self.next.execute_workflow(input)
        except workflow.ContinueAsNewError:
            raise  # the process goes on in its next run
        except asyncio.CancelledError:
            if labels is not None:
                count(workflow.metric_meter(), PROCESSES_CLOSED, {**labels, "outcome": "cancelled"})
            raise
        except FailureError as err:
            # Only a failure error ends a workflow; any other exception fails the workflow
            # task, which is retried, so the process is not closed.
            if labels is not None:
                outcome = "cancelled" if is_cancelled_exception(err) else "failed"
                count(workflow.metric_meter(), PROCESSES_CLOSED, {**labels, "outcome": outcome})
            raise
        if labels is not None:
            count(workflow.metric_meter(), PROCESSES_CLOSED, {**labels, "outcome": "completed"})
        return result


class ProcessMetrics(Interceptor):
    """Worker interceptor counting processes as they close (``careflow_processes_closed_total``).

    A process closes when its run method returns (completed) or raises a failure (failed, or
    cancelled); continue-as-new is not a close.
    """

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _ProcessClosed
