"""Fault (b): the Temporal dev server stops and restarts under processes waiting on timers and
tasks; the same worker carries on by itself, every timer fires once, every task completes.

Twenty deliveries wait on their drop-off task when the server is stopped with SIGTERM; their
due time passes while it is down. Restarted on the same state file and port, the server fires
the overdue timers: each task escalates exactly once and staff complete them. The hand-overs
that follow live through a SIGKILL of the server the same way. The worker is one object for
the whole test, never rebuilt, and says once per outage that it lost Temporal and got it back.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from structlog.testing import capture_logs
from temporalio.client import Client

from careflow import service
from careflow.db.tables import CaseRecord, Notification, Task
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from careflow.temporal import connect
from plugins.engine import plugin as engine_plugin
from plugins.engine.delivery import DeliveryResult
from tests.faults.outage import HUNG_AFTER, DevServerProcess, free_port, wait_idle, wait_until
from worker.presence import worker_presence
from worker.testing import running_worker

PROCESSES = 20
DUE = timedelta(seconds=15)
"""First due time of the drop-off and the hand-over: long enough to open twenty of them and
stop the server before any passes on a loaded CI machine, short enough for CI."""
LATER = timedelta(hours=1)
"""Due time of every escalation level: none passes during the test."""
BEAT = timedelta(milliseconds=250)
"""The worker's presence beat (a minute in production): it must see each outage."""
DISTRICT = "yingze"
REQUEST: dict[str, Any] = {
    "recipient_ref": "P00012",
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
    "purpose": "micro_wish",
}


