"""Helpers of the Xinghualing tests: a green channel driven to discharge, plan-step inputs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from tests.plugins.eldercare.green_channel.support import complete
from tests.support.inbox import wait_for_task


async def through_discharge(
    env: WorkflowEnvironment, engine: Engine, workflow_id: str, *, family_doctor: bool = True
) -> None:
    """Answer every task of a green channel up to and including the discharge, as staff do.

    The family doctor joins triage (Xinghualing), the doctor triages, staff enter the partner
    hospital's acceptance, the escort, the arrival and a discharge home.
    """
    if family_doctor:
        task = await wait_for_task(engine, workflow_id, "xinghualing.family_doctor_triage")
        await complete(env, engine, task.task_id, "doctor", {"joined": True})
    answers: list[tuple[str, str, dict[str, Any]]] = [
        ("triage", "doctor", {"level": "urgent"}),
        ("booking.1.response", "hospital", {"accepted": True}),
        ("transport", "grid_worker", {"escort_ref": "S0002", "mode": "community_vehicle"}),
        ("arrival", "hospital", {"arrived": True}),
        ("discharge", "hospital", {"disposition": "home"}),
    ]
    for key, role, data in answers:
        task = await wait_for_task(engine, workflow_id, key)
        await complete(env, engine, task.task_id, role, data)
