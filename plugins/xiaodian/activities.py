"""Xiaodian's activities: the medical-insurance benefit check 医保待遇保障 before booking."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.models import StepInput, StepOutput
from careflow.notify import NotificationAdapter, OutboxLogAdapter, deliver
from plugins.eldercare.green_channel import channel_elder_ref
from plugins.xiaodian.adapters import MedicalInsuranceAdapter

__all__ = ["CHECK_INSURANCE", "XiaodianActivities"]

CHECK_INSURANCE = "xiaodian.check_medical_insurance"


class XiaodianActivities:
    """Writes Xiaodian's step records and notices; idempotent on (workflow id, step key)."""

    def __init__(
        self,
        engine: Engine,
        insurance: MedicalInsuranceAdapter,
        *,
        notifications: NotificationAdapter | None = None,
    ) -> None:
        self._engine = engine
        self._insurance = insurance
        self._notifications = notifications or OutboxLogAdapter()

    @activity.defn(name=CHECK_INSURANCE)
    def check_medical_insurance(self, input: StepInput) -> StepOutput:
        """Check the elder's medical-insurance benefits before the hospital is booked, and
        tell community staff when the elder is not covered."""
        ctx = input.context
        with session_scope(self._engine) as session:
            elder_ref = channel_elder_ref(session, input) or ctx.case_ref
        # The adapter opens its own connection: no transaction of ours may be open meanwhile.
        status = self._insurance.benefit_status(elder_ref)
        with session_scope(self._engine) as session:
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
            notice = None
            if not status.insured:
                notice, _created = crud.insert_notification(
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
        if notice is not None:
            deliver(self._engine, self._notifications, notice)
        return StepOutput(data=status.model_dump(mode="json"))
