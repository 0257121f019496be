"""Data shapes of the smart health stations 智慧健康驿站: events, params, activity I/O.

Readings are health data. They arrive in the ``reading`` signal (the event routed by
``careflow event eldercare.reading``), are stored in ``ec_health_reading`` at once, and from
then on only row ids and rule codes travel: never values in workflow ids, search attributes,
summaries or logs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from careflow.contract import CareEvent
from careflow.inputs import CaseRef, Code, ExternalModel, Ref, RegistryRef
from careflow.models import ProcessContext
from careflow.params import PositiveDuration

__all__ = [
    "HEALTH_ALERT_PROCESS",
    "HEALTH_CONSENT_PURPOSE",
    "HEALTH_MONITOR_PROCESS",
    "ActivityNames",
    "AlertDecision",
    "AlertOutcome",
    "AlertParams",
    "AlertRequest",
    "AlertResult",
    "CloseAlertInput",
    "EvaluateInput",
    "HealthRules",
    "MonitorCarry",
    "MonitorParams",
    "MonitorRequest",
    "MonitorResult",
    "ReadingEvent",
    "ReassessRequestInput",
    "Severity",
    "StoreReadingInput",
]

HEALTH_MONITOR_PROCESS = "eldercare.health_monitor"
HEALTH_ALERT_PROCESS = "eldercare.health_alert"
HEALTH_CONSENT_PURPOSE = "health_monitoring"
"""The consent purpose (``careflow.privacy.consent``) a reading is used under."""

Severity = Literal["critical", "warning"]
AlertOutcome = Literal[
    "advice", "home_visit", "home_visit_missed", "referral", "referral_recorded", "review_expired"
]


class ActivityNames:
    """Names of this unit's activities, called by name from the workflows."""

    STORE_READING = "eldercare.health.store_reading"
    EVALUATE = "eldercare.health.evaluate"
    CLOSE_ALERT = "eldercare.health.close_alert"
    REQUEST_REASSESSMENT = "eldercare.health.request_reassessment"


class ReassessRequestInput(BaseModel):
    """Ask the elder's care plan to reassess after an alert (found by an activity, by key)."""

    district: str
    elder_ref: str
    alert_id: int


class ReadingEvent(CareEvent):
    """One measurement at a health station; ``case_ref`` is the elder's registry id.

    The elder must be in the registry (an elder of the event's district): a reading for an
    unknown id is refused before it starts a monitor or is stored.
    """

    case_ref: Annotated[CaseRef, RegistryRef("person", person_kind="elder")]
    device_id: Code
    measured_at: datetime
    systolic: int | None = Field(default=None, ge=40, le=300, description="mmHg")
    diastolic: int | None = Field(default=None, ge=20, le=200, description="mmHg")
    glucose: float | None = Field(default=None, ge=0.5, le=40, description="mmol/L")
    spo2: int | None = Field(default=None, ge=50, le=100, description="blood oxygen, %")
    heart_rate: int | None = Field(default=None, ge=20, le=250, description="beats/min")

    @model_validator(mode="after")
    def _something_measured(self) -> ReadingEvent:
        if (self.systolic is None) != (self.diastolic is None):
            raise ValueError("blood pressure needs both systolic and diastolic")
        if all(v is None for v in (self.systolic, self.glucose, self.spo2, self.heart_rate)):
            raise ValueError("a reading needs at least one measurement")
        return self


class MonitorRequest(ExternalModel):
    """What starts an elder's monitor: the first reading (signal-with-start)."""

    opened_by: Literal["reading", "staff"] = Field(
        default="reading",
        title="发起方式 Opened by",
        description="reading 健康驿站检测数据；staff 社区工作人员",
    )


