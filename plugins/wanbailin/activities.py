"""Activities of the Wanbailin 万柏林区 plugin.

They use only what the eldercare units export: the green channel's elder, the health stations'
latest reading ids, the care plan's ``reassess`` signal (sent with the worker's own client).
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.engine import Engine
from temporalio import activity

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.models import ProcessContext, StepInput, StepOutput
from careflow.privacy.pseudonyms import Pseudonyms
from plugins.eldercare.green_channel import channel_elder_ref
from plugins.eldercare.health import latest_reading_ids
from plugins.eldercare.tiers import ReassessSignal, ask_plan_to_reassess

__all__ = ["ATTACH_READINGS", "REQUEST_TIER_REASSESSMENT", "WanbailinActivities"]

ATTACH_READINGS = "wanbailin.attach_health_readings"
REQUEST_TIER_REASSESSMENT = "wanbailin.request_tier_reassessment"

_log = structlog.get_logger("plugins.wanbailin")


class WanbailinActivities:
    """Activities built with the worker's engine and the deployment's pseudonym key.

    Args:
        engine: Engine of the app database.
        pseudonyms: Keys the elder's case to find the care plan.
        readings: How many of the latest readings triage gets.
    """

    def __init__(self, engine: Engine, *, pseudonyms: Pseudonyms, readings: int = 5) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._pseudonyms = pseudonyms
        self._readings = readings

    def _elder(self, input: StepInput) -> str | None:
        with session_scope(self._engine) as session:
            return channel_elder_ref(session, input)

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
        ids: list[int] = []
        if elder_ref is not None:
            with session_scope(self._engine) as session:
                ids = latest_reading_ids(
                    session,
                    elder_ref=elder_ref,
                    district=input.context.district,
                    limit=self._readings,
                )
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
            # The worker's client: the signal goes through the worker that runs the activity
            # (same address, namespace, TLS and data converter), no connection of its own.
            signalled = await ask_plan_to_reassess(
                activity.client(),
                district=input.context.district,
                elder_ref=elder_ref,
                signal=ReassessSignal(reason="discharge", source_ref=input.context.case_ref),
                pseudonyms=self._pseudonyms,
            )
        data = {"signalled": signalled, "source_ref": input.context.case_ref}
        kind = "tier_reassessment_requested" if signalled else "tiers_not_running"
        await asyncio.to_thread(self._record, input, kind, data)
        _log.info("wanbailin.tier_reassessment", workflow_id=input.workflow_id, signalled=signalled)
        return StepOutput(data=data)
