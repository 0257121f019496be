"""The retention process on the time-skipping server: dry run, a real run, open and recent
cases kept, counts and audit rows, params per district."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.protobuf.message import Message
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.api.common.v1 import Payload
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.contract import CarePlugin, DistrictProgramme
from careflow.db.engine import session_scope
from careflow.db.tables import AuditEntry, CaseRecord, Task
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.childcare.microwish.tables import CwWish
from plugins.engine import plugin as engine_plugin
from plugins.privacy import RETENTION_PROCESS, RetentionResult
from plugins.privacy import plugin as privacy_plugin
from plugins.privacy.tables import RetentionCase
from tests.conftest import record_history
from tests.plugins.privacy.support import (
    DISTRICT,
    canary_hits,
    child,
    elder,
    ledger,
    seed_case,
    snapshot,
)
from tests.support.inbox import wait_for_task
from worker.testing import running_worker

SCHEDULE = "workflow:launch-privacy.retention.wanbailin"


def _registry(*extra: CarePlugin) -> PluginRegistry:
    return PluginRegistry.build([engine_plugin, privacy_plugin, *extra])


async def _run(
    env: WorkflowEnvironment,
    registry: PluginRegistry,
    task_queue: str,
    *,
    dry_run: bool = False,
    history: str | None = None,
    case_ref: str | None = None,
) -> RetentionResult:
    started = await service.start_process(
        env.client,
        registry,
        process=RETENTION_PROCESS,
        district=DISTRICT,
        request={"dry_run": dry_run},
        started_by=SCHEDULE,
        case_ref=case_ref,
        task_queue=task_queue,
    )
    handle = env.client.get_workflow_handle(started.workflow_id)
    # Not result_of: the run has no timers, and a skip would fire the open deliveries' ones.
    result = RetentionResult.model_validate(await handle.result())
    if history is not None:
        # The first run: after a continue-as-new it is the one holding that command.
        first = env.client.get_workflow_handle(started.workflow_id, run_id=started.run_id)
        await record_history(env.client, first, history)
    return result


def _audit(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.action == "retention.run")
                .order_by(col(AuditEntry.id))
            ).all()
        )


async def _running_delivery(
    env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry, queue: str, person: str
) -> str:
    started = await service.start_process(
        env.client,
        registry,
        process="delivery",
        district=DISTRICT,
        request={"recipient_ref": person, "items": [{"category": "stationery"}]},
        started_by="S0001",
        task_queue=queue,
    )
    await wait_for_task(engine, started.workflow_id, "dropoff")
    return started.workflow_id


def _age(engine: Engine, workflow_id: str, *, status: str) -> None:
    """Make a real case's rows look years old, its task no longer open."""
    long_ago = datetime.now(UTC) - timedelta(days=4 * 365)
    with session_scope(engine) as session:
        session.execute(
            update(Task)
            .where(col(Task.workflow_id) == workflow_id)
            .values(status=status, opened_at=long_ago, closed_at=long_ago)
        )
        session.execute(
            update(CaseRecord)
            .where(col(CaseRecord.workflow_id) == workflow_id)
            .values(created_at=long_ago)
        )


def _rows_of(engine: Engine, workflow_id: str) -> list[str]:
    with Session(engine) as session:
        tasks = session.exec(select(Task).where(Task.workflow_id == workflow_id)).all()
        records = session.exec(
            select(CaseRecord).where(CaseRecord.workflow_id == workflow_id)
        ).all()
        return sorted(repr(row.model_dump()) for row in [*tasks, *records])


def _ledger_row(engine: Engine, workflow_id: str) -> RetentionCase | None:
    with Session(engine) as session:
        return session.exec(
            select(RetentionCase).where(RetentionCase.workflow_id == workflow_id)
        ).first()


