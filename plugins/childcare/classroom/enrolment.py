"""Classroom enrolment 课堂报名: staff enrol or withdraw a child through ``careflow event``.

One small process per child (``childcare.classroom_enrolment-<district>-<child ref>``), started
by the ``childcare.classroom_enrol`` / ``childcare.classroom_unenrol`` events with
signal-with-start. Each change arrives as an ``enrolment_change`` signal; the process checks it
against the registry and writes the enrolment row in an activity, records the change (or the
refusal and its reason) in the case record, and completes once no change is pending. A later
event starts a new run under the same workflow id.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from careflow.models import ProcessInput
from plugins.childcare.classroom.models import (
    EnrolmentChange,
    EnrolmentChangeEvent,
    EnrolmentRequest,
    EnrolmentResult,
    SetEnrolmentInput,
)
from workflows.runtime import CareProcess

__all__ = ["ENROLMENT_POINTS", "ClassroomEnrolmentWorkflow"]

ENROLMENT_POINTS: tuple[str, ...] = ()
WRITE_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="childcare.classroom_enrolment")
class ClassroomEnrolmentWorkflow(CareProcess):
    """Apply the enrolment changes of one child, in the order they arrived."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[EnrolmentChangeEvent] = []

    @workflow.signal(name="enrolment_change")
    def enrolment_change(self, event: EnrolmentChangeEvent) -> None:
        """An enrol or unenrol event routed by ``careflow event``."""
        self._pending.append(event)

    @workflow.run
    async def run(self, input: ProcessInput[EnrolmentRequest]) -> EnrolmentResult:
        self.begin(input)
        result = EnrolmentResult(child_ref=input.request.child_ref)
        self.stage("applying", "登记报名变更 applying changes")
        run_id = workflow.info().run_id
        while self._pending:
            event = self._pending.pop(0)
            if event.child_ref != input.request.child_ref:
                continue  # not this child's case; the route never sends one
            change: EnrolmentChange = await workflow.execute_activity(
                "childcare.classroom.set_enrolment",
                SetEnrolmentInput(
                    workflow_id=workflow.info().workflow_id,
                    child_ref=event.child_ref,
                    district=self.context.district,
                    community=event.community,
                    active=event.active,
                    on=workflow.now().date(),
                ),
                result_type=EnrolmentChange,
                start_to_close_timeout=WRITE_TIMEOUT,
                summary="写入课堂报名 write the enrolment",
            )
            result.changes.append(change)
            kind = (
                "classroom_enrolment_refused"
                if not change.accepted
                else "classroom_enrolled"
                if change.active
                else "classroom_unenrolled"
            )
            # The workflow id outlives this run: the run id keeps each record's key unique.
            await self.record(
                f"change.{run_id}.{len(result.changes)}",
                kind,
                {**change.model_dump(mode="json"), "child_ref": event.child_ref, "by": event.actor},
            )
        self.stage("closed", "已结束 closed")
        return result
