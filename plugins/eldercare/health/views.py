"""Context views of the health-station tasks: the alert's reading and the elder."""

from __future__ import annotations

from sqlmodel import Session

from careflow.contract import TaskType
from careflow.db.tables import Task
from careflow.task_context import ContextItem, person_items
from plugins.eldercare.health.forms import HomeVisitForm, ReviewForm
from plugins.eldercare.health.tables import HealthAlert, HealthReading

__all__ = ["TASK_TYPES", "alert_context", "home_visit_context"]


def _alert(session: Session, task: Task) -> HealthAlert:
    # An alert's case ref is <elder ref>.A<alert id>.
    last = task.case_ref.rsplit(".", 1)[-1]
    alert = session.get(HealthAlert, int(last[1:])) if last.startswith("A") else None
    if alert is None:
        raise LookupError("alert not found")
    return alert


def alert_context(session: Session, task: Task) -> list[ContextItem]:
    """The elder (name, phone personal), the reading's values and the rules it broke (health)."""
    alert = _alert(session, task)
    reading = session.get(HealthReading, alert.reading_id)
    if reading is None:
        raise LookupError("reading not found")
    values = []
    if reading.systolic is not None and reading.diastolic is not None:
        values.append(f"血压 blood pressure {reading.systolic}/{reading.diastolic} mmHg")
    if reading.glucose is not None:
        values.append(f"血糖 glucose {reading.glucose} mmol/L")
    if reading.heart_rate is not None:
        values.append(f"心率 heart rate {reading.heart_rate}/min")
    return [
        *person_items(session, alert.elder_ref, who_zh="老人", who_en="elder"),
        ContextItem(label_zh="预警级别", label_en="severity", value=alert.severity),
        ContextItem(
            label_zh="测量时间", label_en="measured at", value=reading.measured_at.isoformat()
        ),
        ContextItem(label_zh="读数", label_en="reading", value=values, personal="health"),
        ContextItem(
            label_zh="触发规则",
            label_en="thresholds crossed",
            value=[str(r) for r in alert.rules],
            personal="health",
        ),
    ]


def home_visit_context(session: Session, task: Task) -> list[ContextItem]:
    """The alert context, the elder's address and what the doctor advised."""
    alert = _alert(session, task)
    items = alert_context(session, task)
    address = person_items(
        session, alert.elder_ref, who_zh="老人", who_en="elder", phone=False, address=True
    )
    return [
        *items,
        address[-1],
        ContextItem(
            label_zh="医生建议",
            label_en="doctor's advice",
            value=alert.advice_zh,
            personal="health",
        ),
    ]


TASK_TYPES = (
    TaskType(form=ReviewForm, context=alert_context, title_zh="预警审核", title_en="Alert review"),
    TaskType(
        form=HomeVisitForm, context=home_visit_context, title_zh="入户随访", title_en="Home visit"
    ),
)
"""The health stations' task types with their views."""
