"""Open-processes benchmark: 20,000 processes waiting at once on human tasks and timers.

A district's tier plans and health monitors stay open for months, each waiting on a task (工单)
and a timer. This benchmark opens that many of the same shape on the embedded stack (a dev
server, a worker in this process, a SQLite app database): N curtain checks started by staff
(``eldercare.curtain_check``; each opens its check task and waits on it under its due timer
and the escalation timers behind it). It measures the time until every task is open, the
worker's memory with them all open, and the latency of a task completion among them: K random
tasks completed one after another through ``careflow.service.complete_task`` as staff would,
each timed until the row is recorded closed. With a sticky cache smaller than N most
completions hit an evicted workflow, which the worker first replays from its history.

Each cache size runs in a fresh process (peak memory is per process); ``--caches`` runs them
one after another and prints a table of memory against completion p95.

    .venv/bin/python bench/open_processes.py [--processes 20000] [--complete 200]
        [--caches 500,2000,20000] [--workflow-tasks 100] [--activities 64]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import multiprocessing
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import structlog
from _usage import Span, current_rss_mib, peak_rss_mib
from curtain_round import DAY, DISTRICT, seed
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio.client import Client

from careflow import service
from careflow.db import make_engine, upgrade
from careflow.db.tables import Person, Task
from careflow.models import TaskStatus
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.curtain import CHECK_PROCESS, check_case_ref
from plugins.engine import plugin as engine_plugin
from plugins.engine.roles import Role
from plugins.xinghualing import plugin as xinghualing_plugin
from worker.main import build_worker
from worker.testing import local_environment

QUEUE = "bench-open"
#: Starts in flight at once (the client's; the worker and server do the rest).
_STARTS_IN_FLIGHT = 64
#: Targets: open 20,000 in under 5 minutes; a completion's p95 under 2 s; under 1 GiB.
OPEN_TARGET_S = 300.0
P95_TARGET_S = 2.0
RSS_TARGET_MIB = 1024.0


def _open_checks(engine: Engine) -> int:
    with Session(engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(Task)
                .where(Task.process == CHECK_PROCESS, Task.step_key == "check")
                .where(Task.status == TaskStatus.OPEN.value)
            ).one()
        )


def _elders(engine: Engine, n: int) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Person.id)
                .where(col(Person.id).startswith("PB"))
                .order_by(col(Person.id))
                .limit(n)
            ).all()
        )


async def _start_all(client: Client, registry: PluginRegistry, elders: list[str]) -> None:
    gate = asyncio.Semaphore(_STARTS_IN_FLIGHT)

    async def one(elder: str) -> None:
        async with gate:
            await service.start_process(
                client,
                registry,
                process=CHECK_PROCESS,
                district=DISTRICT,
                request={"elder_ref": elder, "day": DAY.isoformat()},
                case_ref=check_case_ref(elder, DAY),
                started_by="bench",
                task_queue=QUEUE,
            )

    await asyncio.gather(*(one(e) for e in elders))


async def run_one(args: argparse.Namespace, cache: int) -> dict[str, float]:
    """Open ``args.processes`` checks with a cache of ``cache``; complete ``args.complete``."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    registry = PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, xinghualing_plugin]
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(seed, url, args.processes, 0).result()
        engine = make_engine(url)
        elders = _elders(engine, args.processes)
        env = await local_environment()
        rss_before = current_rss_mib()
        settings = Settings(max_concurrent_workflow_tasks=args.workflow_tasks)
        try:
            with ThreadPoolExecutor(max_workers=args.activities) as executor:
                worker = build_worker(
                    env.client,
                    registry,
                    settings=settings,
                    engine=engine,
                    task_queue=QUEUE,
                    activity_executor=executor,
                    max_concurrent_activities=args.activities,
                    max_cached_workflows=cache,
                )
                async with worker:
                    span = Span.start()
                    await _start_all(env.client, registry, elders)
                    started = span.wall0
                    started_s = time.perf_counter() - started
                    while (opened := _open_checks(engine)) < len(elders):
                        await asyncio.sleep(0.5)
                        if time.perf_counter() - started > 1800:
                            break
                    open_s = time.perf_counter() - started
                    open_span = span.stop()
                    rss_open = current_rss_mib()
                    with Session(engine) as session:
                        tasks = session.exec(
                            select(Task.task_id).where(
                                Task.process == CHECK_PROCESS, Task.step_key == "check"
                            )
                        ).all()
                    picked = random.Random(7).sample(list(tasks), min(args.complete, len(tasks)))
                    latencies: list[float] = []
                    done = Span.start()
                    for task_id in picked:
                        begin = time.perf_counter()
                        await service.complete_task(
                            env.client,
                            engine,
                            task_id=task_id,
                            actor="VB00001",
                            role=Role.VOLUNTEER.value,
                            data={"curtains": "open"},
                        )
                        latencies.append(time.perf_counter() - begin)
                    done.stop()
        finally:
            engine.dispose()
            await env.shutdown()
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    figures = {
        "cache": cache,
        "processes": len(elders),
        "opened": opened,
        "start_s": started_s,
        "open_s": open_s,
        "rss_before": rss_before,
        "rss_open": rss_open,
        "peak": peak_rss_mib(),
        "p50": statistics.median(latencies),
        "p95": p95,
        "max": latencies[-1],
    }
    passed = (
        opened >= len(elders)
        and open_s < OPEN_TARGET_S
        and p95 < P95_TARGET_S
        and figures["peak"] < RSS_TARGET_MIB
    )
    print(f"\n{len(elders)} open curtain checks, max_cached_workflows {cache}")
    print(
        f"  parameters              : workflow tasks {args.workflow_tasks}, activities "
        f"{args.activities}, {_STARTS_IN_FLIGHT} starts in flight"
    )
    print(f"  starts sent             : {started_s:8.1f} s")
    print(
        f"  tasks open              : {opened} in {open_s:.1f} s = {opened / open_s:.0f}/s"
        f"   (target < {OPEN_TARGET_S:.0f} s)"
    )
    print(
        f"  worker RSS              : {rss_open:8.1f} MiB with all open, peak {figures['peak']:.1f}"
        f" (before {rss_before:.1f})   (target < {RSS_TARGET_MIB:.0f} MiB)"
    )
    print(
        f"  completion latency      : p50 {figures['p50'] * 1000:.0f} ms, p95 "
        f"{p95 * 1000:.0f} ms, max {figures['max'] * 1000:.0f} ms over {len(latencies)}"
        f"   (target p95 < {P95_TARGET_S * 1000:.0f} ms)"
    )
    print("  while opening:")
    for line in open_span.lines():
        print("  " + line)
    print("  while completing:")
    for line in done.lines():
        print("  " + line)
    print(f"  result                  : {'PASS' if passed else 'FAIL'}")
    return figures


