"""Workflow interceptor: the summaries a process gives its activities and children stay clear.

Temporal's SDK sends summaries through the payload codec like any input, so without this the
Web UI would show ciphertext where a supervisor reads what a step does. careflow's summaries
are made from codes, titles and case keys only; marking them
:class:`~careflow.readable.Readable` at this one place keeps every plugin's calls as they are.
Timer summaries have no interceptor hook and stay encrypted (decoded by the codec server).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    StartChildWorkflowInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from careflow.readable import Readable

__all__ = ["ReadableSummaries"]


def _clear(text: str | None) -> str | None:
    return None if text is None else Readable(text)


class _Outbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        input.summary = _clear(input.summary)
        return self.next.start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        input.summary = _clear(input.summary)
        return self.next.start_local_activity(input)

    async def start_child_workflow(
        self, input: StartChildWorkflowInput
    ) -> workflow.ChildWorkflowHandle[Any, Any]:
        input.static_summary = _clear(input.static_summary)
        input.static_details = _clear(input.static_details)
        return await self.next.start_child_workflow(input)


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound))


class ReadableSummaries(Interceptor):
    """Marks activity and child-process summaries readable (see the module docstring)."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _Inbound
