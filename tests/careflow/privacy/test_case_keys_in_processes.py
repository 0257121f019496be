"""No registry id in what stays readable: workflow ids, ``CareCaseRef``, summaries, current
details, activity summaries; and events still reach their processes through the case key.

Health monitor and alert, tiered care and a curtain check on the time-skipping server; a
Delivery started before case keys (its id holds the case ref) still gets its drop-off event.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.access import Attempt, Refused, accounts, actions, new_request_id
from careflow.contract import ActivitySet, ActivityStep, CarePlugin
from careflow.db.tables import AuditEntry, Pairing, Person
from careflow.models import ProcessInput, StepInput, StepOutput, process_workflow_id
from careflow.privacy.pseudonyms import case_key
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.curtain import CHECK_PROCESS, check_case_ref
from plugins.eldercare.health.tables import HealthAlert
from plugins.eldercare.tiers import plan_workflow_ids
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.support.cases import (
    REGISTRY_ID,
    case_ref_of,
    history_summaries,
    keyed_id,
    readable_parts,
)
from tests.support.inbox import result_of, wait_for_task
from tests.support.programmes import switched_on
from worker.testing import running_worker

WANBAILIN = "wanbailin"
XINGHUALING = "xinghualing"
MONITOR = "eldercare.health_monitor"
ALERT = "eldercare.health_alert"
TIERS = "eldercare.tiers"


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry.build(
        [
            engine_plugin,
            eldercare_plugin,
            switched_on(WANBAILIN, MONITOR, ALERT, TIERS),
            switched_on(XINGHUALING, CHECK_PROCESS),
        ]
    )


def _elder(engine: Engine, district: str, offset: int = 0) -> str:
    with Session(engine) as session:
        found = session.exec(
            select(Person.id)
            .where(Person.kind == "elder", col(Person.community_code).startswith(f"{district}."))
            .order_by(col(Person.id))
            .offset(offset)
        ).first()
    assert found is not None
    return found


async def _alert_of(engine: Engine, elder: str) -> int:
    """The id of the elder's first alert, once the monitor raised it."""
    for _ in range(300):
        with Session(engine) as session:
            row = session.exec(select(HealthAlert).where(HealthAlert.elder_ref == elder)).first()
        if row is not None and row.id is not None:
            return row.id
        await asyncio.sleep(0.05)
    raise AssertionError("no alert raised")


def _no_registry_id(parts: Any) -> None:
    text = json.dumps(parts, ensure_ascii=False, default=str)
    assert REGISTRY_ID.search(text) is None, text


async def _reading(
    env: WorkflowEnvironment, registry: PluginRegistry, queue: str, elder: str, **values: Any
) -> str:
    return await service.route_event(
        env.client,
        registry,
        event_type="eldercare.reading",
        data={
            "district": WANBAILIN,
            "case_ref": elder,
            "device_id": "HS-0007",
            "measured_at": datetime.now(UTC).isoformat(),
            **values,
        },
        task_queue=queue,
    )


async def test_a_health_monitor_and_its_alert_show_keys_and_readings_still_reach_them(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    elder = _elder(engine, WANBAILIN)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        q = worker.task_queue
        first = await _reading(ts_env, registry, q, elder, systolic=120, diastolic=78)
        # The second reading names the elder again: the service keys it to the same monitor.
        second = await _reading(ts_env, registry, q, elder, systolic=192, diastolic=112)
        assert first == second == keyed_id(MONITOR, WANBAILIN, elder)
        assert await case_ref_of(ts_env.client, first) == elder  # the ref travels in the input
        alert_id = keyed_id(ALERT, WANBAILIN, f"{elder}.A{await _alert_of(engine, elder)}")
        review = await wait_for_task(engine, alert_id, "review")
        monitor_parts = await readable_parts(ts_env.client, first)
        alert_parts = await readable_parts(ts_env.client, alert_id)
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=review.task_id,
            actor="S0005",
            role="doctor",
            data={"outcome": "advice", "advice_zh": "低盐饮食"},
        )
        alert = ts_env.client.get_workflow_handle(alert_id)
        await result_of(ts_env, alert)
        summaries = await history_summaries(ts_env.client, alert_id)
        await record_history(ts_env.client, alert, "eldercare_health_alert_advice_case_keys")
        await ts_env.client.get_workflow_handle(first).terminate("test over")

    for parts in (monitor_parts, alert_parts):
        _no_registry_id(parts)
        assert parts["search_attributes"]["CareCaseRef"] == parts["case_key"]
    # (The test server keeps no summary of a signal-with-start, the monitor's start.)
    assert alert_parts["case_key"] in alert_parts["summary"]
    assert monitor_parts["case_key"] == case_key(elder)
    # The advice went to the elder: the notify step's summary names a person, not the id.
    assert "通知 notify: health_advice → 个人 person" in summaries
    _no_registry_id(summaries)


