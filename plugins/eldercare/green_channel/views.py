"""Context view of every green-channel task: the elder, the triage and the hospital."""

from __future__ import annotations

from sqlmodel import Session, col, select

from careflow.contract import TaskType
from careflow.db.tables import Person, Provider, Task
from careflow.task_context import ContextItem, latest_record, person_items
from plugins.eldercare.green_channel.forms import (
    ArrangeHospitalForm,
    ArrivalForm,
    DischargeForm,
    FollowUpForm,
    HospitalResponseForm,
    TransportForm,
    TriageForm,
)
from plugins.eldercare.green_channel.tables import GreenChannelBooking

__all__ = ["TASK_TYPES", "green_channel_context"]


def green_channel_context(session: Session, task: Task) -> list[ContextItem]:
    """The elder (name, phone, address personal), disability, source, triage and hospital."""
    opened = latest_record(session, task, "green_channel_opened").data
    elder_ref = str(opened["elder_ref"])
    elder = session.get(Person, elder_ref)
    if elder is None:
        raise LookupError("elder not in the registry")
    items = [
        *person_items(session, elder_ref, who_zh="老人", who_en="elder", address=True),
        ContextItem(label_zh="残疾等级", label_en="disability level", value=elder.disability_level),
        ContextItem(
            label_zh="独居",
            label_en="lives alone",
            value="是 yes" if elder.lives_alone else "否 no",
        ),
        ContextItem(label_zh="来源", label_en="raised by", value=str(opened.get("source"))),
    ]
    try:
        triage = latest_record(session, task, "triaged").data.get("level")
    except LookupError:
        triage = None
    items.append(ContextItem(label_zh="分诊等级", label_en="triage level", value=triage))
    booking = session.exec(
        select(GreenChannelBooking)
        .where(GreenChannelBooking.workflow_id == task.workflow_id)
        .order_by(col(GreenChannelBooking.requested_at).desc())
    ).first()
    if booking is not None:
        hospital = session.get(Provider, booking.hospital_ref)
        items += [
            ContextItem(
                label_zh="医院",
                label_en="hospital",
                value=hospital.name_zh if hospital else booking.hospital_ref,
            ),
            ContextItem(label_zh="预约号", label_en="booking", value=booking.booking_ref),
            ContextItem(label_zh="预约状态", label_en="booking status", value=booking.status),
        ]
    return items


TASK_TYPES = tuple(
    TaskType(form=form, context=green_channel_context, title_zh=zh, title_en=en)
    for form, zh, en in (
        (TriageForm, "急诊分诊", "Triage"),
        (HospitalResponseForm, "医院答复", "Hospital response"),
        (ArrangeHospitalForm, "联系医院", "Arrange a hospital"),
        (TransportForm, "护送就医", "Transport"),
        (ArrivalForm, "到院确认", "Arrival"),
        (DischargeForm, "出院登记", "Discharge"),
        (FollowUpForm, "出院随访", "Follow-up"),
    )
)
"""The green channel's task types, all with the same view."""
