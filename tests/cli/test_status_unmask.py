"""``careflow status`` shows the person a process is about masked; ``--unmask --reason`` shows
them in full to an account whose grants allow it, for that one output, and is audited."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import AuditEntry, Person
from careflow.privacy.masking import mask_address, mask_id_number, mask_name
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from tests.support.inbox import wait_for_task
from worker.testing import cli_environment, running_worker

RECIPIENT = "P00012"  # an elder of 兴华社区 in the demo registry
STAFF_XINGHUA = "wanbailin.xinghua.xinghua-community_staff"
AUDITOR = "taiyuan-auditor"


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


async def test_status_masks_the_person_until_unmasked_with_a_reason(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, database_url: str
) -> None:
    registry = PluginRegistry.build([engine_plugin])
    with Session(seeded_engine) as session:
        elder = session.get(Person, RECIPIENT)
        assert elder is not None and elder.phone and elder.address
    async with running_worker(ts_env.client, registry, engine=seeded_engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district="wanbailin",
            community="wanbailin.xinghua.xinghua",
            case_ref=f"C{uuid.uuid4().hex[:10]}",
            request={
                "recipient_ref": RECIPIENT,
                "items": [{"category": "school_bag", "quantity": 1}],
                "purpose": "micro_wish",
            },
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        await wait_for_task(seeded_engine, started.workflow_id, "dropoff")
        env = cli_environment(
            registry.plugins,
            CAREFLOW_TEMPORAL_ADDRESS=ts_env.client.service_client.config.target_host,
            CAREFLOW_DATABASE_URL=database_url,
        )
        wf = started.workflow_id
        code, masked, err = await _careflow(env, "status", wf)
        assert code == 0, err
        code, as_json, err = await _careflow(env, "status", wf, "--json")
        assert code == 0, err
        code, full, err = await _careflow(
            env, "status", wf, "--unmask", "--reason", "上门前核对地址", "--actor", STAFF_XINGHUA
        )
        assert code == 0, err
        no_reason = await _careflow(env, "status", wf, "--unmask", "--actor", STAFF_XINGHUA)
        auditor = await _careflow(
            env, "status", wf, "--unmask", "--reason", "审计", "--actor", AUDITOR
        )
        await ts_env.client.get_workflow_handle(wf).terminate("test over")

    clear = [elder.name, elder.id_number, elder.phone, elder.address]
    assert f"姓名 name: {mask_name(elder.name)}" in masked
    assert f"身份证号 ID number: {mask_id_number(elder.id_number)}" in masked
    assert f"地址 address: {mask_address(elder.address)}" in masked
    subject = json.loads(as_json)["subject"]
    assert subject["clear"] == [] and subject["request_id"] is None
    for output in (masked, as_json):
        assert not any(value in output for value in clear)
    assert all(value in full for value in clear) and "已显示完整信息" in full

    assert no_reason[0] == 2 and "reason" in no_reason[2] and no_reason[1] == ""
    assert auditor[0] == 2 and "read_only" in auditor[2] and auditor[1] == ""
    with Session(seeded_engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "process.unmask")
            .order_by(col(AuditEntry.id))
        ).all()
    assert [(r.outcome, r.reason, r.channel, r.target) for r in rows] == [
        ("accepted", "address,id_number,name,phone", "cli", wf),
        ("refused", "bad_input", "cli", wf),
        ("refused", "read_only", "cli", wf),
    ]
    assert rows[0].message == "上门前核对地址"
