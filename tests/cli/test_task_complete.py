"""``careflow task complete`` acts as a named account and rejects what is plainly wrong (or not
the account's to do) before contacting Temporal; every attempt leaves an audit row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careflow.db import crud, make_engine, session_scope
from careflow.forms import form_ref, form_schema
from careflow.models import TaskStatus
from cli import app
from plugins.engine.delivery import HandoverForm
from tests.cli.helpers import assert_bad_input

COMPLETE = ["task", "complete"]


JIUSI = "wanbailin.wanghua.jiusi"


@pytest.fixture
def migrated(runner: CliRunner) -> str:
    """Migrate and seed the test database (registry and demo accounts) through the CLI."""
    result = runner.invoke(app, ["seed-demo", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["demo_accounts"] > 0
    result = runner.invoke(app, ["migrate", "--json"])
    return str(json.loads(result.stdout)["database"])


def _account(runner: CliRunner, username: str) -> str:
    result = runner.invoke(app, ["staff", "list", "--json"])
    assert result.exit_code == 0, result.stderr
    return next(a["staff_id"] for a in json.loads(result.stdout) if a["username"] == username)


def _audit(runner: CliRunner) -> list[tuple[str, str, str | None]]:
    result = runner.invoke(app, ["audit", "--action", "task.complete", "--json"])
    assert result.exit_code == 0, result.stderr
    return [(r["actor"], r["outcome"], r["reason"]) for r in json.loads(result.stdout)]


@pytest.fixture
def grid(runner: CliRunner, migrated: str) -> str:
    """The demo grid worker of 九四社区, whose inbox the task opens in."""
    return _account(runner, f"{JIUSI}-grid_worker")


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


def test_unknown_task_id(runner: CliRunner, migrated: str, grid: str) -> None:
    result = runner.invoke(
        app,
        [*COMPLETE, "T-nope", "--actor", grid, "--role", "grid_worker", "--data", "-"],
        input='{"handed_over": true, "receipt_ref": "R-1"}',
    )
    assert_bad_input(result, "task_id", "'T-nope'")


def test_closed_task(runner: CliRunner, migrated: str, grid: str) -> None:
    _open_task(migrated, status=TaskStatus.DONE)
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", grid, "--role", "grid_worker", "--data", "-"],
        input='{"handed_over": true, "receipt_ref": "R-1"}',
    )
    assert_bad_input(result, "task_id", "already done")


def test_form_that_does_not_validate(runner: CliRunner, migrated: str, grid: str) -> None:
    _open_task(migrated)
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", grid, "--role", "grid_worker", "--data", "-"],
        input='{"handed_over": true}',
    )
    assert_bad_input(result, "data", "receipt_ref")


def test_data_must_be_an_object(runner: CliRunner, migrated: str, grid: str) -> None:
    _open_task(migrated)
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", grid, "--role", "grid_worker", "--data", "-"],
        input="[true]",
    )
    assert_bad_input(result, "data", "JSON object")


def test_unknown_role(runner: CliRunner, migrated: str, grid: str) -> None:
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", grid, "--role", "mayor", "--data", "-"],
        input="{}",
    )
    assert_bad_input(result, "role", "'mayor'")


def test_missing_data_file(runner: CliRunner, migrated: str, grid: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", grid, "--role", "grid_worker", "--data", "nope.json"],
    )
    assert_bad_input(result, "data", "nope.json")


def test_valid_completion_needs_temporal(runner: CliRunner, migrated: str, grid: str) -> None:
    """Input that passes every local check goes to the workflow; no server → exit 1."""
    _open_task(migrated)
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", grid, "--role", "grid_worker", "--data", "-"],
        input='{"handed_over": true, "receipt_ref": "R-1"}',
    )
    assert result.exit_code == 1, result.stderr
    assert "cannot reach Temporal" in result.stderr
    assert _audit(runner) == [(grid, "failed", "temporal_unavailable")]


def test_an_actor_must_be_an_existing_account(
    runner: CliRunner, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAREFLOW_ACTOR")
    _open_task(migrated)
    data = '{"handed_over": true, "receipt_ref": "R-1"}'
    result = runner.invoke(app, [*COMPLETE, "T-1", "--data", "-"], input=data)
    assert_bad_input(result, "actor", "--actor")
    result = runner.invoke(app, [*COMPLETE, "T-1", "--actor", "S9999", "--data", "-"], input=data)
    assert_bad_input(result, "actor", "S9999")
    assert _audit(runner) == [("S9999", "refused", "unknown")]


def test_staff_of_another_community_or_role_are_refused_and_audited(
    runner: CliRunner, migrated: str
) -> None:
    _open_task(migrated)
    data = '{"handed_over": true, "receipt_ref": "R-1"}'
    other = _account(runner, "wanbailin.wanghua.wanghua_north-grid_worker")
    staff = _account(runner, f"{JIUSI}-community_staff")
    auditor = _account(runner, "wanbailin-auditor")
    expected = []
    for actor, reason in ((other, "out_of_scope"), (staff, "wrong_role"), (auditor, "read_only")):
        result = runner.invoke(app, [*COMPLETE, "T-1", "--actor", actor, "--data", "-"], input=data)
        assert result.exit_code == 2, result.stderr
        assert reason in result.stderr
        expected.insert(0, (actor, "refused", reason))
    assert _audit(runner) == expected
    # Claiming a role one does not hold is refused too, even by the task's own grid worker.
    grid = _account(runner, f"{JIUSI}-grid_worker")
    result = runner.invoke(
        app,
        [*COMPLETE, "T-1", "--actor", grid, "--role", "community_staff", "--data", "-"],
        input=data,
    )
    assert_bad_input(result, "role", "grid_worker")


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
