"""Xinghualing's childcare places on the time-skipping server: a health check before enrolment.

医育融合: once the family accepts the offer, the partner medical institution checks the child;
the enrolment is recorded only after the check is entered.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.childcare.places import PlacesResult
from plugins.childcare.places.tables import PlacesApplication
from plugins.eldercare import plugin as eldercare_plugin
from plugins.engine import plugin as engine_plugin
from plugins.xinghualing import plugin as xinghualing_plugin
from tests.conftest import record_history
from tests.plugins.childcare.places.support import apply, taken, toddlers
from tests.support.inbox import records_of, result_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "xinghualing"
CHECK = "xinghualing.pre_enrolment_health_check"


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, xinghualing_plugin]
    )


def _application(engine: Engine, workflow_id: str) -> tuple[str, str | None]:
    with Session(engine) as session:
        row = session.get(PlacesApplication, workflow_id)
        assert row is not None
        return row.status, row.provider_id


async def _accepted(
    env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry, task_queue: str
) -> tuple[str, str]:
    """Apply for a toddler, accept the offer; (workflow id, provider) once the check is open."""
    [child] = await toddlers(env, engine, DISTRICT, 1)
    handle = await apply(env, registry, task_queue, DISTRICT, child)
    offer = await wait_for_task(engine, handle.id, "offer.1")
    await service.complete_task(
        env.client,
        engine,
        task_id=offer.task_id,
        actor="S0002",
        role="community_staff",
        data={"accept": True},
    )
    await wait_for_task(engine, handle.id, CHECK)
    status, provider = _application(engine, handle.id)
    assert status == "offered" and provider is not None
    return handle.id, provider


async def test_child_not_fit_for_care_is_not_enrolled_and_the_seat_is_freed(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        wf_id, provider = await _accepted(ts_env, engine, registry, worker.task_queue)
        handle = ts_env.client.get_workflow_handle(wf_id)
        assert taken(engine, provider) == 1
        check = await wait_for_task(engine, wf_id, CHECK)
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=check.task_id,
            actor="S0003",
            role="doctor",
            data={"fit_for_care": False, "institution_ref": "H0001", "note": "需复查"},
        )
        result = PlacesResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "xinghualing_places_not_fit")

    assert result.outcome == "enrolment_refused" and result.reason == CHECK
    assert _application(engine, wf_id) == ("refused", None)
    assert taken(engine, provider) == 0  # nobody waits: the seat goes back to the pool
    kinds = [kind for _, kind in records_of(engine, wf_id)]
    assert "places_enrolment_refused" in kinds and "places_enrolled" not in kinds
    assert ("enrolment_refused", "places_enrolment_refused") in records_of(engine, wf_id)


async def test_health_check_not_entered_in_time_stops_enrolment(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    assert registry.params_for("childcare.places", DISTRICT)["answer_required_before_enrolment"]
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        wf_id, provider = await _accepted(ts_env, engine, registry, worker.task_queue)
        handle = ts_env.client.get_workflow_handle(wf_id)
        # Five days with the doctor, two more with community staff, then the check expires.
        await ts_env.sleep(timedelta(days=7, minutes=10))
        result = PlacesResult.model_validate(await result_of(ts_env, handle))

    assert result.outcome == "enrolment_refused"
    assert _application(engine, wf_id) == ("refused", None)
    assert taken(engine, provider) == 0
    kinds = [kind for _, kind in records_of(engine, wf_id)]
    assert kinds.index("step_expired") < kinds.index("places_enrolment_refused")


async def test_health_check_before_enrolment(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    [child] = await toddlers(ts_env, engine, DISTRICT, 1)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await apply(ts_env, registry, worker.task_queue, DISTRICT, child)
        offer = await wait_for_task(engine, handle.id, "offer.1")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=offer.task_id,
            actor="S0002",
            role="community_staff",
            data={"accept": True},
        )

        check = await wait_for_task(engine, handle.id, CHECK)
        assert check.role == "doctor" and child not in check.title_zh
        assert check.form_ref == "plugins.xinghualing.forms:PreEnrolmentHealthCheckForm"
        # The seat stays held for the family, but nobody is enrolled while the check is open.
        status, provider = _application(engine, handle.id)
        assert status == "offered" and provider is not None and taken(engine, provider) == 1
        assert ("enrolment", "places_enrolled") not in records_of(engine, handle.id)

        # The institution has not reported in five days: community staff chase it up.
        await ts_env.sleep(timedelta(days=5, minutes=5))
        late = await wait_for_task(engine, handle.id, CHECK, level=1)
        assert late.role == "community_staff" and late.overdue
        assert _application(engine, handle.id)[0] == "offered"
        form = {
            "fit_for_care": True,
            "institution_ref": "H0001",
            "vaccinations_complete": True,
            "follow_up_needed": False,
            "note": "",
        }
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=late.task_id,
            actor="S0002",
            role="community_staff",
            data=form,
        )
        result = PlacesResult.model_validate(await result_of(ts_env, handle))
        done = await wait_for_task(engine, handle.id, CHECK, status="done")
        status_view = await handle.query("status")
        await record_history(ts_env.client, handle, "xinghualing_places_health_check_enrolled")

    assert result.outcome == "enrolled" and result.provider_ref == provider
    assert _application(engine, handle.id) == ("enrolled", provider)
    assert taken(engine, provider) == 1
    assert done.result == {**form, "enrol": True} and done.completed_role == "community_staff"
    assert status_view["results"][CHECK] == {**form, "enrol": True}
    keys = [key for key, _ in records_of(engine, handle.id)]
    assert keys.index("offer.1") < keys.index("enrolment")
