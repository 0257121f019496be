"""Staff drive childcare processes from the ``careflow`` CLI against a real dev server.

The CLI runs as a subprocess with the stack's environment, exactly as staff run it; the worker
runs every installed plugin. Each test stays well under twenty seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow.db.tables import Guardian, Person
from careflow.registry import PluginRegistry
from tests.support.cases import case_ref_of, keyed_id
from tests.support.inbox import records_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "wanbailin"


class Cli:
    """The ``careflow`` command with the stack's environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    async def run(self, *args: str, stdin: Any = None) -> str:
        """Run a command that must succeed; JSON-encode ``stdin`` unless it is a string."""
        text = stdin if stdin is None or isinstance(stdin, str) else json.dumps(stdin)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )
        out, err = await proc.communicate(text.encode() if text is not None else None)
        assert proc.returncode == 0, f"careflow {' '.join(args)}: {err.decode()}"
        return out.decode()

    async def json(self, *args: str, stdin: Any = None) -> Any:
        """Run a command with ``--json`` and parse its output."""
        return json.loads(await self.run(*args, "--json", stdin=stdin))

    async def complete(self, task_id: str, role: str, community: str, data: Any) -> None:
        """``careflow task complete`` as the demo account of ``role`` in ``community``."""
        accounts = await self.json("staff", "list")
        actor = next(a for a in accounts if a["username"] == f"{community}-{role}")["staff_id"]
        await self.run(
            "task",
            "complete",
            task_id,
            "--actor",
            actor,
            "--data",
            "-",
            stdin=data,
        )


@asynccontextmanager
async def _stack(
    dev_env: WorkflowEnvironment,
    full_registry: PluginRegistry,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Cli]:
    async with running_worker(dev_env.client, full_registry, engine=engine) as worker:
        yield Cli(
            {
                **os.environ,
                "CAREFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
                "CAREFLOW_DATABASE_URL": database_url,
                "CAREFLOW_TASK_QUEUE": worker.task_queue,
                "CAREFLOW_DATA_DIR": str(tmp_path),
            }
        )


def _collectable_child(engine: Engine) -> tuple[str, str, str]:
    """(community, child, a guardian authorised to collect) from the demo registry."""
    with Session(engine) as session:
        row = session.exec(
            select(Person.community_code, Guardian.child_id, Guardian.guardian_id)
            .join(Guardian, col(Guardian.child_id) == Person.id)
            .where(
                col(Person.community_code).startswith(f"{DISTRICT}."),
                col(Guardian.authorised_pickup).is_(True),
            )
            .order_by(col(Guardian.child_id))
        ).first()
    assert row is not None
    return row[0], row[1], row[2]


async def test_five_thirty_classroom_from_enrolment_to_hand_over(
    dev_env: WorkflowEnvironment,
    seeded_engine: Engine,
    database_url: str,
    full_registry: PluginRegistry,
    tmp_path: Path,
) -> None:
    engine = seeded_engine
    community, child, guardian = _collectable_child(engine)
    async with _stack(dev_env, full_registry, engine, database_url, tmp_path) as cli:
        # Staff enrol the child: a small enrolment process checks the registry and writes it.
        enrolment_id = (
            await cli.run(
                "event",
                "childcare.classroom_enrol",
                "--data",
                "-",
                stdin={
                    "district": DISTRICT,
                    "community": community,
                    "child_ref": child,
                    "actor": "S0001",
                },
            )
        ).strip()
        assert enrolment_id == keyed_id("childcare.classroom_enrolment", DISTRICT, child)
        await dev_env.client.get_workflow_handle(enrolment_id).result()
        enrolment = await cli.json("status", enrolment_id)
        assert enrolment["status"] == "COMPLETED"
        assert enrolment["result"]["changes"][0]["changed"] is True

        # Today's session, started by staff.
        ends_at = datetime.now(UTC) + timedelta(hours=2)
        session_id = (
            await cli.run(
                "start",
                "childcare.classroom",
                "--district",
                DISTRICT,
                "--community",
                community,
                "--input",
                "-",
                "--actor",
                "S0001",
                stdin={"ends_at": ends_at.isoformat()},
            )
        ).strip()
        await wait_for_task(engine, session_id, "check_in")
        inbox = await cli.json(
            "tasks", "--role", "volunteer", "--community", community, "--status", "open"
        )
        check_in = next(t for t in inbox if t["workflow_id"] == session_id)
        await cli.complete(check_in["task_id"], "volunteer", community, {"present": [child]})
        while ("check_in", "classroom_check_in") not in records_of(engine, session_id):
            await asyncio.sleep(0.05)

        # The guardian collects the child at the desk.
        case_ref = await case_ref_of(dev_env.client, session_id)
        await cli.run(
            "event",
            "childcare.classroom.handover",
            "--data",
            "-",
            stdin={
                "district": DISTRICT,
                "case_ref": case_ref,
                "child_ref": child,
                "guardian_ref": guardian,
                "actor": "V0001",
            },
        )
        await dev_env.client.get_workflow_handle(session_id).result()
        status = await cli.json("status", session_id)
    assert status["status"] == "COMPLETED" and status["stage"] == "closed"
    result = status["result"]
    assert result["outcome"] == "all_collected" and result["enrolled"] == 1
    assert [(h["child_ref"], h["guardian_ref"]) for h in result["handovers"]] == [(child, guardian)]
    assert [t["status"] for t in status["tasks"]] == ["done"]


async def test_community_event_registration_and_attendance(
    dev_env: WorkflowEnvironment,
    seeded_engine: Engine,
    database_url: str,
    full_registry: PluginRegistry,
    tmp_path: Path,
) -> None:
    engine = seeded_engine
    community, child, guardian = _collectable_child(engine)
    async with _stack(dev_env, full_registry, engine, database_url, tmp_path) as cli:
        request = {
            "kind": "safety_workshop",
            "title_zh": "安全童行",
            "capacity": 1,
            # Room for two CLI subprocesses to register before the start on a loaded machine.
            "starts_at": (datetime.now(UTC) + timedelta(seconds=20)).isoformat(),
        }
        workflow_id = (
            await cli.run(
                "start",
                "community_event",
                "--district",
                DISTRICT,
                "--community",
                community,
                "--input",
                "-",
                "--actor",
                "S0001",
                stdin=request,
            )
        ).strip()
        case_ref = await case_ref_of(dev_env.client, workflow_id)
        for person in (guardian, child):  # one seat: the second waits
            await cli.run(
                "event",
                "community_event.register",
                "--data",
                "-",
                stdin={"district": DISTRICT, "case_ref": case_ref, "person_ref": person},
            )
        task = await wait_for_task(engine, workflow_id, "attendance", timeout=40)
        inbox = await cli.json(
            "tasks", "--role", "community_staff", "--community", community, "--status", "open"
        )
        assert task.task_id in {t["task_id"] for t in inbox}
        await cli.complete(
            task.task_id, "community_staff", community, {"attended": [guardian], "walk_ins": 2}
        )
        await dev_env.client.get_workflow_handle(workflow_id).result()
        status = await cli.json("status", workflow_id)
    assert status["status"] == "COMPLETED" and status["stage"] == "closed"
    result = status["result"]
    assert result["outcome"] == "held" and result["confirmed"] == 1
    assert result["waitlisted_at_start"] == 1
    assert result["attended"] == 1 and result["walk_ins"] == 2
