"""Context views of Xinghualing's tasks: the green channel's elder with the family doctor,
and the places application for the pre-enrolment health check."""

from __future__ import annotations

from sqlmodel import Session

from careflow.contract import TaskType
from careflow.db.tables import FamilyDoctorContract, Staff, Task
from careflow.task_context import ContextItem, latest_record
from plugins.childcare.places import application_context
from plugins.eldercare.green_channel import green_channel_context
from plugins.xinghualing.forms import (
    FamilyDoctorTriageForm,
    HomeSickbedForm,
    PreEnrolmentHealthCheckForm,
)

__all__ = ["TASK_TYPES", "family_doctor_context"]


def family_doctor_context(session: Session, task: Task) -> list[ContextItem]:
    """The green channel's context and the elder's contracted family doctor."""
    items = green_channel_context(session, task)
    elder_ref = str(latest_record(session, task, "green_channel_opened").data["elder_ref"])
    contract = session.get(FamilyDoctorContract, elder_ref)
    doctor = session.get(Staff, contract.doctor_id) if contract is not None else None
    items.append(
        ContextItem(
            label_zh="签约家庭医生",
            label_en="family doctor",
            value=doctor.name if doctor is not None else None,
        )
    )
    return items


TASK_TYPES = (
    TaskType(
        form=FamilyDoctorTriageForm,
        context=family_doctor_context,
        title_zh="家庭医生分诊",
        title_en="Family doctor triage",
    ),
    TaskType(
        form=HomeSickbedForm,
        context=family_doctor_context,
        title_zh="家庭病床评估",
        title_en="Home sickbed assessment",
    ),
    TaskType(
        form=PreEnrolmentHealthCheckForm,
        context=application_context,
        title_zh="入托前体检",
        title_en="Pre-enrolment health check",
    ),
)
"""Xinghualing's task types with their views."""
