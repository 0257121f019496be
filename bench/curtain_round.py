"""Curtain round benchmark: one morning for 5,000 watched elders on the embedded stack.

A dev server (``worker.testing.local_environment``) and a worker in this process, a SQLite
app database seeded with the demo registry plus N generated solitary elders in Xinghualing,
each paired with a curtain volunteer (seeded in a child process, so that its memory is not
the worker's). The benchmark starts the district's morning round and measures the time until
every check task (工单) is open in the inbox, the peak resident memory of this process (worker
and client; the dev server runs in its own process), and the CPU of the worker, the dev server
and the rest of the machine over the round, to say what limited it.
Targets (issue 15): 50,000 elders in under 60 s and under 512 MiB; 5,000 in under 3 minutes
and under 1 GiB (issue 4).

    .venv/bin/python bench/curtain_round.py [--elders 5000] [--away 50] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import multiprocessing
import os
import random
import secrets
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import structlog
from _usage import Span, current_rss_mib, peak_rss_mib
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


async def main(
    elders: int, away: int, batch: int, activities: int, cache: int, *, verbose: bool
) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    # Xinghualing's plugin switches the curtain processes on (and adds nothing to them).
    registry = PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, xinghualing_plugin],
        overrides={DISTRICT: {ROUND_PROCESS: {"batch_size": batch}}},
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        # The seeding's ORM objects would otherwise stay in this process's peak memory.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            watched = pool.submit(seed, url, elders, away).result()
        expected = watched - away
        print(f"seeded: {watched} watched elders in {DISTRICT} ({away} away today)", flush=True)
        env = await local_environment()
        engine = make_engine(url)
        rss_before = peak_rss_mib()
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
                    span = Span.start()
                    begin = span.wall0
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
                        await asyncio.sleep(0.5)
                        count = open_checks(engine)
                        if verbose:
                            print(
                                f"  {time.perf_counter() - begin:6.1f}s  {count}/{expected} open",
                                flush=True,
                            )
                        if time.perf_counter() - begin > 900:
                            break
                    span.stop()
                    elapsed = span.wall
                    rss_end = current_rss_mib()
        finally:
            engine.dispose()
            await env.shutdown()
    peak = peak_rss_mib()
    time_goal, rss_goal = (60.0, 512.0) if elders >= 50_000 else (180.0, 1024.0)
    passed = count >= expected and elapsed < time_goal and peak < rss_goal
    print(f"\none morning, {DISTRICT}: {watched} watched elders, {away} away")
    print(f"  parameters              : batch {batch}, activities {activities}, cache {cache}")
    print(f"  round (fan-out) done    : {fanned:8.1f} s")
    print(f"  check tasks open        : {count} of {expected}")
    print(f"  time until all open     : {elapsed:8.1f} s   (target < {time_goal:.0f} s)")
    print(f"  rate                    : {count / elapsed:8.1f} checks/s")
    print(
        f"  peak RSS of the worker  : {peak:8.1f} MiB (before the round {rss_before:.1f}, "
        f"at the end {rss_end:.1f})   (target < {rss_goal:.0f} MiB)"
    )
    for line in span.lines():
        print(line)
    print(f"  result                  : {'PASS' if passed else 'FAIL'}")


if __name__ == "__main__":
    # The app needs a codec key and a pseudonym key; the bench's own, never the data dir's.
    os.environ.setdefault(
        "CAREFLOW_CODEC_KEYS", "bench:" + base64.b64encode(secrets.token_bytes(32)).decode()
    )
    os.environ.setdefault(
        "CAREFLOW_PSEUDONYM_KEY", base64.b64encode(secrets.token_bytes(32)).decode()
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elders", type=int, default=5000)
    parser.add_argument("--away", type=int, default=50)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--activities", type=int, default=32)
    parser.add_argument("--cache", type=int, default=1000)
    parser.add_argument("--verbose", action="store_true", help="print the open count each 0.5 s")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.elders,
            args.away,
            args.batch,
            args.activities,
            args.cache,
            verbose=args.verbose,
        )
    )
