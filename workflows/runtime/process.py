"""The process a workflow runs: its input, stages, current details, ``status`` and long life.

A process binds its input with :meth:`ProcessCore.begin`, moves through stages (``CareStage``
and the UI's current details), answers the ``status`` query and continues as new when its
history grows long.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from careflow.localtime import local_minute
from careflow.metrics import PROCESSES_STARTED, count
from careflow.models import PSEUDONYM_PATCH, ProcessContext, ProcessInput
from careflow.plan import Plan
from careflow.roles import role_title
from careflow.search_attributes import CARE_OVERDUE, CARE_STAGE
from workflows.runtime.events import AppliedEvents
from workflows.runtime.state import OpenTaskView, ProcessStatus, StepProblem, TaskState

__all__ = ["ProcessCore"]

#: Open tasks listed in the UI's current details; more are counted.
_DETAIL_TASKS = 20
#: A registry id (``P00012``, ``PV001``, ``D0003``) in an error message: the current details
#: stay readable, so under case keys a stalled or failed step's message shows ``…`` instead.
_REGISTRY_ID = re.compile(r"\b[A-Z]{1,2}[0-9]{3,}\b")


class ProcessCore:
    """The process itself: its input, stage, current details, status and long life.

    The other parts of the runtime build on it; :class:`workflows.runtime.CareProcess`
    puts them together.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, TaskState] = {}
        self._stage = "started"
        self._stage_zh = "已启动"
        self._input: ProcessInput[Any] | None = None
        self._results: dict[str, Any] = {}
        # Events that arrived before their task opened (signal-with-start, early scanners).
        self._early: dict[str, tuple[str, dict[str, Any]]] = {}
        # Last CareOverdue value upserted; bulk tasks upsert only on a change.
        self._overdue: bool | None = None
        # The step that is stalled now, or failed for good; shown by status and CareOverdue.
        self._problem: StepProblem | None = None
        self._before_stall = (self._stage, self._stage_zh)
        # Whether this run keys the cases it shows and starts (patch PSEUDONYM_PATCH).
        self._keyed = False
        # Routed events applied, by id; a signal-with-start's event lands before begin().
        self._applied = AppliedEvents()

    # -- start

    def begin(self, input: ProcessInput[Any]) -> None:
        """Bind the process input; call first in the run method.

        Case keys are decided here, once per run: a run recorded before them (its history
        has no marker) keeps registry ids in its children's ids to the end, even when it
        carries on under this code; every later run keys them.
        """
        self._input = input
        self._keyed = workflow.patched(PSEUDONYM_PATCH)
        # The earlier runs' ids first, so the bound forgets the oldest.
        self._applied = AppliedEvents([*input.applied_events, *self._applied.recent()])
        if workflow.info().continued_run_id is None:
            # A continued run is the same process going on; closes are counted by the
            # worker's careflow.metrics.ProcessMetrics interceptor.
            context = input.context
            count(
                workflow.metric_meter(),
                PROCESSES_STARTED,
                {"district": context.district, "process": context.process},
            )
        self._refresh_details()

    @property
    def context(self) -> ProcessContext:
        """Who and where this process is for."""
        return self._require_input().context

    @property
    def keyed(self) -> bool:
        """Whether this run shows and starts cases by their keys (patch ``PSEUDONYM_PATCH``)."""
        return self._keyed

    @property
    def visible_ref(self) -> str:
        """What this process's readable places (ids it builds, summaries) show for its case:
        its case key under the patch, its case ref in a run recorded before."""
        context = self.context
        return context.visible_ref if self._keyed else context.case_ref

    @property
    def plan(self) -> Plan:
        """The plan frozen into this process's input."""
        return self._require_input().plan

    @property
    def params(self) -> dict[str, Any]:
        """The process params resolved into the plan."""
        return self.plan.params

    def _require_input(self) -> ProcessInput[Any]:
        if self._input is None:
            raise ApplicationError(
                "process not started: begin() was not called", non_retryable=True
            )
        return self._input

    # -- stages and details

    def stage(self, code: str, title_zh: str) -> None:
        """Enter a stage: upsert ``CareStage`` and show it in the UI's current details."""
        self._stage, self._stage_zh = code, title_zh
        workflow.upsert_search_attributes([CARE_STAGE.value_set(code)])
        workflow.logger.info("process.stage", extra={"stage": code})
        self._refresh_details()

    def _refresh_details(self) -> None:
        lines = [f"**阶段 Stage**: {self._stage_zh} (`{self._stage}`)"]
        if self._problem is not None:
            p = self._problem
            message = p.message[:200]
            if self._keyed:
                message = _REGISTRY_ID.sub("…", message)
            lines.append(
                f"**{'停滞步骤 Stalled' if p.state == 'stalled' else '失败步骤 Failed'}**: "
                f"`{p.step_key}` ({p.activity}) {p.error_type}: {message}"
            )
        open_tasks = [t for t in self._tasks.values() if not t.closed]
        if open_tasks:
            lines.append("**待办工单 Open tasks**:")
            # A batch holds hundreds of tasks: list a screenful, count the rest.
            for t in open_tasks[:_DETAIL_TASKS]:
                overdue = " ⚠️超时升级 escalated" if t.level else ""
                lines.append(
                    f"- `{t.task_id}` {t.template.title_zh} → {role_title(t.role)}"
                    f" (截止 due {local_minute(t.due_at)} 北京时间 UTC+8){overdue}"
                )
            if len(open_tasks) > _DETAIL_TASKS:
                lines.append(f"- … 另有 {len(open_tasks) - _DETAIL_TASKS} 项 more")
        workflow.set_current_details("\n".join(lines))

    def _refresh_overdue(self, *, if_changed: bool = False) -> None:
        overdue = self._problem is not None or any(
            t.level > 0 for t in self._tasks.values() if not t.closed
        )
        if if_changed and overdue == self._overdue:
            return
        self._overdue = overdue
        workflow.upsert_search_attributes([CARE_OVERDUE.value_set(overdue)])

    @workflow.query(name="status")
    def status(self) -> ProcessStatus:
        """Stage and open tasks, for ``careflow status``."""
        return ProcessStatus(
            process=self._input.context.process if self._input else "",
            stage=self._stage,
            stage_zh=self._stage_zh,
            open_tasks=[
                OpenTaskView(
                    task_id=t.task_id,
                    step_key=t.step_key,
                    title_zh=t.template.title_zh,
                    role=t.role,
                    level=t.level,
                    due_at=t.due_at.isoformat(),
                )
                for t in self._tasks.values()
                if not t.closed
            ],
            results=self._results,
            problem=self._problem,
        )

    # -- events

    def apply_once(self, event_id: str) -> bool:
        """Remember a routed event's id; False when this process already applied it.

        :func:`workflows.runtime.event_signal` handlers call it before they run.
        """
        return self._applied.add(event_id)

    # -- long life

    def should_continue_as_new(self, *, max_history: int | None = None) -> bool:
        """Whether the history is long enough to start afresh."""
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        return max_history is not None and info.get_current_history_length() >= max_history

    async def continue_as_new(self, carry: dict[str, Any]) -> NoReturn:
        """Continue as new with the same context and plan, after every handler has finished."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        current = self._require_input()
        workflow.continue_as_new(
            current.model_copy(update={"carry": carry, "applied_events": self._applied.recent()})
        )