async def test_dry_run_counts_what_a_run_would_do_and_changes_nothing(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine, registry = seeded_engine, _registry()
    reports = tmp_path / "reports"
    expired = seed_case(engine, purpose="health", person=elder(engine), ref="E1")
    ledger(engine, expired)
    wishes = seed_case(
        engine, purpose="microwish", person=child(engine), ref="C1", reports_dir=reports
    )
    ledger(engine, wishes)
    # Old rows, but the ledger never saw it close: a real run enters it as closed now.
    unlisted = seed_case(engine, purpose="places", person=child(engine, 1), ref="A1")
    before = snapshot(engine, reports)
    settings = Settings(data_dir=tmp_path)
    async with running_worker(ts_env.client, registry, engine=engine, settings=settings) as w:
        result = await _run(
            ts_env, registry, w.task_queue, dry_run=True, history="privacy_retention_dry_run"
        )

    assert snapshot(engine, reports) == before
    assert result.dry_run and result.checked == 3
    assert (result.waiting, result.still_open) == (1, 0)
    assert result.purposes["health"].cases == 1
    assert result.purposes["health"].rows == {
        "case_record.anonymised": 2,
        "ec_health_reading.deleted": 2,
        "notification.anonymised": 1,
        "task.anonymised": 1,
    }
    assert result.purposes["microwish"].rows == {
        "case_record.anonymised": 2,
        "cw_campaign.anonymised": 1,
        "cw_wish.anonymised": 1,
        "notification.anonymised": 1,
        "report_file.deleted": 2,
        "task.anonymised": 1,
    }
    assert result.purposes["places"].cases == 0
    rows = _audit(engine)
    assert {r.target for r in rows} == {"retention", "retention:health", "retention:microwish"}
    assert all(r.actor == "schedule:privacy.retention.wanbailin" for r in rows)
    assert all(r.district == DISTRICT and r.outcome == "accepted" for r in rows)
    health = next(r for r in rows if r.target == "retention:health")
    assert health.reason == "dry_run" and "ec_health_reading.deleted=2" in (health.message or "")
    assert unlisted.person not in "".join(r.message or "" for r in rows)


async def test_a_run_retains_closed_expired_cases_and_keeps_open_and_recent_ones(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine, registry = seeded_engine, _registry()
    reports = tmp_path / "reports"
    health = seed_case(engine, purpose="health", person=elder(engine), ref="E1")
    places = seed_case(engine, purpose="places", person=child(engine), ref="A1")
    wishes = seed_case(
        engine, purpose="microwish", person=child(engine, 1), ref="C1", reports_dir=reports
    )
    for case in (health, places, wishes):
        ledger(engine, case)
    # Closed within its period: a curtain check of last month.
    recent = seed_case(engine, purpose="curtain", person=elder(engine, 1), ref="E2.20261101")
    ledger(engine, recent, closed_at=datetime.now(UTC) - timedelta(days=30))
    assert canary_hits(engine, health.person, places.person, wishes.person)  # before: there
    settings = Settings(data_dir=tmp_path)
    async with running_worker(ts_env.client, registry, engine=engine, settings=settings) as w:
        # Still running in Temporal, whatever the ledger and the inbox say.
        running = await _running_delivery(
            ts_env, engine, registry, w.task_queue, elder(engine, 2).id
        )
        _age(engine, running, status="done")
        with session_scope(engine) as session:
            session.add(
                RetentionCase(
                    workflow_id=running,
                    district=DISTRICT,
                    purpose="delivery",
                    closed_at=datetime.now(UTC) - timedelta(days=4 * 365),
                    closed_how="completed",
                )
            )
        # Closed just now in Temporal, its rows years old: kept for its whole period.
        ended = await _running_delivery(ts_env, engine, registry, w.task_queue, elder(engine, 3).id)
        await ts_env.client.get_workflow_handle(ended).terminate("test: closed today")
        _age(engine, ended, status="cancelled")
        before = {wf: _rows_of(engine, wf) for wf in (running, ended, recent.workflow_id)}
        result = await _run(ts_env, registry, w.task_queue, history="privacy_retention_run")
        await ts_env.client.get_workflow_handle(running).terminate("test finished")

    assert not result.dry_run
    assert {p: r.cases for p, r in result.purposes.items() if r.cases} == {
        "health": 1,
        "microwish": 1,
        "places": 1,
    }
    assert result.purposes["places"].rows["cc_places_application.deleted"] == 1
    assert result.purposes["health"].rows["ec_health_reading.deleted"] == 2
    assert result.purposes["microwish"].rows["report_file.deleted"] == 2
    # Checked: the three retained, the running delivery (open) and the ended one (waiting);
    # the recent curtain check is not due, so Temporal is not even asked about it.
    assert (result.checked, result.still_open, result.waiting) == (5, 1, 1)
    for case in (health, places, wishes):
        assert canary_hits(engine, case.workflow_id, case.person) == {}, case
        assert _ledger_row(engine, case.workflow_id) is None
    assert sorted(p.name for p in reports.iterdir()) == [f"{wishes.workflow_id}.x.wishlist.r1.csv"]
    with Session(engine) as session:
        [wish] = session.exec(select(CwWish)).all()
        done = session.exec(
            select(RetentionCase).where(col(RetentionCase.retained_at).is_not(None))
        ).all()
        kept = session.exec(select(CaseRecord).where(col(CaseRecord.case_ref).startswith("anon")))
        kept_data = [r.data for r in kept.all()]
    # Statistics stay: community, category, status, tier colour, counts, codes.
    assert (wish.community, wish.category, wish.status) == (
        wishes.community,
        "school_bag",
        "delivered",
    )
    assert wish.child_ref.startswith("anon") and wish.description_zh is None
    assert {"tier": "red", "count": 3} in kept_data and {"outcome": "done"} in kept_data
    assert {r.purpose: r.retained_reason for r in done} == {
        "health": "period",
        "microwish": "period",
        "places": "period",
    }
    assert all(r.token and r.workflow_id is None and r.counts for r in done)
    # The open and recent cases are untouched; the ledger learnt when the recent one closed.
    assert {wf: _rows_of(engine, wf) for wf in before} == before
    assert canary_hits(engine, recent.person)["task"] == 1
    running_row = _ledger_row(engine, running)
    assert running_row is not None and running_row.closed_at is None
    ended_row = _ledger_row(engine, ended)
    assert ended_row is not None and ended_row.closed_how == "terminated"
    assert ended_row.closed_at is not None
    assert datetime.now(UTC) - ended_row.closed_at < timedelta(hours=1)
    rows = _audit(engine)
    # The time-skipping server reports no history retention (it keeps everything): flagged.
    assert {r.target: r.reason for r in rows} == {
        "retention": "namespace_retention_too_long",
        "retention:health": "period",
        "retention:microwish": "period",
        "retention:places": "period",
    }


async def test_a_district_sets_its_own_periods(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    shorter = CarePlugin(
        name="test_short_health",
        version="0.0.0",
        title_zh="测试",
        title_en="Test",
        programmes=(
            DistrictProgramme(district=DISTRICT, params={RETENTION_PROCESS: {"health": "P7D"}}),
        ),
    )
    registry = _registry(shorter)
    assert registry.params_for(RETENTION_PROCESS, DISTRICT)["health"] == "P7D"
    assert registry.params_for(RETENTION_PROCESS, "yingze")["health"] == "P2Y"
    week_old = seed_case(engine, purpose="health", person=elder(engine), ref="E1")
    ledger(engine, week_old, closed_at=datetime.now(UTC) - timedelta(days=8))
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        result = await _run(ts_env, registry, worker.task_queue)
    assert result.purposes["health"].period == timedelta(days=7)
    assert result.purposes["health"].cases == 1
    assert canary_hits(engine, week_old.person) == {}


def _payloads(message: Message) -> list[Payload]:
    """Every payload anywhere in a history event."""
    found: list[Payload] = []
    for _field, value in message.ListFields():
        items = (
            value if isinstance(value, Sequence) and not isinstance(value, str | bytes) else [value]
        )
        for item in items:
            if isinstance(item, Payload):
                found.append(item)
            elif isinstance(item, Message):
                found += _payloads(item)
    return found


async def test_result_and_decoded_history_hold_no_personal_data(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine, registry = seeded_engine, _registry()
    person = elder(engine)
    case = seed_case(engine, purpose="health", person=person, ref="E1")
    ledger(engine, case)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process=RETENTION_PROCESS,
            district=DISTRICT,
            request={},
            started_by=SCHEDULE,
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        result = await handle.result()
        history = await handle.fetch_history()
    codec = ts_env.client.data_converter.payload_codec
    assert codec is not None
    payloads = [p for event in history.events for p in _payloads(event)]
    decoded = await codec.decode(payloads)
    text = " ".join(p.data.decode("utf-8", "replace") for p in decoded) + str(result)
    assert '"health"' in text and "ec_health_reading.deleted" in text  # it did decode
    for canary in (case.workflow_id, person.id, person.name, person.phone or person.name):
        assert canary not in text


async def test_a_long_run_continues_as_new_and_keeps_its_counts(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    small = CarePlugin(
        name="test_small_batches",
        version="0.0.0",
        title_zh="测试",
        title_en="Test",
        programmes=(
            DistrictProgramme(
                district=DISTRICT,
                params={RETENTION_PROCESS: {"batch_size": 1, "max_history": 100}},
            ),
        ),
    )
    registry = _registry(small)
    cases = [
        seed_case(engine, purpose="health", person=elder(engine, n), ref=f"E{n}") for n in range(24)
    ]
    for case in cases[:20]:
        ledger(engine, case)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        result = await _run(
            ts_env, registry, worker.task_queue, history="privacy_retention_continued_as_new"
        )
    assert result.runs > 1
    assert result.purposes["health"].cases == 20
    assert result.purposes["health"].rows["ec_health_reading.deleted"] == 40
    # The four the ledger did not know were entered by this run, as closed now: waiting.
    assert (result.checked, result.waiting) == (24, 4)
    assert len(_audit(engine)) == 2  # the run and its one purpose, once despite the new runs
