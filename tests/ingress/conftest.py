"""Fixtures of the ingress tests: a real broker, one seeded stack per module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from careflow.db.engine import make_engine
from careflow.db.migrate import upgrade
from careflow.db.seed import seed_demo
from careflow.db.seed_accounts import seed_demo_accounts
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from ingress import ensure_dev_token
from tests.ingress.support import Stack, end_processes, require_broker
from tests.support.plugins import BUILT_IN
from worker.testing import running_worker


@pytest.fixture(scope="module")
async def broker() -> None:
    """The broker must answer (else skip, loudly; under CI fail)."""
    await require_broker()


@pytest.fixture(scope="module")
async def stack(
    broker: None, dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """The session's dev server, a seeded database, a worker of every built-in plugin and the
    ingress token ``careflow dev`` would make, for one test module."""
    data_dir = tmp_path_factory.mktemp("ingress")
    url = f"sqlite:///{(data_dir / 'careflow.db').as_posix()}"
    upgrade(url, plugins=BUILT_IN)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_demo(session)
        seed_demo_accounts(session)
        session.commit()
    registry = PluginRegistry.build(BUILT_IN)
    token, made = ensure_dev_token(Settings(data_dir=data_dir, database_url=url), engine, registry)
    assert made
    try:
        async with running_worker(dev_env.client, registry, engine=engine) as worker:
            yield Stack(
                env=dev_env,
                engine=engine,
                database_url=url,
                registry=registry,
                task_queue=worker.task_queue,
                token=token,
                data_dir=data_dir,
            )
            await end_processes(dev_env.client, task_queue=worker.task_queue)
    finally:
        engine.dispose()