@pytest.fixture
def delivery_registry() -> PluginRegistry:
    """The engine plugin alone, with deliveries in Yingze due in seconds, not days."""
    return PluginRegistry.build(
        [engine_plugin],
        overrides={
            DISTRICT: {
                "delivery": {
                    "dropoff_due": DUE,
                    "dropoff_escalation_due": LATER,
                    "handover_due": DUE,
                    "staff_escalation_due": LATER,
                    "admin_escalation_due": LATER,
                }
            }
        },
    )


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[DevServerProcess]:
    """A dev server with its state in ``tmp_path``, running; killed at the end."""
    proc = DevServerProcess(
        db_file=tmp_path / "temporal.db", port=free_port(), log_file=tmp_path / "temporal.log"
    )
    await proc.start()
    try:
        yield proc
    finally:
        proc.close()


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Everything careflow logs through structlog during the test."""
    with capture_logs() as captured:
        yield captured


def _tasks(engine: Engine) -> list[Task]:
    with Session(engine) as session:
        return list(session.exec(select(Task)).all())


def _states(engine: Engine, step_key: str) -> dict[tuple[str, int], int]:
    """(status, escalation level) → how many ``step_key`` tasks are in it.

    Polled while the worker runs on the same event loop: two columns, not the rows with
    their form schemas.
    """
    query = select(Task.status, Task.escalation_level).where(Task.step_key == step_key)
    with Session(engine) as session:
        return dict(Counter(session.exec(query).all()))


async def _outage(
    server: DevServerProcess,
    client: Client,
    engine: Engine,
    ids: list[str],
    step_key: str,
    sig: signal.Signals,
    logs: list[MutableMapping[str, Any]],
) -> None:
    """Stop the server while the ``step_key`` tasks wait on their first due time; restart it
    once every due time has passed and the worker has noticed the loss.

    At least one task must still wait on its due time when the server stops: its timer
    fires, or its escalation runs, only after the restart.
    """
    # Stop only once nothing is in flight: a task row written by an activity whose completion
    # the server never got would only be retried after the activity's 30 s timeout.
    await wait_idle(client, ids, timeout=HUNG_AFTER)
    # SIGTERM is a clean shutdown (status 0); SIGKILL leaves no chance to write anything.
    assert server.stop(sig) == (0 if sig == signal.SIGTERM else -sig)
    # The server is down: none of these can escalate before it is back. (On a machine so
    # loaded that a first task passed its due time before the last one opened, some have
    # escalated already; the test asserts that some waited, and that all escalate once.)
    waiting = [t for t in _tasks(engine) if (t.step_key, t.escalation_level) == (step_key, 0)]
    assert waiting, f"every {step_key} task escalated before the server stopped: nothing tested"
    due = max(t.due_at for t in waiting)
    lost = len([e for e in logs if e["event"] == "worker.temporal_lost"])
    await wait_until(
        "the worker to notice Temporal is gone",
        lambda: len([e for e in logs if e["event"] == "worker.temporal_lost"]),
        lost + 1,
        timeout=HUNG_AFTER,
    )
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.5)
    await server.start()


async def _complete_all(
    client: Client, engine: Engine, step_key: str, role: str, data: dict[str, Any]
) -> None:
    open_ = [t for t in _tasks(engine) if t.step_key == step_key and t.status == "open"]
    assert len(open_) == PROCESSES
    await asyncio.gather(
        *(
            service.complete_task(
                client, engine, task_id=t.task_id, actor="S0001", role=role, data=data
            )
            for t in open_
        )
    )


async def test_processes_resume_after_the_dev_server_is_stopped_and_restarted(
    server: DevServerProcess,
    engine: Engine,
    delivery_registry: PluginRegistry,
    logs: list[MutableMapping[str, Any]],
) -> None:
    client = await connect(Settings(temporal_address=server.address))
    async with (
        running_worker(client, delivery_registry, engine=engine) as worker,
        worker_presence(
            engine,
            delivery_registry,
            task_queue=worker.task_queue,
            interval=BEAT,
            temporal_health=client.service_client.check_health,
        ),
    ):
        started = await asyncio.gather(
            *(
                service.start_process(
                    client,
                    delivery_registry,
                    process="delivery",
                    district=DISTRICT,
                    request=REQUEST,
                    started_by="staff:S0001",
                    task_queue=worker.task_queue,
                )
                for _ in range(PROCESSES)
            )
        )
        ids = sorted(s.workflow_id for s in started)
        await wait_until(
            "every drop-off task",
            lambda: sum(_states(engine, "dropoff").values()),
            PROCESSES,
            timeout=HUNG_AFTER,
        )

        # SIGTERM while the drop-off timers are pending; they come due while it is down.
        await _outage(server, client, engine, ids, "dropoff", signal.SIGTERM, logs)
        await wait_until(
            "every drop-off task to escalate to the district admin",
            lambda: _states(engine, "dropoff"),
            {("open", 1): PROCESSES},
            timeout=HUNG_AFTER,
        )
        # Escalated, the task is the district admin's (level 1, due in an hour).
        await _complete_all(client, engine, "dropoff", "district_admin", {"items_match": True})
        await wait_until(
            "every hand-over task",
            lambda: sum(_states(engine, "handover").values()),
            PROCESSES,
            timeout=HUNG_AFTER,
        )

        # SIGKILL: no shutdown at all, the state file as the kill left it.
        await _outage(server, client, engine, ids, "handover", signal.SIGKILL, logs)
        await wait_until(
            "every hand-over task to escalate to community staff",
            lambda: _states(engine, "handover"),
            {("open", 1): PROCESSES},
            timeout=HUNG_AFTER,
        )
        await _complete_all(
            client,
            engine,
            "handover",
            "community_staff",
            {"handed_over": True, "receipt_ref": "R-1"},
        )
        results = [
            DeliveryResult.model_validate(await client.get_workflow_handle(s.workflow_id).result())
            for s in started
        ]
        assert worker.is_running  # the same worker, never restarted

    assert [r.outcome for r in results] == ["delivered"] * PROCESSES
    assert len(set(ids)) == PROCESSES
    with Session(engine) as session:
        tasks = session.exec(select(Task)).all()
        records = session.exec(select(CaseRecord)).all()
        notes = session.exec(select(Notification)).all()
    # Per process: each task escalated exactly once and was done by the escalated role.
    assert sorted(
        (t.workflow_id, t.step_key, t.status, t.escalation_level, t.completed_role) for t in tasks
    ) == sorted(
        row
        for wid in ids
        for row in (
            (wid, "dropoff", "done", 1, "district_admin"),
            (wid, "handover", "done", 1, "community_staff"),
        )
    )
    assert sorted((n.workflow_id, n.step_key, n.template) for n in notes) == sorted(
        row
        for wid in ids
        for row in (
            (wid, "dropoff.escalated.1", "task_escalated"),
            (wid, "handover.escalated.1", "task_escalated"),
            (wid, "thanks", "delivery_thanks"),
        )
    )
    assert sorted((r.workflow_id, r.step_key, r.kind) for r in records) == sorted(
        row
        for wid in ids
        for row in (
            (wid, "request", "delivery_requested"),
            (wid, "dropoff", "goods_dropped_off"),
            (wid, "confirmed", "goods_received"),
        )
    )
    said = [e["event"] for e in logs if e["event"].startswith("worker.")]
    assert said == [
        "worker.temporal_lost",
        "worker.temporal_back",
        "worker.temporal_lost",
        "worker.temporal_back",
    ]
