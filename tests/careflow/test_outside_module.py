"""A whole service module that lives outside this repository works like a built-in one.

``tests/outside/aids_loan_plugin`` (辅具租借, distribution ``careflow-aids-loan``) has its own
process, table and migration, role, form, schedule and event route. It is built and installed
as its own distribution (pip, no index, no build isolation: nothing is downloaded) into a
temporary directory, then discovered through its entry point, migrated, listed and planned by
the CLI in subprocesses, and run from request to return on the time-skipping server: the
assessment task in the rehabilitation officer's inbox, the engine's Delivery as a child, the
return reminder in the outbox, the return as an event; the run's history replays.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from careflow import service
from careflow.contract import CarePlugin
from careflow.db import crud, make_engine, upgrade
from careflow.errors import InputError, PluginError
from careflow.registry import PluginRegistry, discover_plugins
from careflow.search_attributes import CARE_OVERDUE
from plugins.engine import plugin as engine_plugin
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from worker.main import workflow_runner
from worker.testing import cli_environment, running_worker

SOURCE = Path(__file__).parent.parent / "outside" / "aids_loan_plugin"
PACKAGE = "careflow_aids_loan"
TABLE = "al_loan"
DISTRICT = "wanbailin"
ELDER = "P00030"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module installed as a distribution into a directory put on ``sys.path``.

    Afterwards the package and its table are forgotten again: the suite's other tests compare
    the schema they migrate with ``SQLModel.metadata``, which must not keep ``al_loan``.
    """
    work = tmp_path_factory.mktemp("outside_module")
    source = shutil.copytree(SOURCE, work / "src")  # the build writes into its source tree
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
    )
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]
        if TABLE in SQLModel.metadata.tables:
            SQLModel.metadata.remove(SQLModel.metadata.tables[TABLE])


@pytest.fixture(scope="module")
def aids_loan(installed: Path) -> CarePlugin:
    """The module's plugin object, found through its entry point like any plugin."""
    return next(p for p in discover_plugins(only={"aids_loan"}))


def _cli(
    installed: Path, plugins: list[CarePlugin], *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    """Run ``careflow`` in a subprocess that loads exactly ``plugins`` (the module included)."""
    env = cli_environment(
        plugins, None, **{"PYTHONPATH": os.pathsep.join([str(installed), *sys.path]), **settings}
    )
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )


def test_discovered_with_its_version_and_role(aids_loan: CarePlugin) -> None:
    found = {p.name: p for p in discover_plugins()}
    assert found["aids_loan"] is aids_loan
    assert aids_loan.version == "1.0.0" == importlib.metadata.version("careflow-aids-loan")
    assert [(r.name, r.title_zh) for r in aids_loan.roles] == [("rehab_officer", "康复专员")]
    registry = PluginRegistry.build([engine_plugin, aids_loan])
    assert registry.role_owner("rehab_officer") is aids_loan
    assert [s.module for s in registry.processes.values() if s.id.startswith("aids_loan.")] == [
        "aids_loan",
        "aids_loan",
    ]
    # Its migrations folder shipped with the package, beside the installed code.
    (folder,) = aids_loan.migration_folders()
    assert folder.is_absolute() and (folder / "0002_aids_loan.py").is_file()


def test_migrate_creates_its_table_on_its_own_branch(
    installed: Path, aids_loan: CarePlugin, tmp_path: Path
) -> None:
    url = f"sqlite:///{(tmp_path / 'fresh.db').as_posix()}"
    shown = _cli(
        installed,
        [engine_plugin, aids_loan],
        "migrate",
        "--json",
        CAREFLOW_DATA_DIR=str(tmp_path),
        CAREFLOW_DATABASE_URL=url,
    )
    report = json.loads(shown.stdout)
    assert "0002_aids_loan" in report["revision"].split(","), report
    assert report["orphaned"] == []
    engine = make_engine(url)
    try:
        assert TABLE in inspect(engine).get_table_names()
        # The revision file and the sqlmodel table describe the same table.
        mine = MetaData(naming_convention=SQLModel.metadata.naming_convention)
        SQLModel.metadata.tables[TABLE].to_metadata(mine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _parents: kind != "table" or name == TABLE,
                },
            )
            assert compare_metadata(context, mine) == []
    finally:
        engine.dispose()


