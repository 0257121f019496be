"""Activities of the Xinghualing 杏花岭区 plugin."""

from __future__ import annotations

import structlog
from sqlalchemy.engine import Engine
from temporalio import activity

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.models import StepInput, StepOutput
from careflow.notify import NotificationAdapter, deliver
from plugins.eldercare.green_channel import channel_elder_ref
from plugins.engine.roles import Role

__all__ = ["NOTIFY_FAMILY_DOCTOR", "XinghualingActivities"]

NOTIFY_FAMILY_DOCTOR = "xinghualing.notify_family_doctor"

_log = structlog.get_logger("plugins.xinghualing")


class XinghualingActivities:
    """Activities built with the worker's engine and notification adapter."""

    def __init__(self, engine: Engine, notifications: NotificationAdapter) -> None:
        self._engine = engine
        self._notifications = notifications

    @activity.defn(name=NOTIFY_FAMILY_DOCTOR)
    def notify_family_doctor(self, input: StepInput) -> StepOutput:
        """Put a notice to the elder's contracted family doctor in the outbox and record it.

        Idempotent on (workflow id, step key): one outbox row and one case record per channel.
        The notice goes to the doctor of the elder's family-doctor contract 家庭医生签约
        (``staff:<id>``); an elder without a contract is announced to the district's doctors
        (``role:doctor``) and the record says so. Elder and doctor appear by id only.
        """
        ctx = input.context
        with session_scope(self._engine) as session:
            elder_ref = channel_elder_ref(session, input)
            doctor = crud.family_doctor_of(session, person_id=elder_ref) if elder_ref else None
            recipient = f"staff:{doctor}" if doctor else f"role:{Role.DOCTOR.value}"
            row, _created = crud.insert_notification(
                session,
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                district=ctx.district,
                community=ctx.community,
                recipient_ref=recipient,
                template="xinghualing_family_doctor_triage",
                body_zh=(
                    "您签约的失能老人已进入急诊绿色通道，请参与分诊并共享健康档案。"
                    if doctor
                    else "辖区一位未签约家庭医生的失能老人已进入急诊绿色通道，请安排医生参与分诊。"
                ),
                params={"case_ref": ctx.case_ref},
            )
            crud.insert_case_record(
                session,
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                process=ctx.process,
                district=ctx.district,
                case_ref=ctx.case_ref,
                kind="family_doctor_notified",
                data={
                    "elder_ref": elder_ref,
                    "recipient_ref": recipient,
                    "contracted": doctor is not None,
                    "outbox_id": row.id,
                },
            )
        deliver(self._engine, self._notifications, row)
        _log.info("xinghualing.family_doctor_notified", workflow_id=input.workflow_id)
        return StepOutput(data={"notified": recipient, "outbox_id": row.id})
