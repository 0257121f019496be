"""Xiaodian's activities: the medical-insurance benefit check 医保待遇保障 before booking."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from careflow.db import crud
from careflow.models import StepInput, StepOutput
from plugins.xiaodian.adapters import MedicalInsuranceAdapter

__all__ = ["CHECK_INSURANCE", "XiaodianActivities"]

CHECK_INSURANCE = "xiaodian.check_medical_insurance"


def _elder_of(session: Session, workflow_id: str) -> str | None:
    """The elder of a green-channel case, from its ``green_channel_opened`` record.

    The ``before_booking`` point passes ``elder_ref``; cases started before it did pass only
    the triage level, and their step context carries the case number, so the elder's
    registry id is read from the case record.
    """
    for row in crud.list_case_records(session, workflow_id=workflow_id):
        if row.kind == "green_channel_opened":
            return str(row.data.get("elder_ref") or "") or None
    return None


class XiaodianActivities:
    """Writes Xiaodian's step records; idempotent on (workflow id, step key)."""

    def __init__(self, engine: Engine, insurance: MedicalInsuranceAdapter) -> None:
        self._engine = engine
        self._insurance = insurance

    @activity.defn(name=CHECK_INSURANCE)
    def check_medical_insurance(self, input: StepInput) -> StepOutput:
        """Check the elder's medical-insurance benefits before the hospital is booked, and
        tell community staff when the elder is not covered."""
        ctx = input.context
        elder_ref = str(input.data.get("elder_ref") or "")
        if not elder_ref:
            with Session(self._engine) as session:
                elder_ref = _elder_of(session, input.workflow_id) or ctx.case_ref
        # The adapter opens its own connection: no transaction of ours may be open meanwhile.
        status = self._insurance.benefit_status(elder_ref)
        with Session(self._engine) as session:
            crud.insert_case_record(
                session,
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                process=ctx.process,
                district=ctx.district,
                case_ref=ctx.case_ref,
                kind="xiaodian_insurance_check",
                data={**status.model_dump(mode="json"), "level": input.data.get("level")},
            )
            if not status.insured:
                crud.insert_notification(
                    session,
                    workflow_id=input.workflow_id,
                    step_key=input.step_key,
                    district=ctx.district,
                    community=ctx.community,
                    recipient_ref="role:community_staff",
                    template="xiaodian_not_insured",
                    body_zh="小店区：绿色通道老人未查到医保参保信息，请协助办理医疗救助或参保。",
                    params={"elder_ref": elder_ref},
                )
            session.commit()
        return StepOutput(data=status.model_dump(mode="json"))