def test_the_cli_lists_and_plans_it(installed: Path, aids_loan: CarePlugin) -> None:
    plugins = [engine_plugin, aids_loan]
    listed = _cli(installed, plugins, "plugins").stdout
    assert "aids_loan 1.0.0 · 辅具租借" in listed
    assert "rehab_officer 康复专员" in listed
    assert "event aids.returned → aids_loan.loan signal aid_returned" in listed
    processes = json.loads(_cli(installed, plugins, "processes", "--json").stdout)
    loan = next(p for p in processes if p["id"] == "aids_loan.loan")
    assert (loan["plugin"], loan["module"]) == ("aids_loan", "aids_loan")
    assert DISTRICT in loan["enabled_in"]
    planned = json.loads(
        _cli(installed, plugins, "plan", "aids_loan.loan", "--district", DISTRICT, "--json").stdout
    )
    (step,) = planned["steps"]
    assert (step["key"], step["point"], step["plugin"]) == (
        "aids_loan.assessment",
        "assessment",
        "aids_loan",
    )
    assert step["task"]["role"] == "rehab_officer"
    assert step["task"]["escalation"] == [{"role": "district_admin", "due": "P2D"}]


async def test_its_schedule_is_synced_for_every_district(
    installed: Path, aids_loan: CarePlugin, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = {
        "CAREFLOW_DATA_DIR": str(tmp_path),
        "CAREFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "CAREFLOW_TASK_QUEUE": "aids-loan-schedules",
    }
    wanted = f"careflow.aids_loan.overdue_sweep.{DISTRICT}"
    try:
        synced = await asyncio.to_thread(
            _cli, installed, [engine_plugin, aids_loan], "schedules", "sync", "--json", **settings
        )
        assert wanted in json.loads(synced.stdout)["created"]
        deadline = time.monotonic() + 20
        while True:  # the schedule list comes from visibility, which lags behind creates
            listed = await asyncio.to_thread(
                _cli,
                installed,
                [engine_plugin, aids_loan],
                "schedules",
                "list",
                "--json",
                **settings,
            )
            ids = [s["schedule_id"] for s in json.loads(listed.stdout)]
            if wanted in ids or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert wanted in ids
    finally:
        await service.sync_schedules(
            dev_env.client, PluginRegistry.build([engine_plugin]), task_queue="aids-loan-schedules"
        )


@pytest.fixture
def loan_engine(aids_loan: CarePlugin, tmp_path: Path) -> Iterator[Engine]:
    """An app database migrated for the engine and the module: the core's tables and ``al_loan``."""
    url = f"sqlite:///{(tmp_path / 'loan.db').as_posix()}"
    upgrade(url, plugins=[engine_plugin, aids_loan])
    engine = make_engine(url)
    yield engine
    engine.dispose()


async def _open_task(engine: Engine, step_key: str, *, timeout: float = 15.0) -> Any:
    """The one open task of ``step_key`` in any workflow (a Delivery's id is the child's own)."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            found = [
                t
                for t in crud.list_tasks(session, status="open", now=datetime.now(UTC))
                if t.step_key == step_key
            ]
        if found:
            (task,) = found
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"no open task {step_key!r} in {timeout}s")
        await asyncio.sleep(0.05)


async def _loan_row(engine: Engine, workflow_id: str, *, status: str) -> Any:
    """The loan row of ``workflow_id`` once it has ``status``."""
    table = SQLModel.metadata.tables[TABLE]
    deadline = time.monotonic() + 15
    while True:
        with Session(engine) as session:
            row = session.execute(
                select(table).where(table.c.workflow_id == workflow_id)
            ).one_or_none()
        if row is not None and row.status == status:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"loan of {workflow_id} not {status}: {row}")
        await asyncio.sleep(0.05)


async def _notified(engine: Engine, workflow_id: str, key: str) -> list[tuple[str, str, str]]:
    """The outbox rows of ``workflow_id`` once one has step key ``key``."""
    deadline = time.monotonic() + 15
    while True:
        sent = notifications_of(engine, workflow_id)
        if any(k == key for k, _, _ in sent) or time.monotonic() > deadline:
            return sent
        await asyncio.sleep(0.05)


async def _hand_over(client: Client, engine: Engine) -> str:
    """Complete the one running Delivery's drop-off and hand-over; its workflow id."""
    dropoff = await _open_task(engine, "dropoff")
    await service.complete_task(
        client,
        engine,
        task_id=dropoff.task_id,
        actor="S0003",
        role="community_staff",
        data={"items_match": True},
    )
    handover = await wait_for_task(engine, dropoff.workflow_id, "handover")
    await service.complete_task(
        client,
        engine,
        task_id=handover.task_id,
        actor="S0002",
        role="grid_worker",
        data={"handed_over": True, "receipt_ref": "R-AL-1"},
    )
    return dropoff.workflow_id


async def _return_aid(
    client: Client, registry: PluginRegistry, engine: Engine, *, case_ref: str, queue: str
) -> None:
    """Send ``aids.returned`` for ``case_ref`` through the service, its check included."""
    await service.route_event(
        client,
        registry,
        event_type="aids.returned",
        data={"district": DISTRICT, "case_ref": case_ref, "condition": "good"},
        task_queue=queue,
        engine=engine,
    )


async def test_a_loan_runs_from_request_to_return_and_replays(
    aids_loan: CarePlugin, ts_env: WorkflowEnvironment, loan_engine: Engine
) -> None:
    client, engine = ts_env.client, loan_engine
    registry = PluginRegistry.build([engine_plugin, aids_loan])
    async with running_worker(client, registry, engine=engine) as worker:
        started = await service.start_process(
            client,
            registry,
            process="aids_loan.loan",
            district=DISTRICT,
            request={"elder_ref": ELDER, "aid": "wheelchair", "loan_days": 30},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        loan_id = started.workflow_id
        assert ELDER not in loan_id and started.case_ref not in loan_id

        # The assessment waits in the rehabilitation officer's inbox; nobody else may do it.
        task = await wait_for_task(engine, loan_id, "aids_loan.assessment")
        with Session(engine) as session:
            inbox = crud.list_tasks(session, role="rehab_officer", district=DISTRICT, status="open")
        assert [t.task_id for t in inbox] == [task.task_id]
        assessment = {"approved": True, "aid_confirmed": "walker", "note": "行走不稳，改借助行器"}
        with pytest.raises(InputError) as refused:
            await service.complete_task(
                client,
                engine,
                task_id=task.task_id,
                actor="S0002",
                role="grid_worker",
                data=assessment,
            )
        assert refused.value.field == "role"
        await service.complete_task(
            client,
            engine,
            task_id=task.task_id,
            actor="S0101",
            role="rehab_officer",
            data=assessment,
        )

        # The aid goes out through the engine's Delivery, a child with its own tasks.
        delivery_id = await _hand_over(client, engine)
        assert delivery_id.startswith(f"delivery-{DISTRICT}-") and ELDER not in delivery_id
        row = await _loan_row(engine, loan_id, status="on_loan")
        assert (row.aid, row.case_ref, row.district) == ("walker", started.case_ref, DISTRICT)
        delivered = await client.get_workflow_handle(delivery_id).describe()
        assert delivered.status == WorkflowExecutionStatus.COMPLETED
        assert delivered.parent_id == loan_id

        # Seven days before the due date (30 - 7), the elder is reminded through the outbox.
        assert not any(key == "reminder" for key, _, _ in notifications_of(engine, loan_id))
        await ts_env.sleep(timedelta(days=23, hours=1))
        reminded = await _notified(engine, loan_id, "reminder")
        assert ("reminder", ELDER, "aids_loan_return_reminder") in reminded

        # A return for a case with nothing on loan is refused naming the field; this one lands.
        with pytest.raises(InputError) as unknown:
            await service.route_event(
                client,
                registry,
                event_type="aids.returned",
                task_queue=worker.task_queue,
                data={"district": DISTRICT, "case_ref": "C-NOTHING-LENT"},
                engine=engine,
            )
        assert unknown.value.field == "data.case_ref"
        await _return_aid(
            client, registry, engine, case_ref=started.case_ref, queue=worker.task_queue
        )
        handle = client.get_workflow_handle(loan_id)
        result = await result_of(ts_env, handle)
        assert (result["outcome"], result["aid"]) == ("returned", "walker")
        assert (result["reminded"], result["overdue"]) == (True, False)
        row = await _loan_row(engine, loan_id, status="returned")
        assert row.returned_at is not None and row.return_condition == "good"
        assert row.returned_at < row.due_at
        assert ("returned", "aid_returned") in records_of(engine, loan_id)

        # The daily report counts nothing overdue in the district.
        report = await service.start_process(
            client,
            registry,
            process="aids_loan.overdue_report",
            district=DISTRICT,
            request={},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        # Its result is awaited without skipping time (no result_of): the loan waits for its
        # aid with no timer, so a skipping server would jump to the loan's execution timeout.
        counted = await client.get_workflow_handle(report.workflow_id).result()
        assert counted == {"overdue": 0}

    # The run replays on the module's workflows: they are deterministic.
    history = await handle.fetch_history()
    replayed = await Replayer(
        workflows=[wf for plugin in registry.plugins for wf in plugin.all_workflows()],
        data_converter=client.data_converter,
        workflow_runner=workflow_runner(),
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None, replayed.replay_failure


async def test_a_loan_past_its_due_date_stays_overdue_until_the_aid_comes_back(
    aids_loan: CarePlugin, ts_env: WorkflowEnvironment, loan_engine: Engine
) -> None:
    client, engine = ts_env.client, loan_engine
    registry = PluginRegistry.build([engine_plugin, aids_loan])
    async with running_worker(client, registry, engine=engine) as worker:
        started = await service.start_process(
            client,
            registry,
            process="aids_loan.loan",
            district=DISTRICT,
            request={"elder_ref": ELDER, "aid": "commode", "loan_days": 10},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        loan_id = started.workflow_id
        task = await wait_for_task(engine, loan_id, "aids_loan.assessment")
        await service.complete_task(
            client,
            engine,
            task_id=task.task_id,
            actor="S0101",
            role="rehab_officer",
            data={"approved": True},
        )
        await _hand_over(client, engine)
        await _loan_row(engine, loan_id, status="on_loan")

        # Past the due date: the row says overdue, the officer is told, the UI flags it.
        await ts_env.sleep(timedelta(days=10, hours=1))
        row = await _loan_row(engine, loan_id, status="overdue")
        assert row.aid == "commode" and row.returned_at is None
        sent = await _notified(engine, loan_id, "overdue")
        assert ("reminder", ELDER, "aids_loan_return_reminder") in sent
        assert ("overdue", "role:rehab_officer", "aids_loan_overdue") in sent
        handle = client.get_workflow_handle(loan_id)
        described = await handle.describe()
        assert described.typed_search_attributes.get(CARE_OVERDUE) is True

        # The daily report finds it and tells the district's officers.
        report = await service.start_process(
            client,
            registry,
            process="aids_loan.overdue_report",
            district=DISTRICT,
            request={},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        # Its result is awaited without skipping time (no result_of): the loan waits for its
        # aid with no timer, so a skipping server would jump to the loan's execution timeout.
        counted = await client.get_workflow_handle(report.workflow_id).result()
        assert counted == {"overdue": 1}
        assert notifications_of(engine, report.workflow_id) == [
            ("report", "role:rehab_officer", "aids_loan_overdue_report")
        ]

        await _return_aid(
            client, registry, engine, case_ref=started.case_ref, queue=worker.task_queue
        )
        result = await result_of(ts_env, handle)
        assert (result["outcome"], result["overdue"]) == ("returned", True)
        row = await _loan_row(engine, loan_id, status="returned")
        assert row.returned_at is not None and row.returned_at > row.due_at


def test_a_role_no_loaded_plugin_declares_is_refused(aids_loan: CarePlugin) -> None:
    without_role = dataclasses.replace(aids_loan, roles=())
    with pytest.raises(PluginError) as refused:
        PluginRegistry.build([engine_plugin, without_role])
    assert refused.value.plugin == "aids_loan"
    assert "rehab_officer" in str(refused.value)
