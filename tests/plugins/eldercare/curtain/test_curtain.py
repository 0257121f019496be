"""The curtain appointment on the time-skipping test server: round, report, escalation, away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow.db import crud
from careflow.db.tables import Pairing, Person, Task
from careflow.models import ChildStart, process_workflow_id
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.curtain import (
    AWAY_PROCESS,
    CHECK_PROCESS,
    ROUND_PROCESS,
    CurtainCheckResult,
    CurtainRoundResult,
    batch_case_ref,
    check_case_ref,
)
from plugins.eldercare.curtain.models import (
    BATCH_WORKFLOW,
    CurtainBatchInput,
    CurtainBatchResult,
    WatchEntry,
)
from plugins.eldercare.curtain.workflows import CurtainBatchWorkflow
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.plugins.eldercare.green_channel.support import DISTRICT, complete, event, start
from tests.support.cases import REGISTRY_ID, keyed_id
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from tests.support.programmes import switched_on
from worker.testing import running_worker, time_skipping_environment

DAY = date(2026, 3, 2)


@pytest.fixture
def eldercare() -> PluginRegistry:
    """The engine and the eldercare module, with small round batches in Xinghualing."""
    return PluginRegistry.build(
        [
            engine_plugin,
            eldercare_plugin,
            switched_on(DISTRICT, ROUND_PROCESS, CHECK_PROCESS, AWAY_PROCESS),
        ],
        overrides={DISTRICT: {ROUND_PROCESS: {"batch_size": 10}}},
    )


@pytest.fixture
async def own_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own.

    Fanned-out children and a green channel started from a check leave the time-skipping
    server unable to skip time afterwards (seen on temporal-test-server 1.40: the next
    ``env.sleep`` times out), so these tests do not share the session's server.
    """
    env = await time_skipping_environment()
    try:
        yield env
    finally:
        await env.shutdown()


def _watched(engine: Engine, *, disabled: bool | None = None) -> list[tuple[str, str]]:
    """(elder, volunteer) of Xinghualing's curtain pairings, by elder id."""
    with Session(engine) as session:
        statement = (
            select(Person.id, Pairing.volunteer_id, Person.disability_level)
            .join(Pairing, col(Pairing.elder_id) == col(Person.id))
            .where(Pairing.kind == "curtain")
            .where(col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.id))
        )
        rows = session.exec(statement).all()
    return [(e, v) for e, v, level in rows if disabled is None or (level > 0) == disabled]


def _check_tasks(engine: Engine, status: str = "open") -> dict[str, Task]:
    """Check tasks of Xinghualing by the elder's check case ref (batches hold many)."""
    with Session(engine) as session:
        return {
            t.case_ref: t
            for t in crud.list_tasks(session, district=DISTRICT, status=status)
            if t.step_key.startswith("check") and t.process == CHECK_PROCESS
        }


def _batch_id(day: date, number: int) -> str:
    return process_workflow_id(BATCH_WORKFLOW, DISTRICT, batch_case_ref(day, number))


def _report(
    elder: str, volunteer: str, curtains: str, day: date = DAY, batch: int | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "district": DISTRICT,
        "case_ref": check_case_ref(elder, day),
        "curtains": curtains,
        "reporter_ref": volunteer,
    }
    if batch is not None:
        data["batch_ref"] = batch_case_ref(day, batch)
    return data


