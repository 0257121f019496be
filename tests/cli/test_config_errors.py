"""A broken district configuration or setting stops every command with one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.cli.helpers import assert_bad_input

GREEN = '[district.wanbailin."eldercare.green_channel"]\n'

#: Commands that must all refuse a broken configuration before doing anything.
COMMANDS = [["plugins"], ["plan", "delivery", "-d", "wanbailin"], ["tasks"], ["worker"]]


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes) -> Path:
    config = tmp_path / "districts.toml"
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CAREFLOW_PLUGIN_CONFIG", str(config))
    return config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GREEN + "follow_up_days = [0, 0]\n", ["follow_up_days.0", "greater than or equal to 1"]),
        (GREEN + "follow_up_days = [1, 1]\n", ["follow_up_days", "days repeat: [1]"]),
        (GREEN + "follow_up_days = [-3]\n", ["follow_up_days.0"]),
        (GREEN + "follow_up_days = [30, 7]\n", ["increasing order"]),
        (
            '[district.wanbailin.delivery]\nhandover_due = "-PT5M"\n',
            ["[district.wanbailin.delivery]", "handover_due: Input should be greater than 0"],
        ),
        (
            '[district.wanbailin.delivery]\nhandover_dux = "PT12H"\n',
            ["[district.wanbailin.delivery]", "handover_dux: unknown key", "handover_due?"],
        ),
        (
            '[district.wanbailin."eldercare.health_monitor"]\nrules = { systolic_hgh = 150 }\n',
            ["rules.systolic_hgh: unknown key", "systolic_high?"],
        ),
        (
            "[district.wanbailin]\ndelivery = 5\n",
            [
                "[district.wanbailin]",
                "delivery = 5 is not a table",
                "[district.wanbailin.delivery]",
            ],
        ),
        ("[district]\nwanbailin = 5\n", ["[district]", "wanbailin = 5 is not a table"]),
        (
            "[district.wanbailin.childcare.microwish]\nmin_age = 3\n",
            ["unknown process 'childcare'", "quote", '[district.wanbailin."childcare.microwish"]'],
        ),
        (
            '[district.wanbailin."childcare.microwsh"]\nmin_age = 3\n',
            ["unknown process 'childcare.microwsh'", '[district.wanbailin."childcare.microwish"]'],
        ),
        (
            '[district.wanbailin."eldercare.nothing_like_it"]\nx = 1\n',
            ["unknown process", "quote ids that contain a dot", '[district.wanbailin."'],
        ),
        ('[district.atlantis.delivery]\nhandover_due = "P1D"\n', ["unknown district 'atlantis'"]),
    ],
)
def test_bad_configuration_is_one_line_naming_file_table_and_key(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    expected: list[str],
) -> None:
    config = _config(tmp_path, monkeypatch, text)
    line = assert_bad_input(runner.invoke(app, ["plugins"]), str(config), *expected)
    assert line.startswith(f"错误 error: plugin configuration {config} ")


@pytest.mark.parametrize("args", COMMANDS)
def test_config_that_is_not_utf8_stops_every_command(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    config = _config(
        tmp_path, monkeypatch, b'[district.wanbailin.delivery]\nhandover_due = "P1D" # \xb2\xe2\n'
    )
    assert_bad_input(runner.invoke(app, args), str(config), "not UTF-8 text")


@pytest.mark.parametrize("args", COMMANDS)
def test_config_with_a_value_for_a_table_stops_every_command(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    config = _config(tmp_path, monkeypatch, "[district.wanbailin]\ndelivery = 5\n")
    assert_bad_input(runner.invoke(app, args), str(config), "delivery = 5 is not a table")


def test_quoted_module_table_applies(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(tmp_path, monkeypatch, GREEN + "follow_up_days = [2, 14]\n")
    result = runner.invoke(app, ["plan", "eldercare.green_channel", "-d", "wanbailin", "--json"])
    assert result.exit_code == 0, result.stderr
    assert '"follow_up_days": [\n      2,\n      14\n    ]' in result.stdout


@pytest.mark.parametrize("args", [["plugins"], ["tasks"], ["worker"], ["schedules", "sync"]])
def test_bad_temporal_address_names_the_variable(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("CAREFLOW_TEMPORAL_ADDRESS", "not an address")
    line = assert_bad_input(runner.invoke(app, args), "CAREFLOW_TEMPORAL_ADDRESS", "host:port")
    assert line.startswith("错误 error: CAREFLOW_TEMPORAL_ADDRESS: ")
