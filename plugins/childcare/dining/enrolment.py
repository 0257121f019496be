"""Dining table enrolment 小饭桌登记: which families eat at which small dining table.

One small process per child (``childcare.dining_enrolment-<district>-<child ref>``), started by
the ``childcare.dining_enrol`` / ``childcare.dining_unenrol`` events with signal-with-start.
Each change arrives as an ``enrolment_change`` signal; the process checks it against the
registry (a child of the district, a small dining table of the district that is not
suspended) and writes the row in an activity, records the change or the refusal and its reason
in the case record, and completes once no change is pending. The families enrolled here are
the ones told when an inspection suspends the table.
"""

from __future__ import annotations

from temporalio import workflow

from careflow.models import ProcessInput
from plugins.childcare.dining.models import (
    DiningEnrolmentChange,
    DiningEnrolmentEvent,
    DiningEnrolmentRequest,
    DiningEnrolmentResult,
    SetDiningEnrolmentInput,
)
from plugins.childcare.enrolment import EnrolmentProcess
from workflows.runtime import TEMPORAL_DEFAULT_RETRY, event_signal, run_activity

__all__ = ["DINING_ENROLMENT_POINTS", "DiningEnrolmentWorkflow"]

DINING_ENROLMENT_POINTS: tuple[str, ...] = ()


@workflow.defn(name="childcare.dining_enrolment")
class DiningEnrolmentWorkflow(EnrolmentProcess):
    """Apply the dining table changes of one child, in the order they arrived."""

    record_prefix = "dining"
    stage_title_zh = "登记就餐变更 applying changes"

    @event_signal(name="enrolment_change")
    def enrolment_change(self, event: DiningEnrolmentEvent) -> None:
        """An enrol or unenrol event routed by ``careflow event``."""
        self._pending.append(event)

    @workflow.run
    async def run(self, input: ProcessInput[DiningEnrolmentRequest]) -> DiningEnrolmentResult:
        self.begin(input)
        result = DiningEnrolmentResult(child_ref=input.request.child_ref)
        return await self.apply_changes(input.request.child_ref, result)

    async def write_change(self, event: DiningEnrolmentEvent) -> DiningEnrolmentChange:
        change: DiningEnrolmentChange = await run_activity(
            "childcare.dining.set_enrolment",
            SetDiningEnrolmentInput(
                workflow_id=workflow.info().workflow_id,
                child_ref=event.child_ref,
                provider_ref=event.provider_ref,
                district=self.context.district,
                active=event.active,
            ),
            result_type=DiningEnrolmentChange,
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="写入小饭桌登记 write the enrolment",
        )
        return change
