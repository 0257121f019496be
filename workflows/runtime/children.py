"""Child processes: resolving a process's plan and starting it from inside a workflow.

A workflow cannot read the plugins, so a child's plan (and its case key) comes from an
activity; the child is abandoned on parent close, since a process outlives what started it.
The launcher, the curtain round's batches and every ``start_child`` go through
:func:`start_process`, so all children are started alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

from careflow.models import (
    PSEUDONYM_PATCH,
    ActivityName,
    CaseKeysInput,
    ChildStart,
    ProcessContext,
    ProcessInput,
    ResolvePlanInput,
    plan_memo,
    process_summary,
    process_workflow_id,
)
from careflow.search_attributes import start_attributes
from workflows.runtime.calls import run_activity
from workflows.runtime.process import ProcessCore

__all__ = ["ChildProcesses", "case_keys", "resolve_process", "start_process"]


async def resolve_process(
    process: str, *, district: str, case_ref: str | None = None
) -> ChildStart:
    """Resolve a process's plan in an activity: workflows cannot read the plugins themselves.

    With ``case_ref``, the activity keys it too (``ChildStart.case_key``): workflows never
    hold the pseudonym key.
    """
    return await run_activity(
        ActivityName.RESOLVE_PLAN,
        ResolvePlanInput(process=process, district=district, case_ref=case_ref),
        result_type=ChildStart,
        summary=f"解析流程计划 resolve plan: {process}",
    )


async def case_keys(case_refs: Sequence[str]) -> list[str]:
    """The case keys of ``case_refs``, made by an activity (``careflow.case.keys``)."""
    keys: list[str] = await run_activity(
        ActivityName.CASE_KEYS,
        CaseKeysInput(case_refs=list(case_refs)),
        result_type=list[str],
        summary=f"生成案件化名 key {len(case_refs)} cases",
    )
    return keys


async def start_process(
    process: str,
    *,
    district: str,
    community: str | None,
    case_ref: str,
    request: dict[str, Any] | BaseModel,
    resolved: ChildStart | None = None,
    case_key: str | None = None,
    started_by: str | None = None,
) -> workflow.ChildWorkflowHandle[Any, Any]:
    """Start a process from inside a workflow, resolving its plan unless ``resolved`` is given.

    Under the case-keys patch the child's workflow id, ``CareCaseRef`` and summary hold its
    case key: ``case_key`` when given, else the one the plan-resolution activity made (or,
    with ``resolved``, one :func:`case_keys` makes). Histories from before keep registry ids.

    The child is abandoned on parent close: a process outlives whatever started it.

    Args:
        started_by: Who the child names as its starter, when not this workflow (a curtain
            batch starts checks on behalf of its round).
    """
    keyed = workflow.patched(PSEUDONYM_PATCH)  # the run's one decision (see CareProcess.begin)
    if not keyed:
        case_key = None
    if resolved is None:
        resolved = await resolve_process(
            process, district=district, case_ref=case_ref if keyed and case_key is None else None
        )
        if keyed and case_key is None:
            case_key = resolved.case_key
    elif resolved.plan.process != process or resolved.plan.district != district:
        raise ApplicationError(
            f"plan of {resolved.plan.process}/{resolved.plan.district} given for "
            f"{process}/{district}",
            non_retryable=True,
        )
    if keyed and case_key is None:
        # A shared plan (or a worker's resolver from before case keys) brought no key.
        case_key = (await case_keys([case_ref]))[0]
    parent_id = workflow.info().workflow_id
    context = ProcessContext(
        process=process,
        module=resolved.module,
        district=district,
        community=community,
        case_ref=case_ref,
        case_key=case_key,
        started_by=started_by or f"workflow:{parent_id}",
        parent_workflow_id=parent_id,
    )
    return await workflow.start_child_workflow(
        resolved.workflow_type,
        ProcessInput[Any](context=context, plan=resolved.plan, request=request),
        id=process_workflow_id(process, district, context.visible_ref),
        search_attributes=start_attributes(context),
        static_summary=process_summary(resolved.title_zh, context),
        static_details=resolved.plan.describe_zh(),
        memo=plan_memo(resolved.plan),
        parent_close_policy=ParentClosePolicy.ABANDON,
    )


class ChildProcesses(ProcessCore):
    """Start processes of the same district as children of this one."""

    async def resolve_child(self, process: str) -> ChildStart:
        """Resolve the plan of a child process once, to start many children with it."""
        return await resolve_process(process, district=self.context.district)

    async def start_child(
        self,
        process: str,
        *,
        request: dict[str, Any],
        case_ref: str,
        community: str | None = None,
        resolved: ChildStart | None = None,
        case_key: str | None = None,
    ) -> workflow.ChildWorkflowHandle[Any, Any]:
        """Start another process of the same district as a child.

        Args:
            resolved: A plan from :meth:`resolve_child`, shared by a wave of children so that
                each start does not cost a plan-resolution activity.
            case_key: The child's case key, when an activity already made it (a wave's list);
                else the plan-resolution activity (or, with ``resolved``, one more activity)
                keys ``case_ref``.
        """
        return await start_process(
            process,
            district=self.context.district,
            community=community or self.context.community,
            case_ref=case_ref,
            request=request,
            resolved=resolved,
            case_key=case_key,
        )

    async def run_child(
        self,
        process: str,
        *,
        request: dict[str, Any],
        case_ref: str,
        community: str | None = None,
    ) -> Any:
        """Start a child process and wait for its result."""
        handle = await self.start_child(
            process, request=request, case_ref=case_ref, community=community
        )
        return await handle
