"""On the dev server: one retention schedule per district at its run time, and the namespace's
history retention checked (and, for the dev stack, lowered) against the app's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.areas import DISTRICTS
from careflow.contract import CarePlugin, DistrictProgramme
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from plugins.privacy import RETENTION_PROCESS, RETENTION_SCHEDULE
from plugins.privacy import plugin as privacy_plugin
from plugins.privacy.namespace import (
    check_namespace,
    limit_namespace_retention,
    namespace_retention,
    shortest_retention,
)

LATER = CarePlugin(
    name="test_later_run",
    version="0.0.0",
    title_zh="测试",
    title_en="Test",
    programmes=(
        DistrictProgramme(
            district="yingze", params={RETENTION_PROCESS: {"run_time": "03:15", "curtain": "P90D"}}
        ),
    ),
)


async def _listed(client: Client, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        found = [
            s
            for s in await service.list_schedules(client)
            if str(s["schedule_id"]).startswith("careflow.privacy.retention.")
        ]
        if len(found) == count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_every_district_gets_a_daily_run_at_its_own_time(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    registry = PluginRegistry.build([engine_plugin, privacy_plugin, LATER])
    assert RETENTION_SCHEDULE.crons == ("30 2 * * *",)
    try:
        report = await service.sync_schedules(client, registry, task_queue="privacy-test")
        assert sorted(report["created"]) == sorted(
            f"careflow.privacy.retention.{d}" for d in DISTRICTS
        )
        listed = {s["schedule_id"]: s for s in await _listed(client, len(DISTRICTS))}
        assert set(listed) == set(report["created"])
        for schedule_id, entry in listed.items():
            first = entry["next_action_times"][0]
            # 02:30 Asia/Shanghai is 18:30 UTC; Yingze moved its run to 03:15 (19:15 UTC).
            expected = "19:15:00+00:00" if schedule_id.endswith(".yingze") else "18:30:00+00:00"
            assert str(first).endswith(expected), (schedule_id, first)
    finally:
        await service.sync_schedules(
            client, PluginRegistry.build([engine_plugin]), task_queue="privacy-test"
        )


def test_the_shortest_period_is_found_across_districts() -> None:
    registry = PluginRegistry.build([engine_plugin, privacy_plugin, LATER])
    assert shortest_retention(registry) == (timedelta(days=90), "yingze/curtain")
    period, where = shortest_retention(PluginRegistry.build([engine_plugin, privacy_plugin])) or (
        None,
        "",
    )
    assert period == timedelta(days=180) and where.endswith("/curtain")
    assert shortest_retention(PluginRegistry.build([engine_plugin])) is None


async def _set_retention(client: Client, days: int) -> None:
    ttl = Duration()
    ttl.FromTimedelta(timedelta(days=days))
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=client.namespace,
            config=NamespaceConfig(workflow_execution_retention_ttl=ttl),
        )
    )


@pytest.fixture
async def restored_retention(dev_env: WorkflowEnvironment) -> AsyncIterator[Client]:
    """The dev server's namespace, its retention put back after the test."""
    before = await namespace_retention(dev_env.client)
    try:
        yield dev_env.client
    finally:
        await _set_retention(dev_env.client, (before or timedelta(days=1)).days)


async def test_a_namespace_keeping_histories_longer_is_reported_and_lowered(
    restored_retention: Client,
) -> None:
    client = restored_retention
    registry = PluginRegistry.build([engine_plugin, privacy_plugin])
    # The dev server keeps closed histories a day: within the app's shortest period.
    fits = await check_namespace(client, registry)
    assert fits.ok and fits.retention == timedelta(days=1)
    assert fits.shortest == timedelta(days=180)

    await _set_retention(client, 400)
    too_long = await check_namespace(client, registry)
    assert not too_long.ok and too_long.retention == timedelta(days=400)
    assert "/curtain)" in too_long.message
    assert "--retention 4320h" in too_long.message

    lowered = await limit_namespace_retention(client, registry)
    assert lowered.ok and lowered.retention == timedelta(days=180)
    assert await namespace_retention(client) == timedelta(days=180)
