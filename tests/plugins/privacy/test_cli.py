"""``careflow retention``: a dry run from the command line, refusals naming the field or the
role, the periods, and the namespace check's exit status."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow.db.tables import AuditEntry, Staff
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from cli.app import CliState
from cli.stack_cmd import _warn_history_retention
from plugins.engine import plugin as engine_plugin
from plugins.privacy import plugin as privacy_plugin
from tests.plugins.privacy.support import DISTRICT, elder, ledger, seed_case, snapshot
from worker.testing import cli_environment, running_worker


async def _careflow(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _grid_worker(engine: Engine) -> str:
    with Session(engine) as session:
        staff = session.exec(
            select(Staff)
            .where(Staff.role == "grid_worker", Staff.district_code == DISTRICT)
            .order_by(col(Staff.id))
        ).first()
    assert staff is not None
    return staff.id


async def test_a_dry_run_from_the_command_line_and_its_refusals(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, database_url: str
) -> None:
    engine = seeded_engine
    registry = PluginRegistry.build([engine_plugin, privacy_plugin])
    case = seed_case(engine, purpose="health", person=elder(engine), ref="E1")
    ledger(engine, case)
    before = snapshot(engine)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        env = cli_environment(
            registry.plugins,
            CAREFLOW_TEMPORAL_ADDRESS=ts_env.client.service_client.config.target_host,
            CAREFLOW_DATABASE_URL=database_url,
            CAREFLOW_TASK_QUEUE=worker.task_queue,
        )
        code, out, err = await _careflow(
            env, "retention", "run", "--district", DISTRICT, "--dry-run", "--json"
        )
        assert code == 0, err
        shown = json.loads(out)
        code, text, err = await _careflow(env, "retention", "run", "-d", DISTRICT, "--dry-run")
        assert code == 0, err
        refused = await _careflow(
            env, "retention", "run", "-d", DISTRICT, "--actor", _grid_worker(engine)
        )
        unknown = await _careflow(env, "retention", "run", "-d", DISTRICT, "--purpose", "wealth")
        periods = await _careflow(env, "retention", "periods", "-d", DISTRICT)
        checked = await _careflow(env, "retention", "check", "--json")

    assert snapshot(engine) == before
    assert shown["dry_run"] is True and shown["district"] == DISTRICT
    assert shown["workflow_id"].startswith(f"privacy.retention-{DISTRICT}-")
    assert shown["purposes"]["health"]["cases"] == 1
    assert shown["purposes"]["health"]["rows"]["ec_health_reading.deleted"] == 2
    assert "演练，未做修改 dry run, nothing changed" in text
    assert "health 智慧健康驿站 Health station readings and alerts (730 天 days" in text
    assert "1 案件 cases · case_record.anonymised=2 ec_health_reading.deleted=2" in text
    assert case.person not in out + text

    code, out, err = refused
    assert (code, out) == (2, "") and "[out_of_scope]" in err  # a district-wide run
    code, out, err = unknown
    assert (code, out) == (2, "") and err.startswith("错误 error: purpose: unknown purpose")
    code, out, err = periods
    assert code == 0 and "curtain          180 天 days" in out
    code, out, err = checked
    # The time-skipping server keeps every history (no retention): too long, exit 1.
    assert code == 1 and json.loads(out)["ok"] is False

    with Session(engine) as session:
        starts = session.exec(select(AuditEntry).where(AuditEntry.action == "process.start")).all()
    assert sorted((r.outcome, r.reason) for r in starts) == [
        ("accepted", None),
        ("accepted", None),
        ("refused", "out_of_scope"),
    ]


async def test_the_worker_warns_at_start_when_histories_outlive_the_data(
    ts_env: WorkflowEnvironment, dev_env: WorkflowEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = PluginRegistry.build([engine_plugin, privacy_plugin])
    for env in (ts_env, dev_env):
        address = env.client.service_client.config.target_host
        await _warn_history_retention(
            CliState(settings=Settings(temporal_address=address), registry=registry)
        )
    # Only the CLI's own warning lines: log records may share stderr.
    warned = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("警告 warning")
    ]
    # The time-skipping server keeps every history; the dev server one day (within 180).
    assert len(warned) == 1 and warned[0].startswith("警告 warning: 命名空间 default 历史保留 永久")
