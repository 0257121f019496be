"""With ``--json``, errors are JSON on stderr with the exit status; Temporal's own refusals and
deeply nested input are one line; ``CAREFLOW_PLUGINS`` names the plugins the CLI loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.service import RPCError, RPCStatusCode
from typer.testing import CliRunner, Result

import cli.process_cmd
from cli import app
from cli.app import MAX_JSON_DEPTH
from tests.cli.helpers import assert_bad_input

DELIVERY = {"recipient_ref": "P00012", "items": [{"category": "school_bag"}]}
START = ["start", "delivery", "-d", "wanbailin", "--input", "-"]


def _json_error(result: Result, code: int) -> dict[str, object]:
    """The one JSON error line on stderr, nothing on stdout, the same exit status."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    error: dict[str, object] = json.loads(line)["error"]
    assert set(error) == {"field", "message", "exit_code"}
    assert error["exit_code"] == code
    return error


def test_bad_input_with_json_is_a_json_error(runner: CliRunner) -> None:
    error = _json_error(runner.invoke(app, ["plan", "nope", "-d", "wanbailin", "--json"]), 2)
    assert error["field"] == "process" and "nope" in str(error["message"])


def test_bad_payload_with_json_names_the_field(runner: CliRunner) -> None:
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    bad = {**DELIVERY, "items": [{"category": "school_bag", "quantity": "3"}]}
    error = _json_error(runner.invoke(app, [*START, "--json"], input=json.dumps(bad)), 2)
    assert str(error["field"]).startswith("input.items.0.quantity")


def test_usage_error_with_json_is_a_json_error(runner: CliRunner) -> None:
    error = _json_error(runner.invoke(app, ["start", "delivery", "--input", "-", "--json"]), 2)
    assert error["field"] == "district" and "--district" in str(error["message"])


def test_environment_failure_with_json_is_a_json_error(runner: CliRunner, cli_env: Path) -> None:
    error = _json_error(runner.invoke(app, ["tasks", "--json"]), 1)
    assert error["field"] == "database" and str(cli_env.resolve()) in str(error["message"])


def test_without_json_errors_stay_human(runner: CliRunner) -> None:
    line = assert_bad_input(runner.invoke(app, ["plan", "nope", "-d", "wanbailin"]), "nope")
    assert line.startswith("错误 error: process: ")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**DELIVERY, "note": "x"})[:-1] + ', "deep": ' + "[" * 5_000 + "]" * 5_000 + "}",
        json.dumps({**DELIVERY, "deep": json.loads("[" * 100 + "]" * 100)}),
    ],
    ids=["top-level-100000", "field-5000", "field-100"],
)
def test_deeply_nested_input_is_one_line_naming_the_input(runner: CliRunner, text: str) -> None:
    line = assert_bad_input(runner.invoke(app, START, input=text), "input", "nested too deeply")
    assert f"at most {MAX_JSON_DEPTH} levels" in line


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (RPCStatusCode.INVALID_ARGUMENT, 2),
        (RPCStatusCode.RESOURCE_EXHAUSTED, 1),
        (RPCStatusCode.INTERNAL, 1),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_temporal_refusal_is_one_line(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    status: RPCStatusCode,
    code: int,
    as_json: bool,
) -> None:
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0

    async def refuse(*_: object, **__: object) -> None:
        raise RPCError("WorkflowId length exceeds limit.\nmore detail", status, b"")

    monkeypatch.setattr(cli.process_cmd, "_start", refuse)
    args = [*START, "--json"] if as_json else START
    result = runner.invoke(app, args, input=json.dumps(DELIVERY))
    if as_json:
        error = _json_error(result, code)
        assert error["field"] == "temporal"
        assert error["message"] == (
            "Temporal 拒绝了请求 refused the request: WorkflowId length exceeds limit."
            if code == 2
            else f"Temporal error {status.name}: WorkflowId length exceeds limit."
        )
        return
    assert result.exit_code == code and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "WorkflowId length exceeds limit." in line and "Traceback" not in result.stderr


def test_plugins_allow_list_loads_only_those(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREFLOW_PLUGINS", "engine, eldercare")
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.stderr
    assert sorted(p["name"] for p in json.loads(result.stdout)) == ["eldercare", "engine"]


def test_plugins_allow_list_names_an_unknown_plugin(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREFLOW_PLUGINS", "engine,wanbailin_followup")
    assert_bad_input(runner.invoke(app, ["plugins"]), "CAREFLOW_PLUGINS", "wanbailin_followup")
