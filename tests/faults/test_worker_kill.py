"""``careflow worker`` killed with SIGKILL three times under 100 running processes.

Deliveries and green channels are driven as staff drive them (every task completed as it
opens) while the worker is killed at seeded random moments among the completions and
started again. Every process must close COMPLETED with its outcome, and every effect must
exist exactly once: a task row per task, a case record per record, an outbox row per notice,
a booking row per booking, counted per workflow id and step key.

``CAREFLOW_FAULT_SEED`` repeats a run; ``CAREFLOW_LONG_FAULTS=1`` runs 300 processes with
six kills.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from tests.faults.workload import (
    KillPlan,
    WorkerProcess,
    Workload,
    worker_env,
)

LONG = os.environ.get("CAREFLOW_LONG_FAULTS") == "1"
PROCESSES = 300 if LONG else 100
KILLS = 6 if LONG else 3
DRIVE_WITHIN = 900.0 if LONG else 300.0
"""A bound on the whole run, far above what it takes: a hang fails with what is open."""


def fault_seed() -> int:
    """The run's seed: ``CAREFLOW_FAULT_SEED`` to repeat one, else a fresh one."""
    given = os.environ.get("CAREFLOW_FAULT_SEED")
    return int(given) if given else random.SystemRandom().randrange(1 << 30)


async def _kill_and_restart(
    workload: Workload, plan: KillPlan, env: dict[str, str], workers: list[WorkerProcess]
) -> None:
    """Kill the worker at each of the plan's moments and start a new one at once."""
    for n, (after, delay) in enumerate(zip(plan.after, plan.delays, strict=True), start=1):
        while workload.accepted < after:
            await asyncio.sleep(0.02)
        await asyncio.sleep(delay)
        workload.in_flight_at_kills.append(workload.in_flight)
        workers[-1].kill()
        workers.append(WorkerProcess(env, name=f"worker {n + 1}"))
        await workers[-1].wait_ready()


async def test_worker_sigkilled_three_times_leaves_every_effect_exactly_once(
    dev_env: WorkflowEnvironment, database_url: str, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    queue = f"faults-kill-{uuid.uuid4().hex[:8]}"
    env = worker_env(dev_env, database_url=database_url, task_queue=queue, data_dir=tmp_path)
    run_seed = fault_seed()
    workers = [WorkerProcess(env, name="worker 1")]
    began = time.monotonic()
    try:
        await workers[0].wait_ready()
        workload = Workload(dev_env.client, engine, queue, count=PROCESSES)
        await workload.start_all()
        started_in = time.monotonic() - began
        plan = KillPlan.draw(run_seed, completions=workload.completions, kills=KILLS)
        killer = asyncio.create_task(_kill_and_restart(workload, plan, env, workers))
        await workload.drive_naming_the_seed(within=DRIVE_WITHIN, seed=run_seed, workers=workers)
        driven_in = time.monotonic() - began
        await killer
        statuses = await workload.wait_closed(within=120)
    finally:
        for worker in workers:
            worker.stop()
    wall = time.monotonic() - began
    figures = (
        f"seed {run_seed}, {PROCESSES} processes, kills after {plan.after} completions "
        f"({workload.in_flight_at_kills} in flight), {workload.resent} resent, {wall:.0f} s "
        f"(started by {started_in:.0f} s, tasks done by {driven_in:.0f} s)"
    )
    print(figures)

    assert len(workers) == KILLS + 1
    assert all(w.proc.returncode == -9 for w in workers[:-1]), figures
    await workload.assert_every_effect_once(statuses, figures=figures)
