"""The tracing plugin of careflow's clients, and the interceptor that ties activities to Updates.

Imported only when tracing is on: the worker module it needs costs a one-shot CLI command a
tenth of a second.
"""

from __future__ import annotations

from typing import Any

import opentelemetry.context
import opentelemetry.trace
from opentelemetry.context import Context
from temporalio import worker as temporal_worker
from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor
from temporalio.plugin import SimplePlugin

from careflow.sandbox import passing_through

__all__ = ["PLUGIN_NAME", "TracingPlugin", "UpdateCausality", "tracing_plugin"]

PLUGIN_NAME = "careflow.tracing"


class TracingPlugin(SimplePlugin):
    """Temporal's OpenTelemetry interceptor (client and worker), then :class:`UpdateCausality`.

    The SDK interceptor is a client interceptor too, so a worker made from the client puts it
    first, before the worker's own (log context, readable summaries, metrics); the causality
    interceptor is a worker's only and comes last. A class of its own: the SDK tells plugins
    apart by type, and careflow's service plugins are plain ``SimplePlugin``.
    """

    def __init__(self) -> None:
        super().__init__(
            PLUGIN_NAME,
            interceptors=[OpenTelemetryInterceptor(add_temporal_spans=True), UpdateCausality()],
            # Workflows share the process's OpenTelemetry modules (its context and provider).
            workflow_runner=passing_through("opentelemetry"),
        )


def tracing_plugin() -> TracingPlugin:
    """A fresh :class:`TracingPlugin` (one per client)."""
    return TracingPlugin()


class UpdateCausality(temporal_worker.Interceptor):
    """Parent the activities a process runs while one Update is open under that Update.

    careflow's Update handlers record the answer and wait; the process's main coroutine runs
    the activities the answer causes (closing the task row, the next step), which the SDK
    puts under the workflow's own span. Placed after the SDK's interceptor, this one's
    outbound call runs before the SDK makes its ``StartActivity`` span, so the context it
    attaches becomes that span's parent. An activity started inside a handler keeps the
    handler's context; with two Updates open at once it stays where the SDK put it (which
    caused it is unknown). Only headers change, never a command: histories replay the same
    with tracing on or off.
    """

    def workflow_interceptor_class(
        self, input: temporal_worker.WorkflowInterceptorClassInput
    ) -> type[temporal_worker.WorkflowInboundInterceptor]:
        return _CausalityInbound


class _CausalityInbound(temporal_worker.WorkflowInboundInterceptor):
    def __init__(self, next: temporal_worker.WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self.open_updates: dict[int, Context] = {}

    def init(self, outbound: temporal_worker.WorkflowOutboundInterceptor) -> None:
        super().init(_CausalityOutbound(outbound, self))

    async def handle_update_handler(self, input: temporal_worker.HandleUpdateInput) -> Any:
        # The SDK's interceptor has made the HandleUpdate span current here.
        span_id = opentelemetry.trace.get_current_span().get_span_context().span_id
        if not span_id:
            return await super().handle_update_handler(input)
        self.open_updates[span_id] = opentelemetry.context.get_current()
        try:
            return await super().handle_update_handler(input)
        finally:
            self.open_updates.pop(span_id, None)


class _CausalityOutbound(temporal_worker.WorkflowOutboundInterceptor):
    def __init__(
        self, next: temporal_worker.WorkflowOutboundInterceptor, root: _CausalityInbound
    ) -> None:
        super().__init__(next)
        self.root = root

    def start_activity(self, input: temporal_worker.StartActivityInput) -> Any:
        cause = self._cause()
        if cause is None:
            return super().start_activity(input)
        token = opentelemetry.context.attach(cause)
        try:
            return super().start_activity(input)
        finally:
            opentelemetry.context.detach(token)

    def start_local_activity(self, input: temporal_worker.StartLocalActivityInput) -> Any:
        cause = self._cause()
        if cause is None:
            return super().start_local_activity(input)
        token = opentelemetry.context.attach(cause)
        try:
            return super().start_local_activity(input)
        finally:
            opentelemetry.context.detach(token)

    def _cause(self) -> Context | None:
        """The one open Update's context, unless the caller is that handler itself."""
        open_updates = self.root.open_updates
        if len(open_updates) != 1:
            return None
        current = opentelemetry.trace.get_current_span().get_span_context().span_id
        if current in open_updates:
            return None
        return next(iter(open_updates.values()))
