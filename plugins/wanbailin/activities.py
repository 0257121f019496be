"""Activities of the Wanbailin 万柏林区 plugin."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.models import ProcessContext, StepInput, StepOutput
from careflow.settings import Settings
from careflow.temporal import connect
from plugins.eldercare.green_channel.records import channel_elder
from plugins.eldercare.health.tables import HealthReading
from plugins.eldercare.tiers.models import ReassessSignal, tiers_workflow_id

__all__ = ["ATTACH_READINGS", "REQUEST_TIER_REASSESSMENT", "WanbailinActivities"]

ATTACH_READINGS = "wanbailin.attach_health_readings"
REQUEST_TIER_REASSESSMENT = "wanbailin.request_tier_reassessment"

_log = structlog.get_logger("plugins.wanbailin")


class WanbailinActivities:
    """Activities built with the worker's engine and settings.

    The tier reassessment needs a Temporal client; activities are not given one, so the class
    connects lazily with the worker's own settings (same address, namespace, TLS) and keeps it.
    """

    def __init__(self, engine: Engine, settings: Settings, *, readings: int = 5) -> None:
        self._engine = engine
        self._settings = settings
        self._readings = readings
        self._client: Client | None = None

    def _elder(self, input: StepInput) -> str | None:
        with session_scope(self._engine) as session:
            return channel_elder(session, input)

    def _record(self, input: StepInput, kind: str, data: dict[str, object]) -> None:
        ctx: ProcessContext = input.context
        with session_scope(self._engine) as session:
            crud.insert_case_record(
                session,
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                process=ctx.process,
                district=ctx.district,
                case_ref=ctx.case_ref,
                kind=kind,
                data=data,
            )

    @activity.defn(name=ATTACH_READINGS)
    def attach_health_readings(self, input: StepInput) -> StepOutput:
        """Attach the elder's latest health-station readings to triage: row ids and a count.

        Values stay in ``ec_health_reading``; the case record and the logs carry ids only.
        """
        elder_ref = self._elder(input)
        with session_scope(self._engine) as session:
            ids: list[int] = []
            if elder_ref is not None:
                rows = session.exec(
                    select(HealthReading.id)
                    .where(HealthReading.elder_ref == elder_ref)
                    .where(HealthReading.district == input.context.district)
                    .order_by(col(HealthReading.measured_at).desc(), col(HealthReading.id).desc())
                    .limit(self._readings)
                ).all()
                ids = [int(r) for r in rows if r is not None]
        data = {"reading_ids": ids, "count": len(ids)}
        self._record(input, "health_readings_attached", data)
        _log.info("wanbailin.readings_attached", workflow_id=input.workflow_id, count=len(ids))
        return StepOutput(data=data)

    @activity.defn(name=REQUEST_TIER_REASSESSMENT)
    async def request_tier_reassessment(self, input: StepInput) -> StepOutput:
        """Signal the elder's tier care plan ``reassess`` (reason ``discharge``).

        An elder without a running plan is fine: the case record says so. A repeated signal
        after a retry only asks the plan again for the same reassessment (it keeps reasons).
        """
        elder_ref = await asyncio.to_thread(self._elder, input)
        signalled = False
        if elder_ref is not None:
            if self._client is None:
                self._client = await connect(self._settings)
            target = tiers_workflow_id(input.context.district, elder_ref)
            try:
                await self._client.get_workflow_handle(target).signal(
                    "reassess",
                    ReassessSignal(reason="discharge", source_ref=input.context.case_ref),
                )
                signalled = True
            except RPCError as err:
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
        data = {"signalled": signalled, "source_ref": input.context.case_ref}
        kind = "tier_reassessment_requested" if signalled else "tiers_not_running"
        await asyncio.to_thread(self._record, input, kind, data)
        _log.info("wanbailin.tier_reassessment", workflow_id=input.workflow_id, signalled=signalled)
        return StepOutput(data=data)
