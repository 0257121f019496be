"""``plugins check`` says how many ids it left out; ``schedules sync`` reports unchanged ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from careflow.service import PluginDependency
from cli import app, plugins_cmd, schedules_cmd

IDS = [f"delivery-wanbailin-C{n}" for n in range(25)]


@pytest.fixture
def dependencies(monkeypatch: pytest.MonkeyPatch) -> None:
    async def _deps(_: Any) -> list[PluginDependency]:
        return [
            PluginDependency(
                plugin="engine", plan_version="0.1.0", installed_version="0.1.0", workflow_ids=IDS
            )
        ]

    monkeypatch.setattr(plugins_cmd, "_dependencies", _deps)


def test_plugins_check_says_how_many_ids_it_left_out(runner: CliRunner, dependencies: None) -> None:
    result = runner.invoke(app, ["plugins", "check"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("25 running")
    assert lines[1:21] == [f"    {wid}" for wid in IDS[:20]]
    assert "5 more not shown (--json lists all)" in lines[21]
    assert len(lines) == 22


def test_plugins_check_json_lists_every_id(runner: CliRunner, dependencies: None) -> None:
    result = runner.invoke(app, ["plugins", "check", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["workflow_ids"] == IDS


def test_short_lists_have_no_notice() -> None:
    assert plugins_cmd.workflow_id_lines(IDS[:20]) == [f"    {wid}" for wid in IDS[:20]]


def test_schedules_sync_reports_unchanged_schedules(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = {
        "created": [],
        "updated": ["careflow.a.wanbailin"],
        "unchanged": ["careflow.b.wanbailin", "careflow.b.xiaodian"],
        "deleted": [],
    }

    async def _sync(_: Any) -> dict[str, list[str]]:
        return report

    monkeypatch.setattr(schedules_cmd, "_sync", _sync)
    result = runner.invoke(app, ["schedules", "sync"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "定时任务同步 schedules synced: 0 created 新建, 1 updated 更新, 2 unchanged 未变, "
        "0 deleted 删除",
        "  updated: careflow.a.wanbailin",
    ]
    as_json = runner.invoke(app, ["schedules", "sync", "--json"])
    assert json.loads(as_json.stdout)["unchanged"] == report["unchanged"]
