"""Curtain round benchmark: one morning for 5,000 watched elders on the embedded stack.

A dev server (``worker.testing.local_environment``) and a worker in this process, a SQLite
app database seeded with the demo registry plus N generated solitary elders in Xinghualing,
each paired with a curtain volunteer. The benchmark starts the district's morning round and
measures the time until every check task (工单) is open in the inbox, and the peak resident
memory of this process (worker and client; the dev server runs in its own process).
Target: under 3 minutes and under 1 GiB for 5,000 elders.

    .venv/bin/python bench/curtain_round.py [--elders 5000] [--away 50] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import resource
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from careflow import service
from careflow.db import make_engine, seed_demo, upgrade
from careflow.db.tables import Area, Pairing, Person, Task, Volunteer
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.curtain import CHECK_PROCESS, ROUND_PROCESS
from plugins.eldercare.curtain.tables import CurtainAwayNotice
from plugins.engine import plugin as engine_plugin
from plugins.xinghualing import plugin as xinghualing_plugin
from worker.main import build_worker
from worker.testing import local_environment

DISTRICT = "xinghualing"
DAY = date(2026, 3, 2)


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(url: str, elders: int, away: int) -> int:
    """Demo registry plus ``elders`` generated solitary elders; return how many are watched."""
    engine = make_engine(url)
    rng = random.Random(4)
    with Session(engine) as session:
        seed_demo(session)
        session.commit()
        communities = session.exec(
            select(Area.code).where(
                Area.level == "community", col(Area.code).startswith(f"{DISTRICT}.")
            )
        ).all()
        volunteers = [
            Volunteer(
                id=f"VB{n:05d}",
                name=f"志愿者{n}",
                community_code=communities[n % len(communities)],
                kind="resident",
            )
            for n in range(max(1, elders // 10))
        ]
        session.add_all(volunteers)
        session.flush()
        people = [
            Person(
                id=f"PB{n:06d}",
                kind="elder",
                name=f"长者{n}",  # invented: the benchmark holds no real person
                id_number=f"000000{1930 + n % 30}0101{n % 10000:04d}",
                gender=rng.choice("MF"),
                birth_date=date(1930 + n % 30, 1, 1),
                community_code=communities[n % len(communities)],
                lives_alone=True,
                disability_level=rng.choice((0, 0, 0, 1, 2)),
            )
            for n in range(elders)
        ]
        session.add_all(people)
        session.flush()
        session.add_all(
            Pairing(volunteer_id=volunteers[n % len(volunteers)].id, elder_id=p.id, kind="curtain")
            for n, p in enumerate(people)
        )
        session.add_all(
            CurtainAwayNotice(
                elder_id=p.id,
                district=DISTRICT,
                away_from=DAY,
                away_until=DAY,
                filed_by="family",
                workflow_id="bench",
                step_key=f"away.{p.id}",
            )
            for p in people[:away]
        )
        session.commit()
        watched = session.exec(
            select(func.count(func.distinct(Pairing.elder_id)))
            .join(Person, col(Person.id) == col(Pairing.elder_id))
            .where(Pairing.kind == "curtain", col(Person.community_code).startswith(DISTRICT))
        ).one()
    engine.dispose()
    return int(watched)


def open_checks(engine: object) -> int:
    """How many check tasks are open in the inbox."""
    with Session(engine) as session:  # type: ignore[arg-type]
        return int(
            session.exec(
                select(func.count())
                .select_from(Task)
                # A batch's check tasks are keyed check.<elder>.<day>; a lone check's "check".
                .where(Task.process == CHECK_PROCESS, col(Task.step_key).startswith("check"))
            ).one()
        )


async def main(elders: int, away: int, batch: int, activities: int, cache: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    # Xinghualing's plugin switches the curtain processes on (and adds nothing to them).
    registry = PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, xinghualing_plugin],
        overrides={DISTRICT: {ROUND_PROCESS: {"batch_size": batch}}},
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        watched = seed(url, elders, away)
        expected = watched - away
        print(f"seeded: {watched} watched elders in {DISTRICT} ({away} away today)", flush=True)
        env = await local_environment()
        engine = make_engine(url)
        rss_before = _peak_rss_mib()
        try:
            with ThreadPoolExecutor(max_workers=activities) as executor:
                worker = build_worker(
                    env.client,
                    registry,
                    settings=Settings(),
                    engine=engine,
                    task_queue="bench-curtain",
                    activity_executor=executor,
                    max_concurrent_activities=activities,
                    max_cached_workflows=cache,
                )
                async with worker:
                    begin = time.perf_counter()
                    started = await service.start_process(
                        env.client,
                        registry,
                        process=ROUND_PROCESS,
                        district=DISTRICT,
                        request={"day": DAY.isoformat()},
                        started_by="bench",
                        task_queue="bench-curtain",
                    )
                    handle = env.client.get_workflow_handle(started.workflow_id)
                    result = await handle.result()
                    fanned = time.perf_counter() - begin
                    print(
                        f"round done in {fanned:.1f}s: {result.get('checks_started')} checks "
                        f"started in {result.get('batches')} batches",
                        flush=True,
                    )
                    count = 0
                    while count < expected:
                        await asyncio.sleep(1)
                        count = open_checks(engine)
                        print(
                            f"  {time.perf_counter() - begin:6.1f}s  {count}/{expected} open",
                            flush=True,
                        )
                        if time.perf_counter() - begin > 900:
                            break
                    elapsed = time.perf_counter() - begin
        finally:
            engine.dispose()
            await env.shutdown()
    peak = _peak_rss_mib()
    print(f"\none morning, {DISTRICT}: {watched} watched elders, {away} away")
    print(f"  check tasks open        : {count} of {expected}")
    print(f"  time until all open     : {elapsed:8.1f} s   (target < 180 s)")
    print(f"  rate                    : {count / elapsed:8.1f} checks/s")
    print(
        f"  peak RSS of this process: {peak:8.1f} MiB (before the round {rss_before:.1f})"
        "   (target < 1024 MiB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elders", type=int, default=5000)
    parser.add_argument("--away", type=int, default=50)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--activities", type=int, default=32)
    parser.add_argument("--cache", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.elders, args.away, args.batch, args.activities, args.cache))
