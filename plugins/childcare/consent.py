"""Consent in the childcare processes: the check before a child's data is used, and a withdrawal.

Every childcare process that uses a child's data for a purpose (micro-wish visit ``microwish``,
classroom ``classroom``, childcare place ``childcare_place``; the codes of
``careflow.privacy.consent``) subclasses :class:`ConsentAware`:

* **Before use** it runs :meth:`ConsentAware.consent_missing` (an activity reading the consent
  table) and does not use the data of a child without consent on record: the process records
  ``consent_missing`` with a Chinese reason and tells community staff, who record the consent
  (console 同意登记, ``careflow consent record``) and start again.
* **On withdrawal** the ``consent_withdrawn`` signal
  (:class:`careflow.privacy.withdrawal.ConsentWithdrawn`) reaches it; it ends its work for that
  child: the child's open tasks are cancelled (:meth:`ConsentAware.cancel_tasks`, row status
  ``cancelled`` with ``{"cancelled": "consent_withdrawn"}``), a ``consent_withdrawn`` case
  record is written and staff are told.

New commands on old paths are guarded by :data:`CONSENT_PATCH`, so recorded histories replay.
Pure module (workflows import it): names and shapes, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, Field
from temporalio import workflow

from careflow.localtime import STAFF_TIMEZONE
from careflow.models import TaskOutcome
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_TASK_RESULT
from workflows.runtime import CareProcess, run_activity

__all__ = [
    "CANCEL_TASKS_ACTIVITY",
    "CHECK_ACTIVITY",
    "CONSENT_PATCH",
    "PURPOSE_TITLES",
    "CancelTasksInput",
    "ConsentAware",
    "ConsentCheck",
    "ConsentCheckInput",
]

CONSENT_PATCH = "consent-checks"
"""Patch id of the consent checks in the childcare processes."""

CHECK_ACTIVITY = "childcare.consent.check"
CANCEL_TASKS_ACTIVITY = "childcare.consent.cancel_tasks"

PURPOSE_TITLES: dict[str, str] = {
    "microwish": "微心愿走访",
    "classroom": "五点半课堂",
    "childcare_place": "托育服务",
}
"""The purposes the childcare processes check, as staff read them (the codes and titles of
``careflow.privacy.consent.PURPOSES``, repeated here because workflows cannot import it)."""

_CONSENT_ACTOR = "careflow:consent"


class ConsentCheckInput(BaseModel):
    """Which children to check for ``purpose`` on day ``on`` (Asia/Shanghai)."""

    purpose: str
    subject_refs: list[str] = Field(max_length=5000)
    on: date


class ConsentCheck(BaseModel):
    """The children of the input without a consent that counts that day, and where each
    lives (a community code: whose staff obtain it)."""

    missing: list[str] = Field(default_factory=list)
    communities: dict[str, str] = Field(default_factory=dict)


class CancelTasksInput(BaseModel):
    """Task rows to mark cancelled because consent was withdrawn."""

    task_ids: list[str]


class ConsentAware(CareProcess):
    """A process that checks consent before it uses a child's data, and hears withdrawals."""

    async def consent_missing(self, purpose: str, subject_refs: list[str]) -> ConsentCheck:
        """The children among ``subject_refs`` without consent for ``purpose`` today."""
        if not subject_refs:
            return ConsentCheck()
        title = PURPOSE_TITLES.get(purpose, purpose)
        checked: ConsentCheck = await run_activity(
            CHECK_ACTIVITY,
            ConsentCheckInput(purpose=purpose, subject_refs=subject_refs, on=self.local_today()),
            result_type=ConsentCheck,
            summary=f"核对监护人同意 check consent: {title}",
        )
        return checked

    def local_today(self) -> date:
        """Today in Taiyuan (Asia/Shanghai), from the workflow's clock."""
        return workflow.now().astimezone(STAFF_TIMEZONE).date()

    async def cancel_tasks(self, matches: Callable[[str], bool]) -> list[str]:
        """Cancel the open tasks whose step key ``matches``: nobody may complete them any more.

        Each task is settled with a result that says why (its waiting step returns it, and the
        caller checks for the withdrawal before reading a form), its row closed by the runtime,
        then marked ``cancelled``. Tasks whose row is still being opened are settled the same
        way, so none is left open.

        Returns:
            The ids of the cancelled tasks.
        """
        # The runtime owns the task state; a withdrawal is the one reason to settle a task
        # from outside its step, so this reaches into it rather than widening the runtime.
        tasks = [
            t
            for t in self._tasks.values()
            if not t.settled and t.outcome is None and matches(t.step_key)
        ]
        for task in tasks:
            task.answer(
                TaskOutcome(
                    task_id=task.task_id,
                    actor=_CONSENT_ACTOR,
                    role="system",
                    data=dict(CONSENT_WITHDRAWN_TASK_RESULT),
                    completed_at=workflow.now(),
                )
            )
        if not tasks:
            return []
        await workflow.wait_condition(lambda: all(t.closed for t in tasks))
        ids = [t.task_id for t in tasks]
        await run_activity(
            CANCEL_TASKS_ACTIVITY,
            CancelTasksInput(task_ids=ids),
            summary=f"撤回同意，取消工单 cancel {len(ids)} tasks: consent withdrawn",
        )
        return ids

    @staticmethod
    def withdrawn_outcome(outcome: TaskOutcome) -> bool:
        """Whether a task ended because consent was withdrawn (not completed by staff)."""
        return outcome.actor == _CONSENT_ACTOR and outcome.data == CONSENT_WITHDRAWN_TASK_RESULT
