"""Broken plugins, bad settings and an unreachable Temporal: one line, a stable exit status."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

import careflow.registry
from careflow.contract import CarePlugin, WaitStep
from cli import app
from plugins.engine import plugin as engine_plugin
from tests.cli.helpers import assert_bad_input

DELIVERY = {"recipient_ref": "P00012", "items": [{"category": "school_bag"}]}

BROKEN = CarePlugin(
    name="broken_district",
    version="0.0.1",
    title_zh="坏插件",
    title_en="Broken plugin",
    steps=(
        WaitStep(
            key="nap",
            process="no_such_process",
            point="after_dropoff",
            summary_zh="等待",
            duration=timedelta(hours=1),
        ),
    ),
)


@pytest.fixture
def broken_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery finds the engine plus a plugin whose step names an unknown process."""
    monkeypatch.setattr(careflow.registry, "discover_plugins", lambda **_: [engine_plugin, BROKEN])
    monkeypatch.delenv("CAREFLOW_PLUGINS")  # as installed, not an allow-list


@pytest.mark.parametrize(
    "args",
    [
        ["plugins"],
        ["processes", "--json"],
        ["plan", "delivery", "-d", "wanbailin"],
        ["tasks"],
        ["migrate"],
        ["seed-demo"],
        ["schedules", "list"],
        ["worker"],
        ["dev"],
    ],
)
def test_broken_plugin_stops_every_command(
    runner: CliRunner, broken_plugin: None, args: list[str]
) -> None:
    result = runner.invoke(app, args)
    line = assert_bad_input(result, "broken_district", "no_such_process")
    if "--json" in args:  # with --json the one line is a JSON error
        assert json.loads(line)["error"]["exit_code"] == 2
    else:
        assert line.startswith("插件错误 plugin error: ")


def test_broken_plugin_config(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREFLOW_PLUGIN_CONFIG", "missing.toml")
    assert_bad_input(runner.invoke(app, ["plugins"]), "missing.toml")


def test_bad_setting_names_the_variable(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREFLOW_UI_PORT", "eighty")
    assert_bad_input(runner.invoke(app, ["plugins"]), "CAREFLOW_UI_PORT")


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["start", "delivery", "-d", "wanbailin", "--input", "-"], json.dumps(DELIVERY)),
        (["status", "delivery-wanbailin-C1"], None),
        (
            ["event", "delivery.dropoff", "--data", "-"],
            json.dumps({"district": "wanbailin", "case_ref": "C1", "device_id": "ST-1"}),
        ),
        (["schedules", "sync"], None),
        (["schedules", "list", "--json"], None),
    ],
)
def test_temporal_unreachable_exits_1(
    runner: CliRunner, args: list[str], stdin: str | None
) -> None:
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0  # only Temporal is missing
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "cannot reach Temporal" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
