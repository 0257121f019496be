"""Classroom enrolment 课堂报名: staff enrol or withdraw a child through ``careflow event``.

One small process per child (``childcare.classroom_enrolment-<district>-<child ref>``), started
by the ``childcare.classroom_enrol`` / ``childcare.classroom_unenrol`` events with
signal-with-start. Each change arrives as an ``enrolment_change`` signal; the process checks it
against the registry and writes the enrolment row in an activity, records the change (or the
refusal and its reason) in the case record, and completes once no change is pending. A later
event starts a new run under the same workflow id.

An enrolment needs the guardian's consent for the classroom on record: without it the activity
refuses the change (``no_consent``, recorded with its Chinese reason) and community staff are
told to record the consent and enrol the child again (patch ``consent-checks``).
"""

from __future__ import annotations

from temporalio import workflow

from careflow.models import ProcessInput
from plugins.childcare.classroom.models import (
    EnrolmentChange,
    EnrolmentChangeEvent,
    EnrolmentRequest,
    EnrolmentResult,
    SetEnrolmentInput,
)
from plugins.childcare.consent import CONSENT_PATCH
from plugins.childcare.enrolment import EnrolmentProcess
from plugins.engine.roles import Role
from workflows.runtime import TEMPORAL_DEFAULT_RETRY, event_signal, run_activity

__all__ = ["ENROLMENT_POINTS", "ClassroomEnrolmentWorkflow"]

ENROLMENT_POINTS: tuple[str, ...] = ()


@workflow.defn(name="childcare.classroom_enrolment")
class ClassroomEnrolmentWorkflow(EnrolmentProcess):
    """Apply the enrolment changes of one child, in the order they arrived."""

    record_prefix = "classroom"
    stage_title_zh = "登记报名变更 applying changes"

    def __init__(self) -> None:
        super().__init__()
        self._refusals = 0

    @event_signal(name="enrolment_change")
    def enrolment_change(self, event: EnrolmentChangeEvent) -> None:
        """An enrol or unenrol event routed by ``careflow event``."""
        self._pending.append(event)

    @workflow.run
    async def run(self, input: ProcessInput[EnrolmentRequest]) -> EnrolmentResult:
        self.begin(input)
        result = EnrolmentResult(child_ref=input.request.child_ref)
        return await self.apply_changes(input.request.child_ref, result)

    async def write_change(self, event: EnrolmentChangeEvent) -> EnrolmentChange:
        change: EnrolmentChange = await run_activity(
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
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="写入课堂报名 write the enrolment",
        )
        if change.reason == "no_consent" and workflow.patched(CONSENT_PATCH):
            self._refusals += 1
            await self.notify(
                f"no_consent.{workflow.info().run_id}.{self._refusals}",
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="consent_missing",
                body_zh="五点半课堂报名未受理：未登记监护人同意书。请登记同意后重新报名。",
                params={"purpose": "classroom", "child_ref": event.child_ref},
            )
        return change