async def test_a_care_plan_shows_its_key_and_status_gives_back_the_case_ref(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    elder = _elder(engine, WANBAILIN, offset=3)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process=TIERS,
            district=WANBAILIN,
            case_ref=elder,
            request={},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        assert started.workflow_id == plan_workflow_ids(WANBAILIN, elder)[0]
        assert started.case_ref == elder and started.case_key == case_key(elder)
        await wait_for_task(engine, started.workflow_id, "assess.0")
        parts = await readable_parts(ts_env.client, started.workflow_id)
        status = await service.process_status(
            ts_env.client, engine, workflow_id=started.workflow_id, registry=registry
        )
        await ts_env.client.get_workflow_handle(started.workflow_id).terminate("test over")
    _no_registry_id(parts)
    assert parts["search_attributes"]["CareCaseRef"] == case_key(elder)
    # Whoever holds the database and Temporal credentials reads the case ref back.
    assert status["case_key"] == case_key(elder) and status["case_ref"] == elder
    assert status["ids"]["case_ref"] == elder


async def test_a_curtain_check_is_keyed_and_its_report_reaches_it(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    with Session(engine) as session:
        elder, volunteer = session.exec(
            select(Person.id, Pairing.volunteer_id)
            .join(Pairing, col(Pairing.elder_id) == col(Person.id))
            .where(Pairing.kind == "curtain")
            .where(col(Person.community_code).startswith(f"{XINGHUALING}."))
            .order_by(col(Person.id))
        ).first() or (None, None)
    assert elder is not None and volunteer is not None
    day = date(2026, 3, 9)
    ref = check_case_ref(elder, day)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process=CHECK_PROCESS,
            district=XINGHUALING,
            case_ref=ref,
            request={"elder_ref": elder, "volunteer_ref": volunteer, "day": day.isoformat()},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        await wait_for_task(engine, started.workflow_id, "check")
        parts = await readable_parts(ts_env.client, started.workflow_id)
        routed = await service.route_event(
            ts_env.client,
            registry,
            event_type="eldercare.curtain_report",
            data={
                "district": XINGHUALING,
                "case_ref": ref,
                "curtains": "open",
                "reporter_ref": volunteer,
            },
            task_queue=worker.task_queue,
        )
        result = await result_of(ts_env, ts_env.client.get_workflow_handle(started.workflow_id))
    assert started.workflow_id == keyed_id(CHECK_PROCESS, XINGHUALING, ref)
    assert routed == started.workflow_id
    assert result["outcome"] == "open"
    _no_registry_id(parts)


async def test_an_event_still_reaches_a_process_started_before_case_keys(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = PluginRegistry.build([engine_plugin])
    case_ref = "OLD-0001"
    prepared = service.prepare_start(
        registry,
        process="delivery",
        district=WANBAILIN,
        case_ref=case_ref,
        request={
            "recipient_ref": "P00012",
            "donor_ref": "D0003",
            "items": [{"category": "school_bag", "quantity": 1}],
        },
        started_by="staff:S0001",
    )
    # As the service started it before case keys: the case ref in the id, no key in the input.
    before = process_workflow_id("delivery", WANBAILIN, case_ref)
    context = prepared.context.model_copy(update={"case_key": None})
    old_input = ProcessInput[Any](
        context=context, plan=prepared.input.plan, request=prepared.input.request
    )
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        await ts_env.client.start_workflow(
            prepared.workflow_type, old_input, id=before, task_queue=worker.task_queue
        )
        await wait_for_task(engine, before, "dropoff")
        routed = await service.route_event(
            ts_env.client,
            registry,
            event_type="delivery.dropoff",
            data={"district": WANBAILIN, "case_ref": case_ref, "device_id": "ST-07"},
            task_queue=worker.task_queue,
        )
        dropoff = await wait_for_task(engine, before, "dropoff", status="done")
        await ts_env.client.get_workflow_handle(before).terminate("test over")
    assert routed == before != prepared.workflow_id
    assert dropoff.completed_by == "device:ST-07"


class NamingActivities:
    """A step that fails for good with a registry id in its message (as lookups do)."""

    @activity.defn(name="naming.fail")
    def fail(self, input: StepInput) -> StepOutput:
        raise ApplicationError(
            f"unknown elder {input.context.case_ref!r}", type="UnknownElder", non_retryable=True
        )


NAMING = CarePlugin(
    name="naming",
    version="1.0.0",
    title_zh="报错测试",
    title_en="Naming test plugin",
    steps=(
        ActivityStep(
            key="naming.fail",
            process="delivery",
            point="after_dropoff",
            summary_zh="查询失败 failing lookup",
            activity="naming.fail",
        ),
    ),
    activities=(ActivitySet(cls=NamingActivities, build=lambda deps: NamingActivities()),),
)


async def test_a_failed_steps_message_shows_no_registry_id_in_the_details(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = PluginRegistry.build([engine_plugin, NAMING])
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district=WANBAILIN,
            case_ref="P00012",
            request={
                "recipient_ref": "P00012",
                "donor_ref": "D0003",
                "items": [{"category": "school_bag", "quantity": 1}],
            },
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        dropoff = await wait_for_task(engine, started.workflow_id, "dropoff")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=dropoff.task_id,
            actor="S0001",
            role="community_staff",
            data={"items_match": True},
        )
        with pytest.raises(WorkflowFailureError):
            await result_of(ts_env, handle)
        parts = await readable_parts(ts_env.client, started.workflow_id)
    assert "UnknownElder: unknown elder '…'" in parts["details"]
    _no_registry_id(parts)


def _attempt(engine: Engine, username: str) -> Attempt:
    with Session(engine) as session:
        principal = accounts.load_principal(session, accounts.account_id(session, username))
    return Attempt(principal=principal, channel="cli", request_id=new_request_id())


def _audit(engine: Engine, request_id: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.request_id == request_id)).all()
        )


def test_a_supervisor_goes_from_a_key_to_the_case_and_back_audited(
    seeded_engine: Engine,
) -> None:
    from careflow.db import crud
    from careflow.db.engine import session_scope

    engine = seeded_engine
    elder = _elder(engine, WANBAILIN, offset=5)
    workflow_id = keyed_id(TIERS, WANBAILIN, elder)
    with session_scope(engine) as session:
        crud.insert_case_record(
            session,
            workflow_id=workflow_id,
            step_key="assess.0",
            process=TIERS,
            district=WANBAILIN,
            case_ref=elder,
            kind="tier_assessed",
            data={},
        )
    by_ref = _attempt(engine, "wanbailin-district_admin")
    found = actions.lookup_case(engine, by_ref, query=elder)
    assert found["case_key"] == case_key(elder)
    assert [c["workflow_id"] for c in found["cases"]] == [workflow_id]
    by_key = _attempt(engine, "wanbailin-district_admin")
    back = actions.lookup_case(engine, by_key, query=case_key(elder))
    assert back["cases"] == found["cases"] and back["cases"][0]["case_ref"] == elder
    [row] = _audit(engine, by_key.request_id)
    assert (row.action, row.outcome, row.target) == ("case.lookup", "accepted", case_key(elder))
    # Another district's admin sees the key, but no workflow of this case.
    other = actions.lookup_case(engine, _attempt(engine, "xiaodian-district_admin"), query=elder)
    assert other == {"case_key": case_key(elder), "cases": []}

    bad = _attempt(engine, "wanbailin-district_admin")
    with pytest.raises(Refused) as refused:
        actions.lookup_case(engine, bad, query="110101199003071234")
    assert refused.value.field == "case_ref" and refused.value.reason == "bad_input"
    [row] = _audit(engine, bad.request_id)
    assert row.outcome == "refused" and "110101199003071234" not in (row.message or "")
