"""The CLI finds the same data directory from any folder, and says where it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careflow.datadir import default_data_dir
from cli import app


def test_nearest_enclosing_careflow_folder_wins(tmp_path: Path) -> None:
    (tmp_path / "project" / ".careflow").mkdir(parents=True)
    deep = tmp_path / "project" / "a" / "b"
    deep.mkdir(parents=True)
    found = default_data_dir(cwd=deep, environ={}, checkout=tmp_path / "checkout")
    assert found == (tmp_path / "project" / ".careflow").resolve()


def test_then_the_checkout_then_the_user_data_folder(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    checkout = tmp_path / "checkout"
    assert default_data_dir(cwd=lonely, environ={}, checkout=checkout) == (
        checkout.resolve() / ".careflow"
    )
    home = {"HOME": str(tmp_path / "home")}
    assert (
        default_data_dir(cwd=lonely, environ=home, checkout=None)
        == (tmp_path / "home" / ".local" / "share" / "careflow").resolve()
    )
    xdg = {**home, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert default_data_dir(cwd=lonely, environ=xdg, checkout=None) == (
        (tmp_path / "xdg" / "careflow").resolve()
    )


def test_tasks_from_a_subfolder_use_the_project_database(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    monkeypatch.delenv("CAREFLOW_DATABASE_URL")
    monkeypatch.setenv("CAREFLOW_DATA_DIR", str(project / ".careflow"))
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    monkeypatch.delenv("CAREFLOW_DATA_DIR")
    deep = project / "reports" / "2026"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)

    result = runner.invoke(app, ["tasks", "--json"])

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert not (deep / ".careflow").exists()  # nothing created where the command ran


def test_relative_data_dir_is_made_absolute_once(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREFLOW_DATA_DIR", "state")
    monkeypatch.delenv("CAREFLOW_DATABASE_URL")
    result = runner.invoke(app, ["migrate", "--json"])
    assert result.exit_code == 0, result.stderr
    database = json.loads(result.stdout)["database"]
    assert database == f"sqlite:///{(tmp_path / 'state' / 'careflow.db').resolve().as_posix()}"


def test_help_says_where_the_data_is(runner: CliRunner, cli_env: Path) -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert f"数据目录 data directory: {cli_env.resolve()}" in result.stdout
    assert "CAREFLOW_DATA_DIR" in result.stdout


def test_missing_database_is_one_line_naming_where_and_creates_nothing(
    runner: CliRunner, cli_env: Path
) -> None:
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert str(cli_env.resolve()) in line and "careflow migrate" in line
    assert not cli_env.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["start", "delivery", "-d", "wanbailin", "--input", "-"],
        ["event", "delivery.dropoff", "--data", "-"],
        ["tasks"],
        ["status", "delivery-wanbailin-C1"],
        ["task", "complete", "T-1", "--actor", "S1", "--role", "grid_worker", "--data", "-"],
    ],
)
def test_unmigrated_database_refuses_every_command_that_needs_it(
    runner: CliRunner, cli_env: Path, args: list[str]
) -> None:
    cli_env.mkdir(parents=True)
    (cli_env / "careflow.db").touch()  # an empty SQLite file: not migrated
    payloads = {
        "start": {"recipient_ref": "P00012", "items": [{"category": "school_bag"}]},
        "event": {"district": "wanbailin", "case_ref": "C1", "device_id": "ST-1"},
        "task": {"handed_over": True, "receipt_ref": "R-1"},
    }
    result = runner.invoke(app, args, input=json.dumps(payloads.get(args[0], {})))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "数据库未迁移 database not migrated" in line and "careflow migrate" in line
    assert str(cli_env.resolve()) in line
