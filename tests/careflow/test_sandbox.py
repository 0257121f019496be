"""A plugin's declared pure modules are shared with the workflow sandbox, not re-imported."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from careflow.contract import CarePlugin
from careflow.errors import PluginError
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from tests.support import shared_module
from worker.testing import running_worker


def _plugin(*passthrough: str) -> CarePlugin:
    return CarePlugin(
        name="sandboxed",
        version="1",
        title_zh="沙箱",
        title_en="Sandbox",
        workflows=(shared_module.WhichModule,),
        sandbox_passthrough=passthrough,
    )


async def _module_copy(env: WorkflowEnvironment, engine: Engine, plugin: CarePlugin) -> int:
    registry = PluginRegistry.build([engine_plugin, plugin])
    async with running_worker(env.client, registry, engine=engine) as worker:
        return await env.client.execute_workflow(
            shared_module.WhichModule.run, id=f"which-{uuid.uuid4()}", task_queue=worker.task_queue
        )


@pytest.mark.parametrize("declared", [shared_module.__name__, "tests.support"])
async def test_a_declared_module_is_the_workers_own_copy(
    declared: str, ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    # Declared itself or through its package, the workflow runs on the worker's own import.
    shared = await _module_copy(ts_env, engine, _plugin(declared))
    assert shared == id(shared_module.MARKER)


async def test_an_undeclared_module_is_imported_again_for_each_run(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    # Outside careflow's own packages and not declared: the sandbox's copy, made per run.
    first = await _module_copy(ts_env, engine, _plugin())
    assert first != id(shared_module.MARKER)


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        ("tests/support", "'tests/support' is not a module name"),
        ("", "'' is not a module name"),
        ("tests.support.no_such_module", "no module 'tests.support.no_such_module'"),
        ("no_such_package.workflows", "no module 'no_such_package.workflows'"),
    ],
)
def test_a_module_that_cannot_be_passed_through_is_refused(module: str, reason: str) -> None:
    with pytest.raises(PluginError, match="sandboxed") as caught:
        PluginRegistry.build([engine_plugin, _plugin(module)])
    assert f"sandbox_passthrough: {reason}" in str(caught.value)
