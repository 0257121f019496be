"""``careflow task complete`` rejects what is plainly wrong before contacting Temporal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careflow.cli import app
from careflow.db import crud, make_engine, session_scope
from careflow.forms import form_ref, form_schema
from careflow.models import TaskStatus
from tests.careflow.cli.helpers import assert_bad_input
from workflows.delivery import HandoverForm

COMPLETE = ["task", "complete"]


@pytest.fixture
def migrated(runner: CliRunner) -> str:
    """Migrate the test database through the CLI; return its URL."""
    result = runner.invoke(app, ["migrate", "--json"])
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["revision"]
    return str(info["database"])


def _open_task(url: str, task_id: str = "T-1", *, status: TaskStatus | None = None) -> None:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            crud.insert_task(
                session,
                task_id=task_id,
                workflow_id=f"delivery-wanbailin-{task_id}",
                step_key="handover",
                process="delivery",
                module="shared",
                district="wanbailin",
                community="wanbailin.wanghua.jiusi",
                case_ref=f"C-{task_id}",
                role="grid_worker",
                title_zh="入户交接物资并签收",
                title_en="Hand over goods and collect the signed receipt",
                form_ref=form_ref(HandoverForm),
                form_schema=form_schema(form_ref(HandoverForm)),
                due_at=datetime.now(UTC) - timedelta(hours=1),
            )
            if status is not None:
                crud.close_task(
                    session,
                    task_id=task_id,
                    status=status,
                    actor="S1",
                    role="grid_worker",
                    result={"handed_over": True, "receipt_ref": "R-1"},
                    closed_at=datetime.now(UTC),
                )
    finally:
        engine.dispose()


def test_unknown_task_id(runner: CliRunner, migrated: str) -> None:
    result = runner.invoke(
        app,
        [*COMPLETE, "T-nope", "--actor", "S1", "--role", "grid_worker", "--data", "-"],
        input='{"handed_over": true, "receipt_ref": "R-1"}',
    )
    assert_bad_input(result, "task_id", "'T-nope'")


def test_closed_task(runner: CliRunner, migrated: str) -> None:
    _open_task(migrated, status=TaskStatus.DONE)
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", "S1", "--role", "grid_worker", "--data", "-"],
        input='{"handed_over": true, "receipt_ref": "R-1"}',
    )
    assert_bad_input(result, "task_id", "already done")


def test_form_that_does_not_validate(runner: CliRunner, migrated: str) -> None:
    _open_task(migrated)
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", "S1", "--role", "grid_worker", "--data", "-"],
        input='{"handed_over": true}',
    )
    assert_bad_input(result, "data", "receipt_ref")


def test_data_must_be_an_object(runner: CliRunner, migrated: str) -> None:
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", "S1", "--role", "grid_worker", "--data", "-"],
        input="[true]",
    )
    assert_bad_input(result, "data", "JSON object")


def test_unknown_role(runner: CliRunner, migrated: str) -> None:
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", "S1", "--role", "mayor", "--data", "-"],
        input="{}",
    )
    assert_bad_input(result, "role", "'mayor'")


def test_missing_data_file(runner: CliRunner, migrated: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", "S1", "--role", "grid_worker", "--data", "nope.json"],
    )
    assert_bad_input(result, "data", "nope.json")


def test_valid_completion_needs_temporal(runner: CliRunner, migrated: str) -> None:
    """Input that passes every local check goes to the workflow; no server → exit 1."""
    _open_task(migrated)
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", "S1", "--role", "grid_worker", "--data", "-"],
        input='{"handed_over": true, "receipt_ref": "R-1"}',
    )
    assert result.exit_code == 1, result.stderr
    assert "cannot reach Temporal" in result.stderr


def test_tasks_lists_rows_with_form_schema(runner: CliRunner, migrated: str) -> None:
    _open_task(migrated, "T-1")
    _open_task(migrated, "T-2", status=TaskStatus.DONE)
    result = runner.invoke(app, ["tasks", "--role", "grid_worker", "--status", "overdue", "--json"])
    assert result.exit_code == 0, result.stderr
    tasks = json.loads(result.stdout)
    assert [t["task_id"] for t in tasks] == ["T-1"]
    task = tasks[0]
    assert task["overdue"] is True
    assert task["form_schema"]["required"] == ["handed_over"]
    assert "receipt_ref" in task["form_schema"]["properties"]
    assert "result" not in task  # free-text form data stays out of listings

    done = json.loads(runner.invoke(app, ["tasks", "--status", "done", "--json"]).stdout)
    assert [t["task_id"] for t in done] == ["T-2"]

    human = runner.invoke(app, ["tasks", "--district", "wanbailin"])
    assert human.exit_code == 0
    assert "入户交接物资并签收" in human.stdout
    assert "逾期 OVERDUE" in human.stdout


def test_tasks_on_an_unmigrated_database_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 1
    assert "careflow migrate" in result.stderr
