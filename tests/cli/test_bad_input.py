"""Bad input exits 2 with one line naming the field, and starts or writes nothing.

No test here has a Temporal server: the CLI must reject bad input before it connects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.cli.helpers import assert_bad_input

DELIVERY = {
    "recipient_ref": "P00012",
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
}


@pytest.fixture
def delivery_file(tmp_path: Path) -> Path:
    path = tmp_path / "delivery.json"
    path.write_text(json.dumps(DELIVERY), encoding="utf-8")
    return path


def test_start_unknown_process(runner: CliRunner, delivery_file: Path) -> None:
    result = runner.invoke(app, ["start", "nope", "-d", "wanbailin", "--input", str(delivery_file)])
    assert_bad_input(result, "process", "'nope'")


def test_start_unknown_district(runner: CliRunner, delivery_file: Path) -> None:
    result = runner.invoke(
        app, ["start", "delivery", "--district", "atlantis", "--input", str(delivery_file)]
    )
    assert_bad_input(result, "district", "'atlantis'")


def test_start_request_that_does_not_validate(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"recipient_ref": "P00012"}), encoding="utf-8")
    result = runner.invoke(app, ["start", "delivery", "-d", "wanbailin", "--input", str(path)])
    line = assert_bad_input(result, "input.items", "Field required")
    assert line.startswith("错误 error: ")


def test_start_nested_field_is_named(runner: CliRunner, tmp_path: Path) -> None:
    bad = {**DELIVERY, "items": [{"category": "school_bag", "quantity": 0}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = runner.invoke(app, ["start", "delivery", "-d", "wanbailin", "--input", str(path)])
    assert_bad_input(result, "input.items.0.quantity")


def test_start_unreadable_input_file(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = runner.invoke(app, ["start", "delivery", "-d", "wanbailin", "--input", str(missing)])
    assert_bad_input(result, "input", "cannot read", "missing.json")


def test_start_input_is_a_directory(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["start", "delivery", "-d", "wanbailin", "--input", str(tmp_path)])
    assert_bad_input(result, "input", "cannot read")


def test_start_invalid_json(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"recipient_ref": ', encoding="utf-8")
    result = runner.invoke(app, ["start", "delivery", "-d", "wanbailin", "--input", str(path)])
    assert_bad_input(result, "input", "not valid JSON", "line 1")


def test_start_reads_stdin(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["start", "delivery", "-d", "wanbailin", "--input", "-"], input="[1, 2]"
    )
    assert_bad_input(result, "input", "object")


def test_start_empty_stdin(runner: CliRunner) -> None:
    result = runner.invoke(app, ["start", "delivery", "-d", "wanbailin", "--input", "-"], input="")
    assert_bad_input(result, "input", "stdin is not valid JSON")


def test_event_unknown_type(runner: CliRunner, delivery_file: Path) -> None:
    result = runner.invoke(app, ["event", "nope.happened", "--data", str(delivery_file)])
    assert_bad_input(result, "event_type", "'nope.happened'")


def test_event_payload_missing_a_field(runner: CliRunner) -> None:
    payload = {"district": "wanbailin", "case_ref": "MW-0001"}
    result = runner.invoke(
        app, ["event", "delivery.dropoff", "--data", "-"], input=json.dumps(payload)
    )
    assert_bad_input(result, "data.device_id", "Field required")


def test_event_unknown_district(runner: CliRunner) -> None:
    payload = {"district": "atlantis", "case_ref": "MW-0001", "device_id": "ST-1"}
    result = runner.invoke(
        app, ["event", "delivery.dropoff", "--data", "-"], input=json.dumps(payload)
    )
    assert_bad_input(result, "district", "'atlantis'")


def test_event_invalid_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["event", "delivery.dropoff", "--data", "-"], input="{oops")
    assert_bad_input(result, "data", "not valid JSON")


def test_plan_unknown_district(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", "delivery", "--district", "atlantis", "--json"])
    assert_bad_input(result, "district")


def test_plan_unknown_process(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plan", "nope", "--district", "wanbailin"])
    assert_bad_input(result, "process", "known: ")


def test_tasks_unknown_role(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tasks", "--role", "pope"])
    assert_bad_input(result, "role", "'pope'")


def test_tasks_unknown_status_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tasks", "--status", "bogus"])
    assert result.exit_code == 2
    assert result.stdout == ""
