"""Fault (d): the activities' PostgreSQL refuses connections for a while; the activities retry
and succeed once it is back, every effect exactly once, nothing half-written.

The worker reaches PostgreSQL through a TCP proxy (:class:`tests.faults.outage.TcpProxy`);
the test reads and writes the database directly, as the staff service would. While the
proxy is down, ten deliveries are started (their first write cannot happen) and the drop-off
tasks of ten earlier ones are completed (the Update is accepted, the task row cannot be
closed). Every one of the twenty is seen retrying a refused activity; nothing of theirs is
written. Once the proxy is up again, all twenty finish with exactly the rows a delivery
writes, and the worker has said once that it lost the database and once that it is back.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select
from structlog.testing import capture_logs
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.engine import make_engine
from careflow.db.tables import CaseRecord, Notification, Task
from careflow.models import CompleteTaskInput
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from plugins.engine.delivery import DeliveryResult
from plugins.engine.delivery.forms import DropoffForm, HandoverForm
from tests.db_fixtures import PG_URL_ENV
from tests.faults.outage import HUNG_AFTER, TcpProxy, wait_for, wait_idle, wait_until
from worker.presence import worker_presence
from worker.testing import running_worker

pytestmark = pytest.mark.skipif(
    not os.environ.get(PG_URL_ENV),
    reason=f"the outage is PostgreSQL refusing connections: set {PG_URL_ENV} (CI does)",
)

EARLY = 10
"""Deliveries started while the database is up, whose drop-offs are completed while down."""
LATE = 10
"""Deliveries started while the database is down."""
BEAT = 0.25
"""The worker's presence beat in seconds (a minute in production): it must see the outage."""
DISTRICT = "yingze"
DROPOFF = {"items_match": True}
HANDOVER = {"handed_over": True, "receipt_ref": "R-1"}
REQUEST: dict[str, Any] = {
    "recipient_ref": "P00012",
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
    "purpose": "micro_wish",
}
RETRIES = 2
"""The attempt every pending activity must have reached before the database comes back:
it failed at least once on the refused connection and was retried."""