async def test_round_holds_checks_in_batches_and_escalates_only_closed_ones(
    own_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    watched = _watched(engine)
    assert len(watched) > 10  # more than one batch
    away_elder, _ = watched[0]
    reporting_elder, volunteer = watched[1]
    inbox_elder, _ = watched[2]
    closed_elder, closed_volunteer = watched[3]
    async with running_worker(own_env.client, eldercare, engine=engine) as worker:
        tq = worker.task_queue
        # The family files an away notice through an event; it starts the small process.
        away_id = await event(
            own_env,
            eldercare,
            tq,
            "eldercare.curtain_away",
            {
                "district": DISTRICT,
                "case_ref": f"away.{away_elder}",
                "elder_ref": away_elder,
                "away_from": "2026-03-01",
                "away_until": "2026-03-05",
                "filed_by": "family",
            },
        )
        away = own_env.client.get_workflow_handle(away_id)
        assert (await away.result())["notice_id"] >= 1
        await record_history(own_env.client, away, "eldercare_curtain_away_notice")

        handle = await start(
            own_env, eldercare, tq, ROUND_PROCESS, {"day": DAY.isoformat()}, case_ref="R20260302"
        )
        # The round ends once its batches run; the batches hold the checks.
        result = CurtainRoundResult.model_validate(await handle.result())
        await record_history(own_env.client, handle, "eldercare_curtain_round")
        assert result.watched == len(watched) and result.suppressed == 1
        assert result.checks_started == len(watched) - 1
        assert result.batches == -(-len(watched) // 10)

        expected = {check_case_ref(e, DAY) for e, _ in watched[1:]}
        for _ in range(300):
            tasks = _check_tasks(engine)
            if set(tasks) == expected:
                break
            await own_env.sleep(0.05)
        assert set(tasks) == expected  # every check open, none for the away elder
        batch = own_env.client.get_workflow_handle(_batch_id(DAY, 1))
        first = tasks[check_case_ref(reporting_elder, DAY)]
        assert first.workflow_id == batch.id and first.community and first.role == "volunteer"
        # The first page of ten held the away elder: nine checks, nine volunteers told (the
        # notices follow the tasks, activities of their own: wait for them under load).
        for _ in range(300):
            sent = [n for n in notifications_of(engine, batch.id) if n[2] == "curtain_check_due"]
            if len(sent) >= 9:
                break
            await asyncio.sleep(0.05)
        assert len(sent) == 9 and all(n[1].startswith("V") for n in sent)

        # The volunteer reports open curtains, addressed to the batch of the notice.
        to = await event(
            own_env,
            eldercare,
            tq,
            "eldercare.curtain_report",
            _report(reporting_elder, volunteer, "open", batch=1),
        )
        assert to == batch.id
        done = await wait_for_task(engine, batch.id, first.step_key, status="done")
        assert done.completed_by == f"volunteer:{volunteer}"
        # Staff complete another check from the inbox: the task row names the batch.
        inbox = tasks[check_case_ref(inbox_elder, DAY)]
        await complete(own_env, engine, inbox.task_id, "volunteer", {"curtains": "open"})
        assert (await wait_for_task(engine, batch.id, inbox.step_key, status="done")).result

        # Closed curtains: the batch starts the elder's check process at the phone call.
        closed = tasks[check_case_ref(closed_elder, DAY)]
        await event(
            own_env,
            eldercare,
            tq,
            "eldercare.curtain_report",
            _report(closed_elder, closed_volunteer, "closed", batch=1),
        )
        check_id = keyed_id(CHECK_PROCESS, DISTRICT, check_case_ref(closed_elder, DAY))
        call = await wait_for_task(engine, check_id, "call")
        assert call.role == "volunteer"
        assert (await wait_for_task(engine, batch.id, closed.step_key, status="done")).result
        await complete(
            own_env, engine, call.task_id, "volunteer", {"reached": True, "elder_ok": True}
        )
        check = own_env.client.get_workflow_handle(check_id)
        outcome = CurtainCheckResult.model_validate(await check.result())
        await record_history(own_env.client, check, "eldercare_curtain_check_escalated")

        # Every other volunteer reports, so every batch ends within the test.
        for elder, pair in watched[4:]:
            # Pages of ten count the away elder too (it is reported as suppressed).
            number = 1 + watched.index((elder, pair)) // 10
            await event(
                own_env,
                eldercare,
                tq,
                "eldercare.curtain_report",
                _report(elder, pair, "open", batch=number),
            )
        ends = [
            CurtainBatchResult.model_validate(
                await own_env.client.get_workflow_handle(_batch_id(DAY, n)).result()
            )
            for n in range(1, result.batches + 1)
        ]
        await record_history(own_env.client, batch, "eldercare_curtain_batch_one_waiter")
    assert outcome.outcome == "reached_by_phone"
    assert [k for _, k in records_of(engine, check_id)] == ["curtains_closed", "reached_by_phone"]
    assert sum(b.opened for b in ends) == len(watched) - 1
    assert sum(b.escalated for b in ends) == 1
    assert not _check_tasks(engine)
    # The check's id holds its case key: neither registry id nor name.
    assert REGISTRY_ID.search(check_id) is None
    assert check_id == keyed_id(CHECK_PROCESS, DISTRICT, check_case_ref(closed_elder, DAY))


async def test_batch_without_a_report_by_the_deadline_escalates_to_a_call(
    own_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    day = DAY + timedelta(days=4)
    with Session(engine) as session:
        people = {p.id: p.community_code for p in session.exec(select(Person)).all()}
    (silent, silent_volunteer), (reporter, volunteer) = _watched(engine, disabled=False)[:2]
    entries = [
        WatchEntry(elder_ref=e, volunteer_ref=v, community=people[e] or "")
        for e, v in ((silent, silent_volunteer), (reporter, volunteer))
    ]
    spec = eldercare.process(CHECK_PROCESS)
    check = ChildStart(
        workflow_type=spec.workflow_type,
        module=spec.module,
        title_zh=spec.title_zh,
        plan=eldercare.resolve_plan(CHECK_PROCESS, DISTRICT),
    )
    async with running_worker(own_env.client, eldercare, engine=engine) as worker:
        now = await own_env.get_current_time()
        batch = await own_env.client.start_workflow(
            CurtainBatchWorkflow.run,
            CurtainBatchInput(
                round_workflow_id="test-round",
                batch_ref=batch_case_ref(day, 1),
                district=DISTRICT,
                day=day,
                due_by=now + timedelta(minutes=90),
                check=check,
                entries=entries,
            ),
            id=_batch_id(day, 1),
            task_queue=worker.task_queue,
        )
        key = f"check.{check_case_ref(silent, day)}"
        await wait_for_task(engine, batch.id, key)
        await event(
            own_env,
            eldercare,
            worker.task_queue,
            "eldercare.curtain_report",
            _report(reporter, volunteer, "open", day, batch=1),
        )
        await own_env.sleep(timedelta(minutes=91))  # the batch's one deadline passes
        assert (await wait_for_task(engine, batch.id, key, status="expired")).role == "volunteer"
        check_id = keyed_id(CHECK_PROCESS, DISTRICT, check_case_ref(silent, day))
        call = await wait_for_task(engine, check_id, "call")
        await complete(own_env, engine, call.task_id, "volunteer", {"reached": False})
        door = await wait_for_task(engine, check_id, "door")
        assert door.role == "grid_worker"
        await complete(own_env, engine, door.task_id, "grid_worker", {"finding": "fine"})
        result = CurtainCheckResult.model_validate(
            await own_env.client.get_workflow_handle(check_id).result()
        )
        ended = CurtainBatchResult.model_validate(await batch.result())
        await record_history(own_env.client, batch, "eldercare_curtain_batch_no_report_one_waiter")
    assert ended == CurtainBatchResult(opened=2, curtains_open=1, escalated=1)
    assert result.outcome == "fine_at_door"
    assert [k for _, k in records_of(engine, check_id)] == [
        "no_report",
        "call_unanswered",
        "door_fine",
    ]


async def test_closed_curtains_call_door_emergency_opens_green_channel(
    own_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    day = DAY + timedelta(days=1)
    elder, volunteer = _watched(engine, disabled=True)[0]
    async with running_worker(own_env.client, eldercare, engine=engine) as worker:
        tq = worker.task_queue
        handle = await start(
            own_env,
            eldercare,
            tq,
            CHECK_PROCESS,
            {"elder_ref": elder, "volunteer_ref": volunteer, "day": day.isoformat()},
            case_ref=check_case_ref(elder, day),
        )
        await wait_for_task(engine, handle.id, "check")
        await event(
            own_env,
            eldercare,
            tq,
            "eldercare.curtain_report",
            {
                "district": DISTRICT,
                "case_ref": check_case_ref(elder, day),
                "curtains": "closed",
                "reporter_ref": volunteer,
            },
        )
        call = await wait_for_task(engine, handle.id, "call")
        assert call.role == "volunteer"
        await complete(own_env, engine, call.task_id, "volunteer", {"reached": False})
        door = await wait_for_task(engine, handle.id, "door")
        assert door.role == "grid_worker"
        await complete(own_env, engine, door.task_id, "grid_worker", {"finding": "no_response"})
        result = CurtainCheckResult.model_validate(await handle.result())
        await record_history(own_env.client, handle, "eldercare_curtain_check_emergency")

        assert result.outcome == "emergency"
        gc_id = keyed_id(GREEN_CHANNEL_PROCESS, DISTRICT, f"{check_case_ref(elder, day)}.gc")
        assert result.green_channel_workflow_id == gc_id
        triage = await wait_for_task(engine, gc_id, "triage")  # the green channel is running
        assert triage.role == "doctor"
        # Nobody acts on the green channel here: it runs through its deadlines and closes.
        gc = await result_of(own_env, own_env.client.get_workflow_handle(gc_id))
        assert gc["outcome"] == "no_hospital" and gc["triage_level"] == "urgent"

    assert [k for _, k in records_of(engine, handle.id)] == [
        "curtains_closed",
        "call_unanswered",
        "door_no_response",
        "curtain_emergency",
    ]
    sent = notifications_of(engine, handle.id)
    assert ("emergency.district", "role:district_admin", "curtain_emergency_district") in sent
    assert any(n[0] == "emergency.family.0" for n in sent)


async def test_no_report_by_deadline_escalates_to_a_call(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    day = DAY + timedelta(days=2)
    elder, volunteer = _watched(engine, disabled=False)[0]
    async with running_worker(ts_env.client, eldercare, engine=engine) as worker:
        handle = await start(
            ts_env,
            eldercare,
            worker.task_queue,
            CHECK_PROCESS,
            {"elder_ref": elder, "volunteer_ref": volunteer, "day": day.isoformat()},
            case_ref=check_case_ref(elder, day),
        )
        await wait_for_task(engine, handle.id, "check")
        await ts_env.sleep(timedelta(minutes=91))
        assert (await wait_for_task(engine, handle.id, "check", status="expired")).role
        call = await wait_for_task(engine, handle.id, "call")
        await complete(
            ts_env, engine, call.task_id, "volunteer", {"reached": True, "elder_ok": True}
        )
        result = CurtainCheckResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "eldercare_curtain_check_reached_by_phone")
    assert result.outcome == "reached_by_phone"
    assert [k for _, k in records_of(engine, handle.id)] == ["no_report", "reached_by_phone"]


async def test_away_notice_filed_after_the_round_ends_the_escalation(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    day = DAY + timedelta(days=3)
    elder, volunteer = _watched(engine, disabled=False)[1]
    async with running_worker(ts_env.client, eldercare, engine=engine) as worker:
        tq = worker.task_queue
        handle = await start(
            ts_env,
            eldercare,
            tq,
            CHECK_PROCESS,
            {"elder_ref": elder, "volunteer_ref": volunteer, "day": day.isoformat()},
            case_ref=check_case_ref(elder, day),
        )
        # A staff member files the notice from the CLI (a small process of its own).
        notice = await start(
            ts_env,
            eldercare,
            tq,
            AWAY_PROCESS,
            {
                "elder_ref": elder,
                "away_from": day.isoformat(),
                "away_until": day.isoformat(),
                "filed_by": "staff",
            },
        )
        await notice.result()
        check = await wait_for_task(engine, handle.id, "check")
        await complete(ts_env, engine, check.task_id, "volunteer", {"curtains": "closed"})
        result = CurtainCheckResult.model_validate(await handle.result())
        await record_history(ts_env.client, handle, "eldercare_curtain_check_away")
    assert result.outcome == "away"
    assert [k for _, k in records_of(engine, handle.id)] == ["curtains_closed", "away_notice"]
