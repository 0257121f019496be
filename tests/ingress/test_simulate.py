"""``careflow simulate stations|curtain`` publishes device traffic the processes act on:
readings the health monitors store, curtain reports that complete today's checks."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from careflow import service
from careflow.db.tables import Pairing, Person, Task
from careflow.localtime import STAFF_TIMEZONE
from plugins.eldercare.health.tables import HealthReading
from tests.ingress.support import Stack, new_root, running_ingress, until
from tests.support.inbox import wait_for_task

CAREFLOW = Path(sys.executable).parent / "careflow"


async def _simulate(stack: Stack, root: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(CAREFLOW),
        "simulate",
        *args,
        env=stack.environ(root=root, client_id=f"cft-sim-{uuid.uuid4().hex[:6]}"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def _readings(stack: Stack) -> int:
    with Session(stack.engine) as session:
        return session.exec(select(func.count()).select_from(HealthReading)).one()


async def test_simulated_station_readings_are_stored_by_the_monitors(stack: Stack) -> None:
    root, before = new_root(), _readings(stack)
    async with running_ingress(stack, root) as metrics:
        code, out = await _simulate(
            stack, root, "stations", "--district", "wanbailin", "--rate", "40",
            "--duration", "2", "--seed", "7", "--json",
        )  # fmt: skip
        assert code == 0, out
        report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        published = report["published"]
        assert 40 <= published <= 81 and sum(report["kinds"].values()) == published
        assert report["sources"] >= 2  # one station per community with consenting elders
        await until(
            lambda: metrics.delivered == published, timeout=120, what="every reading delivered"
        )
    await until(
        lambda: _readings(stack) == before + published, timeout=120, what="every reading stored"
    )
    assert metrics.dead_letters == 0 and metrics.duplicates == 0


async def test_simulate_refuses_districts_with_nothing_to_simulate(stack: Stack) -> None:
    root = new_root()
    code, out = await _simulate(stack, root, "stations", "--district", "yingze")
    assert code != 0 and "yingze runs no health stations" in out and "wanbailin" in out, out
    code, out = await _simulate(stack, root, "stations", "--district", "nowhere")
    assert code != 0 and "nowhere" in out, out


def _paired(stack: Stack, count: int) -> list[tuple[str, str]]:
    with Session(stack.engine) as session:
        rows = session.exec(
            select(Person.id, Pairing.volunteer_id)
            .join(Pairing, col(Pairing.elder_id) == col(Person.id))
            .where(Pairing.kind == "curtain", col(Pairing.active).is_(True))
            .where(col(Person.community_code).startswith("xinghualing."))
            .order_by(col(Person.id))
            .limit(count)
        ).all()
    return [(e, v) for e, v in rows]


def _check_tasks(stack: Stack, status: str) -> int:
    with Session(stack.engine) as session:
        return session.exec(
            select(func.count())
            .select_from(Task)
            .where(Task.district == "xinghualing", Task.status == status)
            .where(col(Task.step_key) == "check")
        ).one()


async def test_simulated_curtain_reports_complete_todays_checks(stack: Stack) -> None:
    root = new_root()
    code, out = await _simulate(stack, root, "curtain", "--district", "xinghualing")
    assert code != 0 and "no curtain check of xinghualing is open today" in out, out
    today = datetime.now(STAFF_TIMEZONE).date()
    checks = []
    for elder, volunteer in _paired(stack, 6):
        started = await service.start_process(
            stack.env.client,
            stack.registry,
            process="eldercare.curtain_check",
            district="xinghualing",
            request={"elder_ref": elder, "volunteer_ref": volunteer, "day": today.isoformat()},
            started_by="staff:S0001",
            task_queue=stack.task_queue,
            case_ref=f"{elder}.{today:%Y%m%d}",
        )
        checks.append(started.workflow_id)
    for workflow_id in checks:
        await wait_for_task(stack.engine, workflow_id, "check", timeout=60)
    async with running_ingress(stack, root) as metrics:
        code, out = await _simulate(
            stack, root, "curtain", "--district", "xinghualing", "--rate", "50",
            "--seed", "3", "--json",
        )  # fmt: skip
        assert code == 0, out
        report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        published = report["published"]
        assert 1 <= published <= len(checks) and report["sources"] == published
        assert sum(report["kinds"].values()) == published
        await until(lambda: metrics.delivered == published, timeout=60, what="reports delivered")
    # Each report completed its check; the checks nobody reported wait for their deadline.
    await until(
        lambda: _check_tasks(stack, "done") == published, timeout=60, what="checks completed"
    )
    assert _check_tasks(stack, "open") == len(checks) - published