@pytest.fixture
def direct(pg_database_url: str) -> Iterator[Engine]:
    """The test's own engine on the fresh PostgreSQL database, not through the proxy."""
    eng = make_engine(pg_database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def proxy(pg_database_url: str) -> Iterator[TcpProxy]:
    """A proxy to the test database's server, up."""
    url = make_url(pg_database_url)
    forwarding = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    forwarding.up()
    try:
        yield forwarding
    finally:
        forwarding.close()


@pytest.fixture
def proxied(pg_database_url: str, proxy: TcpProxy) -> Iterator[Engine]:
    """The worker's engine: the same database, reached through the proxy."""
    url = make_url(pg_database_url).set(host="127.0.0.1", port=proxy.port)
    eng = make_engine(url.render_as_string(hide_password=False))
    yield eng
    eng.dispose()


def _rows(engine: Engine) -> tuple[list[Task], list[CaseRecord], list[Notification]]:
    with Session(engine) as session:
        return (
            list(session.exec(select(Task)).all()),
            list(session.exec(select(CaseRecord)).all()),
            list(session.exec(select(Notification)).all()),
        )


def _tasks(engine: Engine, step_key: str, status: str) -> list[Task]:
    return [t for t in _rows(engine)[0] if (t.step_key, t.status) == (step_key, status)]


async def _start(client: Client, registry: PluginRegistry, task_queue: str, n: int) -> list[str]:
    started = await asyncio.gather(
        *(
            service.start_process(
                client,
                registry,
                process="delivery",
                district=DISTRICT,
                request=REQUEST,
                started_by="staff:S0001",
                task_queue=task_queue,
            )
            for _ in range(n)
        )
    )
    return sorted(s.workflow_id for s in started)


def _refused(err: BaseException | None) -> bool:
    """Whether the failure, or one it wraps, is the driver's refused connection.

    The server keeps only the head of a large failure (``Failure exceeds size limit``, the
    activity's failure as its cause), so the chain is searched.
    """
    while err is not None:
        if isinstance(err, ApplicationError) and err.type == "OperationalError":
            return True
        err = err.__cause__
    return False


async def _retrying(client: Client, workflow_ids: list[str]) -> dict[str, int]:
    """How many pending activities are in which state: ``refused, attempt≥RETRIES`` for one
    that failed on the refused connection and is being retried."""
    described = await asyncio.gather(
        *(client.get_workflow_handle(wid).describe() for wid in workflow_ids)
    )
    seen: Counter[str] = Counter()
    for d in described:
        for pending in d.raw_description.pending_activities:
            state = "first attempt"
            if pending.HasField("last_failure"):
                # Failures are encrypted like payloads: the client's converter reads them.
                err = await client.data_converter.decode_failure(pending.last_failure)
                state = "refused" if _refused(err) else type(err).__name__
            seen[f"{state}, attempt≥{RETRIES}" if pending.attempt >= RETRIES else state] += 1
    return dict(seen)


async def _complete_all(
    client: Client, engine: Engine, step_key: str, role: str, data: dict[str, Any]
) -> None:
    await asyncio.gather(
        *(
            service.complete_task(
                client, engine, task_id=t.task_id, actor="S0001", role=role, data=data
            )
            for t in _tasks(engine, step_key, "open")
        )
    )


async def test_activities_retry_through_a_database_outage_and_write_everything_once(
    dev_env: WorkflowEnvironment, direct: Engine, proxied: Engine, proxy: TcpProxy
) -> None:
    client = dev_env.client
    registry = PluginRegistry.build([engine_plugin])
    with capture_logs() as logs:
        async with (
            running_worker(client, registry, engine=proxied) as worker,
            worker_presence(
                proxied,
                registry,
                task_queue=worker.task_queue,
                interval=timedelta(seconds=BEAT),
                temporal_health=client.service_client.check_health,
            ),
        ):
            early = await _start(client, registry, worker.task_queue, EARLY)
            await wait_until(
                "the early drop-off tasks",
                lambda: len(_tasks(direct, "dropoff", "open")),
                EARLY,
                timeout=HUNG_AFTER,
            )
            await wait_idle(client, early, timeout=HUNG_AFTER)

            proxy.down()
            late = await _start(client, registry, worker.task_queue, LATE)
            # Staff complete the early drop-offs: accepted by the process, not yet recorded.
            answers = await asyncio.gather(
                *(
                    service.submit_completion(
                        client,
                        workflow_id=t.workflow_id,
                        update=CompleteTaskInput(
                            task_id=t.task_id,
                            actor="S0001",
                            role="community_staff",
                            data=DROPOFF,
                        ),
                        accept_within=30,
                        reply_within=0.2,
                    )
                    for t in _tasks(direct, "dropoff", "open")
                )
            )
            assert answers == [None] * EARLY
            everyone = sorted(early + late)
            await wait_for(
                "every process to retry a refused activity",
                lambda: _retrying(client, everyone),
                {f"refused, attempt≥{RETRIES}": EARLY + LATE},
                timeout=HUNG_AFTER,
            )
            await wait_until(
                "the worker to notice",
                lambda: [e["event"] for e in logs if e["event"].startswith("worker.")],
                ["worker.database_lost"],
                timeout=HUNG_AFTER,
            )
            # Down, nothing moved: the early drop-offs are open, the late ones wrote nothing.
            tasks, records, notes = _rows(direct)
            assert sorted((t.workflow_id, t.step_key, t.status) for t in tasks) == [
                (wid, "dropoff", "open") for wid in early
            ]
            assert sorted((r.workflow_id, r.step_key) for r in records) == [
                (wid, "request") for wid in early
            ]
            assert notes == []

            proxy.up()
            await wait_until(
                "the early hand-overs and the late drop-offs",
                lambda: (
                    sorted(t.workflow_id for t in _tasks(direct, "handover", "open")),
                    sorted(t.workflow_id for t in _tasks(direct, "dropoff", "open")),
                ),
                (early, late),
                timeout=HUNG_AFTER,
            )
            await _complete_all(client, direct, "dropoff", "community_staff", DROPOFF)
            await wait_until(
                "every hand-over",
                lambda: len(_tasks(direct, "handover", "open")),
                EARLY + LATE,
                timeout=HUNG_AFTER,
            )
            await _complete_all(
                client,
                direct,
                "handover",
                "grid_worker",
                HANDOVER,
            )
            results = [
                DeliveryResult.model_validate(await client.get_workflow_handle(wid).result())
                for wid in everyone
            ]
            assert worker.is_running

    assert [r.outcome for r in results] == ["delivered"] * (EARLY + LATE)
    assert proxy.accepted > 0  # the worker really went through the proxy
    tasks, records, notes = _rows(direct)
    dropoff = DropoffForm.model_validate(DROPOFF).model_dump(mode="json")
    handover = HandoverForm.model_validate(HANDOVER).model_dump(mode="json")
    # Every task row closed with its outcome: status, who, when and the form's data together.
    assert sorted(
        (t.workflow_id, t.step_key, t.status, t.completed_by, t.closed_at is not None, t.result)
        for t in tasks
    ) == sorted(
        row
        for wid in everyone
        for row in (
            (wid, "dropoff", "done", "S0001", True, dropoff),
            (wid, "handover", "done", "S0001", True, handover),
        )
    )
    assert sorted((r.workflow_id, r.step_key, r.kind) for r in records) == sorted(
        row
        for wid in everyone
        for row in (
            (wid, "request", "delivery_requested"),
            (wid, "dropoff", "goods_dropped_off"),
            (wid, "confirmed", "goods_received"),
        )
    )
    assert sorted((n.workflow_id, n.step_key, n.template) for n in notes) == [
        (wid, "thanks", "delivery_thanks") for wid in everyone
    ]
    said = [(e["event"], e.get("error")) for e in logs if e["event"].startswith("worker.")]
    assert said == [("worker.database_lost", "OperationalError"), ("worker.database_back", None)]