class HealthRules(BaseModel):
    """Thresholds and the trend rule. Critical thresholds raise a critical alert."""

    systolic_high: int = 160
    systolic_critical: int = 180
    systolic_low: int = 90
    diastolic_high: int = 100
    diastolic_critical: int = 110
    glucose_high: float = 11.1
    glucose_critical: float = 16.7
    glucose_low: float = 3.9
    glucose_critical_low: float = 2.8
    spo2_low: int = 94
    spo2_critical: int = 90
    heart_rate_low: int = 50
    heart_rate_high: int = 110
    heart_rate_critical_low: int = 40
    heart_rate_critical_high: int = 130
    trend_window: int = Field(default=3, ge=2, le=20, description="Readings the trend looks at.")
    trend_systolic_rise: int = Field(default=20, ge=1)
    trend_glucose_rise: float = Field(default=3.0, gt=0)
    trend_spo2_drop: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> HealthRules:
        # Each measure's thresholds must nest (critical low ≤ low < high ≤ critical high), or
        # a reading could be critical without being abnormal; all must be above zero.
        chains = {
            "systolic": (self.systolic_low, self.systolic_high, self.systolic_critical),
            "diastolic": (self.diastolic_high, self.diastolic_critical),
            "glucose": (
                self.glucose_critical_low,
                self.glucose_low,
                self.glucose_high,
                self.glucose_critical,
            ),
            "spo2": (self.spo2_critical, self.spo2_low),
            "heart_rate": (
                self.heart_rate_critical_low,
                self.heart_rate_low,
                self.heart_rate_high,
                self.heart_rate_critical_high,
            ),
        }
        for measure, values in chains.items():
            if values[0] <= 0 or list(values) != sorted(values):
                raise ValueError(
                    f"{measure} thresholds must be above 0 and in order from critical low "
                    f"to critical high, not {list(values)}"
                )
        return self


class MonitorParams(BaseModel):
    """What a district may set for the per-elder monitor."""

    rules: HealthRules = Field(default_factory=HealthRules)
    idle_close: PositiveDuration = Field(
        default=timedelta(days=90),
        description="Close the monitor after this long without readings; the next one reopens.",
    )
    max_history: int = Field(default=2000, ge=20)


class AlertParams(BaseModel):
    """What a district may set for the doctor's review of an alert."""

    review_due_critical: PositiveDuration = timedelta(hours=1)
    review_due: PositiveDuration = timedelta(hours=24)
    review_escalation_due_critical: PositiveDuration = timedelta(hours=1)
    review_escalation_due: PositiveDuration = timedelta(hours=24)
    visit_due: PositiveDuration = timedelta(days=2)
    visit_escalation_due: PositiveDuration = timedelta(days=1)


class MonitorCarry(BaseModel):
    """State carried across continue-as-new: counters keep step keys unique."""

    readings: int = 0
    alerts: int = 0
    runs: int = 0


class MonitorResult(BaseModel):
    """What a monitor reports when it closes: idle, or ended by a consent withdrawal."""

    readings: int
    alerts: int
    runs: int
    ended: Literal["consent_withdrawn"] | None = None


class StoreReadingInput(BaseModel):
    """Store one reading (idempotent on workflow id and step key)."""

    workflow_id: str
    step_key: str
    context: ProcessContext
    reading: ReadingEvent


class EvaluateInput(BaseModel):
    """Apply the rules to a stored reading and the elder's recent ones."""

    workflow_id: str
    step_key: str
    context: ProcessContext
    reading_id: int
    rules: HealthRules


class AlertDecision(BaseModel):
    """Whether a reading raised an alert: ids and rule codes only."""

    alert_id: int | None = None
    severity: Severity | None = None
    rules: list[str] = Field(default_factory=list)
    suppressed_by: int | None = Field(
        default=None, description="An open alert at least as severe that covers this reading."
    )


class AlertRequest(ExternalModel):
    """What starts the review of one alert."""

    elder_ref: Annotated[Ref, Field(max_length=16), RegistryRef("person", person_kind="elder")] = (
        Field(
            title="老人编号 Elder",
            description="老人的登记编号（P…）。 Registry id of the elder (P…).",
        )
    )
    alert_id: int = Field(title="预警编号 Alert")
    severity: Severity = Field(title="预警级别 Severity", description="critical 危急；warning 警示")
    rules: list[Code] = Field(
        default_factory=list,
        max_length=50,
        title="触发的规则 Rules",
        description="触发预警的规则代码，每行一个。 Codes of the rules that raised the alert.",
    )


class CloseAlertInput(BaseModel):
    """Close an alert row with its outcome."""

    alert_id: int
    outcome: AlertOutcome
    reviewed_by: str | None = None
    advice_zh: str | None = None
    closed_at: datetime


class AlertResult(BaseModel):
    """What an alert's review reports."""

    alert_id: int
    severity: Severity
    outcome: AlertOutcome
    green_channel_workflow_id: str | None = None
    minutes_to_review: float | None = None
    tier_reassessment: bool = False
