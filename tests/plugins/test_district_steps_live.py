"""Each district's steps on the embedded stack: a real dev server and every installed plugin.

What a supervisor sees in the Temporal Web UI is the workflow history: each district step is
its own activity (or the activity that opens its task) with a Chinese summary, scheduled in
its place among the city's steps. These tests read exactly that from the dev server.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.registry import PluginRegistry
from tests.plugins.eldercare.green_channel.support import elder, start
from tests.support.inbox import wait_for_task
from worker.testing import running_worker

GREEN_CHANNEL = "eldercare.green_channel"


async def _summaries(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Summaries of the activities the process scheduled, in history order (the UI's view)."""
    out: list[str] = []
    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        payload = event.user_metadata.summary
        out.append(json.loads(payload.data) if payload.data else "")
    return out


async def _until_summary(handle: WorkflowHandle[Any, Any], text: str) -> list[str]:
    deadline = time.monotonic() + 20
    while True:
        found = await _summaries(handle)
        if any(text in s for s in found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no activity summary with {text!r} in {found}")
        await asyncio.sleep(0.1)


def _index(summaries: list[str], text: str) -> int:
    for i, summary in enumerate(summaries):
        if text in summary:
            return i
    raise AssertionError(f"no activity summary with {text!r} in {summaries}")


async def test_each_district_runs_its_steps_in_place(
    dev_env: WorkflowEnvironment, full_registry: PluginRegistry, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    async with running_worker(dev_env.client, full_registry, engine=engine) as worker:
        handles: list[WorkflowHandle[Any, Any]] = []

        async def channel(district: str) -> WorkflowHandle[Any, Any]:
            """A green channel for the district's first disabled elder, as staff start it."""
            request = {
                "elder_ref": elder(engine, disabled=True, district=district).id,
                "source": "family_call",
                "source_ref": "S0001",
            }
            handle = await start(
                dev_env, full_registry, worker.task_queue, GREEN_CHANNEL, request, district=district
            )
            handles.append(handle)
            return handle

        # Xinghualing: the family doctor is told, then joins triage before the city's triage.
        xhl = await channel("xinghualing")
        doctor = await wait_for_task(engine, xhl.id, "xinghualing.family_doctor_triage")
        await service.complete_task(
            dev_env.client,
            engine,
            task_id=doctor.task_id,
            actor="S0002",
            role="doctor",
            data={"joined": True, "suggested_level": "urgent", "history_shared": True},
        )
        await wait_for_task(engine, xhl.id, "triage")
        found = await _until_summary(xhl, "开工单 open task: 急诊绿色通道分诊")
        notice = _index(found, "通知签约家庭医生参与分诊")
        joins = _index(found, "签约家庭医生参与急诊分诊")
        assert notice < joins < _index(found, "开工单 open task: 急诊绿色通道分诊")

        # Wanbailin: the station readings are attached before triage opens.
        wbl = await channel("wanbailin")
        await wait_for_task(engine, wbl.id, "triage")
        found = await _until_summary(wbl, "开工单 open task: 急诊绿色通道分诊")
        assert _index(found, "附上健康小屋最近检测记录") < _index(
            found, "开工单 open task: 急诊绿色通道分诊"
        )

        # Xiaodian: the medical-insurance check runs after triage, before the booking.
        xd = await channel("xiaodian")
        triage = await wait_for_task(engine, xd.id, "triage")
        await service.complete_task(
            dev_env.client,
            engine,
            task_id=triage.task_id,
            actor="S0002",
            role="doctor",
            data={"level": "routine"},
        )
        found = await _until_summary(xd, "预约医院急诊")
        assert _index(found, "开工单 open task: 急诊绿色通道分诊") < _index(
            found, "医保待遇保障核查"
        )
        assert _index(found, "医保待遇保障核查") < _index(found, "预约医院急诊")

        # Yingze: festival care lists the elders, then the student-volunteer roster opens.
        yz = await start(
            dev_env, full_registry, worker.task_queue, "eldercare.festival", {}, district="yingze"
        )
        handles.append(yz)
        await wait_for_task(engine, yz.id, "yingze.student_volunteers")
        found = await _until_summary(yz, "登记返乡大学生志愿者")
        assert _index(found, "列出独居、高龄老人") < _index(found, "登记返乡大学生志愿者")

        # The same processes elsewhere run none of these steps.
        plain = await channel("yingze")
        await wait_for_task(engine, plain.id, "triage")
        found = await _until_summary(plain, "开工单 open task: 急诊绿色通道分诊")
        district_steps = ("通知签约家庭医生", "签约家庭医生参与急诊分诊", "健康小屋", "医保待遇")
        assert not any(step in s for s in found for step in district_steps)

        for handle in handles:
            await handle.terminate("test done")
