"""A worker without the right key refuses to start, naming the key, instead of failing tasks."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from careflow.codec import KeyConfigError, KeyRing, codec_data_converter, generate_key
from careflow.codec.check import missing_keys, refuse_missing_keys, ring_of
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from tests.conftest import TEST_CODEC_KEYS
from worker.main import run_worker


def _settings(env: WorkflowEnvironment, tmp_path: Path, **values: object) -> Settings:
    return Settings(
        **{  # type: ignore[arg-type]
            "temporal_address": env.client.service_client.config.target_host,
            "data_dir": tmp_path,
            "database_url": f"sqlite:///{tmp_path / 'careflow.db'}",
            "task_queue": f"keys-{uuid.uuid4()}",
            **values,
        }
    )


async def _listed(client: Client, workflow_id: str) -> None:
    """Wait until visibility lists the workflow (it is eventually consistent)."""
    query = f'WorkflowId="{workflow_id}" AND ExecutionStatus="Running"'
    for _ in range(100):
        if [w async for w in client.list_workflows(query)]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never listed")


async def test_a_worker_refuses_to_start_without_a_key_running_processes_need(
    dev_env: WorkflowEnvironment, full_registry: PluginRegistry, tmp_path: Path
) -> None:
    foreign = KeyRing([generate_key()], source="elsewhere")
    # A process written by a client whose key this suite's ring lacks; no worker polls its
    # queue, so it stays running (as one would whose key an operator forgot to copy).
    writer = await Client.connect(
        dev_env.client.service_client.config.target_host,
        data_converter=codec_data_converter(foreign),
    )
    workflow_id = f"keys-check-{uuid.uuid4()}"
    handle = await writer.start_workflow(
        "NoSuchWorkflow", {"note": "sealed"}, id=workflow_id, task_queue=f"idle-{uuid.uuid4()}"
    )
    try:
        await _listed(dev_env.client, workflow_id)
        found = await missing_keys(dev_env.client, ring_of(dev_env.client))
        assert found.missing.get(foreign.active.key_id) == workflow_id
        with pytest.raises(KeyConfigError) as raised:
            await refuse_missing_keys(dev_env.client)
        assert foreign.active.key_id in str(raised.value) and workflow_id in str(raised.value)

        settings = _settings(dev_env, tmp_path, codec_keys=SecretStr(TEST_CODEC_KEYS))
        stop = asyncio.Event()
        with pytest.raises(KeyConfigError) as refused:
            await asyncio.wait_for(run_worker(settings, registry=full_registry, stop=stop), 30)
        assert refused.value.field == "CAREFLOW_CODEC_KEYS"
        assert foreign.active.key_id in refused.value.problem
        assert "test-only-k2" in refused.value.problem  # what the ring does hold, ids only

        # The writer's own ring holds the key: nothing is missing for it.
        assert (await missing_keys(writer, foreign)).missing == {}
    finally:
        await handle.terminate(reason="test over")


async def test_a_worker_without_any_key_refuses_to_start(
    dev_env: WorkflowEnvironment, full_registry: PluginRegistry, tmp_path: Path
) -> None:
    settings = _settings(dev_env, tmp_path, codec_keys=None)
    with pytest.raises(KeyConfigError) as refused:
        await asyncio.wait_for(run_worker(settings, registry=full_registry), 30)
    assert refused.value.field == "CAREFLOW_CODEC_KEYS"
    assert "careflow keys init" in refused.value.problem
