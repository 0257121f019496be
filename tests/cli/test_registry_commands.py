"""``plugins``, ``processes`` and ``plan``: what the loaded plugins declare, as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app


def test_plugins_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    engine = plugins["engine"]
    assert engine["version"]
    assert engine["title_zh"] and engine["title_en"]
    assert "delivery" in engine["processes"]
    assert {"event_type": "delivery.dropoff", "process": "delivery"}.items() <= next(
        r for r in engine["routes"] if r["event_type"] == "delivery.dropoff"
    ).items()
    for plugin in plugins.values():
        for step in plugin["steps"]:
            assert {"key", "process", "point", "kind", "districts"} <= step.keys()


def test_plugins_human(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plugins"])
    assert result.exit_code == 0
    assert "engine" in result.stdout
    assert "流程 processes" in result.stdout


def test_processes_json_has_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["processes", "--json"])
    assert result.exit_code == 0, result.stderr
    processes = {p["id"]: p for p in json.loads(result.stdout)}
    delivery = processes["delivery"]
    schema = delivery["request_schema"]
    assert schema["type"] == "object"
    assert {"recipient_ref", "items"} <= set(schema["required"])
    assert schema["properties"]["items"]["type"] == "array"
    assert "$defs" in schema  # the item model is referenced, as JSON Schema does
    assert "handover_due" in delivery["params_schema"]["properties"]
    assert delivery["extension_points"] == ["after_dropoff", "after_handover", "before_close"]
    assert delivery["module"] == "shared"
    assert delivery["title_zh"] == "物资配送"
    assert "wanbailin" in delivery["enabled_in"]


def test_plan_delivery_wanbailin_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", "delivery", "--district", "wanbailin", "--json"])
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["process"] == "delivery"
    assert plan["district"] == "wanbailin"
    assert "engine" in plan["plugins"]
    assert "handover_due" in plan["params"]
    for step in plan["steps"]:
        assert step["plugin"] in plan["plugins"]
        assert step["plugin_version"] == plan["plugins"][step["plugin"]]


def test_plan_applies_the_plugin_config(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "districts.toml"
    config.write_text('[district.wanbailin.delivery]\nhandover_due = "PT36H"\n', encoding="utf-8")
    monkeypatch.setenv("CAREFLOW_PLUGIN_CONFIG", str(config))
    result = runner.invoke(app, ["plan", "delivery", "-d", "wanbailin", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["params"]["handover_due"] == "P1DT12H"