def main() -> None:
    """Parse the options; run one cache size here, or each in a child process."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--processes", type=int, default=20_000)
    parser.add_argument("--complete", type=int, default=200)
    parser.add_argument("--caches", default="500,2000,20000")
    parser.add_argument("--workflow-tasks", type=int, default=100)
    parser.add_argument("--activities", type=int, default=64)
    parser.add_argument("--json", help=argparse.SUPPRESS)  # a child's figures go here
    args = parser.parse_args()
    # The app needs a codec key and a pseudonym key; the bench's own, never the data dir's.
    os.environ.setdefault(
        "CAREFLOW_CODEC_KEYS", "bench:" + base64.b64encode(secrets.token_bytes(32)).decode()
    )
    os.environ.setdefault(
        "CAREFLOW_PSEUDONYM_KEY", base64.b64encode(secrets.token_bytes(32)).decode()
    )
    caches = [int(c) for c in args.caches.split(",")]
    if len(caches) == 1:
        figures = asyncio.run(run_one(args, caches[0]))
        if args.json:
            Path(args.json).write_text(json.dumps(figures))
        return
    rows = []
    for cache in caches:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            child = [sys.argv[0], *sys.argv[1:], "--caches", str(cache), "--json", out.name]
            subprocess.run([sys.executable, *child], check=True)
            rows.append(json.loads(Path(out.name).read_text()))
    print(f"\n{rows[0]['processes']:.0f} open processes: memory against completion latency")
    print(f"{'cache':>7}{'open s':>9}{'RSS open':>10}{'peak MiB':>10}{'p50 ms':>9}{'p95 ms':>9}")
    for row in rows:
        print(
            f"{row['cache']:>7.0f}{row['open_s']:>9.1f}{row['rss_open']:>10.1f}"
            f"{row['peak']:>10.1f}{row['p50'] * 1000:>9.0f}{row['p95'] * 1000:>9.0f}"
        )


if __name__ == "__main__":
    main()
