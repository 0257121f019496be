"""Activities of the health stations: store readings, apply the rules, close alerts, ask the
elder's care plan to reassess.

Log lines name row ids, rule codes and severities, never a measured value.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from careflow.db.engine import session_scope
from careflow.privacy.pseudonyms import Pseudonyms
from plugins.eldercare.care_plans import ask_plan_to_reassess
from plugins.eldercare.contracts import ReassessSignal
from plugins.eldercare.health.models import (
    ActivityNames,
    AlertDecision,
    CloseAlertInput,
    EvaluateInput,
    ReassessRequestInput,
    StoreReadingInput,
)
from plugins.eldercare.health.rules import Measure, evaluate
from plugins.eldercare.health.tables import HealthAlert, HealthReading

__all__ = ["HealthActivities"]

_log = structlog.get_logger("careflow.eldercare.health")
_RANK = {"warning": 1, "critical": 2}


def _measure(row: HealthReading) -> Measure:
    return Measure(
        systolic=row.systolic,
        diastolic=row.diastolic,
        glucose=row.glucose,
        spo2=row.spo2,
        heart_rate=row.heart_rate,
    )


class HealthActivities:
    """Readings and alerts in the app database.

    Args:
        engine: Engine of the app database.
        pseudonyms: Keys the elder's case to find the care plan.
    """

    def __init__(self, engine: Engine, *, pseudonyms: Pseudonyms) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._pseudonyms = pseudonyms

    @activity.defn(name=ActivityNames.REQUEST_REASSESSMENT)
    async def request_reassessment(self, input: ReassessRequestInput) -> bool:
        """Signal the elder's care plan ``reassess``; whether a running plan got it.

        The plan's id holds the elder's case key, or the registry id for a plan started before
        case keys: the activity tries both with the worker's client, so neither id is written
        into the alert's history (a workflow's signal would record its target id in clear).
        A retry after a signal that went through asks the plan again for the same reason.
        """
        return await ask_plan_to_reassess(
            activity.client(),
            district=input.district,
            elder_ref=input.elder_ref,
            signal=ReassessSignal(reason="health_alert", source_ref=f"A{input.alert_id}"),
            pseudonyms=self._pseudonyms,
        )

    @activity.defn(name=ActivityNames.STORE_READING)
    def store_reading(self, input: StoreReadingInput) -> int:
        """Store a reading once; returns its row id."""
        event = input.reading
        with session_scope(self._engine) as session:
            existing = session.exec(
                select(HealthReading).where(
                    HealthReading.workflow_id == input.workflow_id,
                    HealthReading.step_key == input.step_key,
                )
            ).first()
            row = existing or HealthReading(
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                elder_ref=input.context.case_ref,
                district=input.context.district,
                device_id=event.device_id,
                measured_at=event.measured_at,
                systolic=event.systolic,
                diastolic=event.diastolic,
                glucose=event.glucose,
                spo2=event.spo2,
                heart_rate=event.heart_rate,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            reading_id = row.id
        _log.info("health.reading_stored", workflow_id=input.workflow_id, reading_id=reading_id)
        return reading_id

    @activity.defn(name=ActivityNames.EVALUATE)
    def evaluate(self, input: EvaluateInput) -> AlertDecision:
        """Apply thresholds and the trend rule; raise an alert unless an open one covers it."""
        with session_scope(self._engine) as session:
            reading = session.get(HealthReading, input.reading_id)
            if reading is None:
                raise ApplicationError(
                    f"reading {input.reading_id} does not exist", non_retryable=True
                )
            raised = session.exec(
                select(HealthAlert).where(
                    HealthAlert.workflow_id == input.workflow_id,
                    HealthAlert.step_key == input.step_key,
                )
            ).first()
            if raised is not None:  # a retry after the alert was written
                return _decision(raised)
            if reading.alert_id is not None:
                return AlertDecision(suppressed_by=reading.alert_id)
            recent = session.exec(
                select(HealthReading)
                .where(
                    HealthReading.elder_ref == reading.elder_ref,
                    col(HealthReading.measured_at) <= reading.measured_at,
                )
                .order_by(col(HealthReading.measured_at).desc(), col(HealthReading.id).desc())
                .limit(input.rules.trend_window * 4)
            ).all()
            verdict = evaluate(
                _measure(reading), [_measure(r) for r in reversed(recent)], input.rules
            )
            if verdict.severity is None:
                return AlertDecision()
            open_alert = session.exec(
                select(HealthAlert)
                .where(HealthAlert.elder_ref == reading.elder_ref, HealthAlert.status == "open")
                .order_by(col(HealthAlert.id).desc())
            ).first()
            if open_alert is not None and _RANK[open_alert.severity] >= _RANK[verdict.severity]:
                # The doctor already has this elder's alert open: the reading joins it.
                reading.alert_id = open_alert.id
                session.add(reading)
                _log.info("health.alert_joined", reading_id=reading.id, alert_id=open_alert.id)
                return AlertDecision(
                    severity=verdict.severity,
                    rules=list(verdict.rules),
                    suppressed_by=open_alert.id,
                )
            alert = HealthAlert(
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                elder_ref=reading.elder_ref,
                district=reading.district,
                reading_id=input.reading_id,
                severity=verdict.severity,
                rules=list(verdict.rules),
            )
            session.add(alert)
            session.flush()
            reading.alert_id = alert.id
            session.add(reading)
            _log.info(
                "health.alert_raised",
                workflow_id=input.workflow_id,
                alert_id=alert.id,
                severity=alert.severity,
                rules=list(verdict.rules),
            )
            return _decision(alert)

    @activity.defn(name=ActivityNames.CLOSE_ALERT)
    def close_alert(self, input: CloseAlertInput) -> None:
        """Close an alert with the review's outcome; closing it again changes nothing."""
        with session_scope(self._engine) as session:
            alert = session.get(HealthAlert, input.alert_id)
            if alert is None:
                raise ApplicationError(f"alert {input.alert_id} does not exist", non_retryable=True)
            if alert.status == "closed":
                return
            alert.status = "closed"
            alert.outcome = input.outcome
            alert.reviewed_by = input.reviewed_by
            alert.advice_zh = input.advice_zh
            alert.closed_at = input.closed_at
            session.add(alert)
        _log.info("health.alert_closed", alert_id=input.alert_id, outcome=input.outcome)


def _decision(alert: HealthAlert) -> AlertDecision:
    assert alert.id is not None
    return AlertDecision(
        alert_id=alert.id,
        severity="critical" if alert.severity == "critical" else "warning",
        rules=[str(r) for r in alert.rules],
    )
