"""Two ``careflow worker`` processes share one task queue against PostgreSQL.

The same 100 deliveries and green channels as the SIGKILL test, driven the same way, served
by two workers at once; one of them is killed once at a seeded random moment and started
again. Every process must close COMPLETED and every effect exist exactly once (per workflow
id and step key), and both workers must have run activities (the histories name the worker
identity of each activity attempt). Skipped without ``CAREFLOW_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from careflow.db.engine import make_engine
from tests.faults.test_worker_kill import DRIVE_WITHIN, PROCESSES, fault_seed
from tests.faults.workload import (
    KillPlan,
    WorkerProcess,
    Workload,
    activity_identities,
    seed,
    worker_env,
)


@pytest.fixture
def pg_engine(pg_database_url: str) -> Iterator[Engine]:
    """The fresh PostgreSQL database of this test, seeded with the demo registry."""
    engine = make_engine(pg_database_url)
    seed(engine)
    yield engine
    engine.dispose()


async def test_two_workers_on_postgresql_share_the_queue_and_each_effect_happens_once(
    dev_env: WorkflowEnvironment, pg_database_url: str, pg_engine: Engine, tmp_path: Path
) -> None:
    queue = f"faults-two-{uuid.uuid4().hex[:8]}"
    env = worker_env(dev_env, database_url=pg_database_url, task_queue=queue, data_dir=tmp_path)
    run_seed = fault_seed()
    first, second = WorkerProcess(env, name="worker A"), WorkerProcess(env, name="worker B")
    workers = [first, second]
    began = time.monotonic()
    try:
        await asyncio.gather(first.wait_ready(), second.wait_ready())
        workload = Workload(dev_env.client, pg_engine, queue, count=PROCESSES)
        await workload.start_all()
        plan = KillPlan.draw(run_seed, completions=workload.completions, kills=1)

        async def kill_first_once() -> None:
            while workload.accepted < plan.after[0]:
                await asyncio.sleep(0.02)
            await asyncio.sleep(plan.delays[0])
            workload.in_flight_at_kills.append(workload.in_flight)
            first.kill()
            workers.append(WorkerProcess(env, name="worker A again"))
            await workers[-1].wait_ready()

        killer = asyncio.create_task(kill_first_once())
        await workload.drive_naming_the_seed(within=DRIVE_WITHIN, seed=run_seed, workers=workers)
        await killer
        statuses = await workload.wait_closed(within=120)
    finally:
        for worker in workers:
            worker.stop()
    wall = time.monotonic() - began
    figures = (
        f"seed {run_seed}, {PROCESSES} processes, worker A killed after {plan.after} "
        f"completions ({workload.in_flight_at_kills} in flight), {workload.resent} resent, "
        f"{wall:.0f} s"
    )

    assert first.proc.returncode == -9, figures
    await workload.assert_every_effect_once(statuses, figures=figures)
    ran = await activity_identities(dev_env.client, [s.workflow_id for s in workload.started])
    per_worker = {w.name: ran[w.identity] for w in workers}
    print(f"{figures}; activity attempts per worker {per_worker}")
    assert sum(ran.values()) == sum(per_worker.values()), (ran, per_worker)
    assert per_worker["worker A"] > 0 and per_worker["worker B"] > 0, per_worker
