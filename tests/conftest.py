"""Shared fixtures: Temporal test servers, plugin registries and workers on uuid task queues."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow.db.seed import seed_demo
from careflow.db.seed_accounts import seed_demo_accounts
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from tests.support.plugins import BUILT_IN, PLUGINS_ENV, built_in_names
from tests.support.sample_plugin import make_sample_plugin
from worker.testing import local_environment, time_skipping_environment

pytest_plugins = ["tests.db_fixtures"]

# Importing tests.support.plugins imported this repository's plugins, which put their tables
# into SQLModel.metadata, which the migration tests compare with the migrated schema. Nothing
# is discovered from entry points: a plugin installed beside careflow must change no test.


@pytest.fixture(scope="session", autouse=True)
def only_built_in_plugins() -> Iterator[None]:
    """Every ``careflow`` command a test runs, in process or as a subprocess, loads only the
    built-in plugins (``CAREFLOW_PLUGINS``), whatever else is installed or set outside, and
    acts as ``S0001`` (``CAREFLOW_ACTOR``), the demo district admin of Wanbailin, unless the
    test names another ``--actor``. Payloads are encrypted with the test-only
    :data:`TEST_CODEC_KEYS` (``CAREFLOW_CODEC_KEYS``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PLUGINS_ENV, built_in_names())
        patch.setenv("CAREFLOW_ACTOR", DEMO_ADMIN)
        patch.setenv("CAREFLOW_CODEC_KEYS", TEST_CODEC_KEYS)
        patch.setenv("CAREFLOW_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
        yield


TEST_CODEC_KEYS = (
    "test-only-k2:"
    + base64.b64encode(b"careflow TEST-ONLY codec key k2!").decode()
    + ",test-only-k1:"
    + base64.b64encode(b"careflow TEST-ONLY codec key k1!").decode()
)
"""TEST ONLY, public, never a real key: the payload key ring every test (and every ``careflow``
subprocess it runs) encrypts with, set as ``CAREFLOW_CODEC_KEYS``; ``test-only-k2`` is active."""

TEST_PSEUDONYM_KEY = "Y2FyZWZsb3cgVEVTVC1PTkxZIHBzZXVkb255bSBrZXkh"  # base64 of 33 ASCII bytes
"""TEST ONLY, public, never a real key: the secret case keys are made with in every test (and
every ``careflow`` subprocess it runs), set as ``CAREFLOW_PSEUDONYM_KEY``."""

HISTORIES = Path(__file__).parent / "histories"
DEMO_ADMIN = "S0001"
"""The demo registry's district admin of Wanbailin (demo account ``wanbailin-district_admin``)."""


@pytest.fixture(scope="module")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server per test module (about a second to start).

    One server for the whole session carried what a module left behind into the next: a
    process terminated while its activity ran, or left waiting with no worker, keeps the
    server from skipping time for every later test (seen as "No completion event found").
    Tests still end what they start (``tests.support.cleanup``) so a module's own later
    tests are not held up either.
    """
    env = await time_skipping_environment()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """One dev server (schedules, visibility) for the session."""
    env = await local_environment()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def registry() -> PluginRegistry:
    """The engine plus the sample test plugin."""
    return PluginRegistry.build([engine_plugin, make_sample_plugin()])


@pytest.fixture
def full_registry() -> PluginRegistry:
    """Every built-in plugin plus the sample test plugin (never what else is installed)."""
    return PluginRegistry.build([*BUILT_IN, make_sample_plugin()])


@pytest.fixture
def seeded_engine(engine: Engine) -> Engine:
    """The migrated test database with the deterministic demo registry and demo accounts."""
    with Session(engine) as session:
        seed_demo(session)
        seed_demo_accounts(session)
        session.commit()
    return engine


async def record_history(client: Client, handle: WorkflowHandle, name: str) -> None:
    """Store a finished workflow's history for replay tests when recording is asked for.

    Run ``CAREFLOW_RECORD_HISTORIES=1 make test`` after a deliberate workflow change, review
    the diff of ``tests/histories/`` and commit it together with the ``workflow.patched`` guard.
    """
    if os.environ.get("CAREFLOW_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
