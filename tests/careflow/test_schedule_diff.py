"""Sync compares a schedule as Temporal describes it with the wanted one by meaning."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleSpec
from temporalio.testing import WorkflowEnvironment

from careflow.schedule_diff import same_action, same_spec
from workflows.launcher import LaunchInput

CRONS = ["0 9 1 * *", "*/15 8-18 * * 1-5", "30 9 * * *", "0 0 1,15 * *", "5 8 * * 0"]


def _action(
    district: str = "wanbailin", task_queue: str = "careflow"
) -> ScheduleActionStartWorkflow:
    return ScheduleActionStartWorkflow(
        "careflow.scheduled_launch",
        LaunchInput(schedule_id="t", process="delivery", district=district, request={}),
        id="launch-t",
        task_queue=task_queue,
        static_summary="定时启动 测试",
    )


@pytest.mark.parametrize("cron", CRONS)
async def test_a_described_schedule_is_the_same_as_its_cron_and_action(
    dev_env: WorkflowEnvironment, cron: str
) -> None:
    client = dev_env.client
    spec = ScheduleSpec(cron_expressions=[cron], time_zone_name="Asia/Shanghai")
    handle = await client.create_schedule(
        f"test.diff.{uuid.uuid4().hex[:8]}", Schedule(action=_action(), spec=spec)
    )
    try:
        described = (await handle.describe()).schedule
        assert same_spec(described.spec, spec)
        assert await same_action(client.data_converter, described.action, _action())

        other = "1 9 1 * *" if cron != "1 9 1 * *" else "2 9 1 * *"
        assert not same_spec(
            described.spec, ScheduleSpec(cron_expressions=[other], time_zone_name="Asia/Shanghai")
        )
        assert not same_spec(described.spec, ScheduleSpec(cron_expressions=[cron]))
        assert not await same_action(
            client.data_converter, described.action, _action(district="xiaodian")
        )
        assert not await same_action(
            client.data_converter, described.action, _action(task_queue="elsewhere")
        )
    finally:
        await handle.delete()
