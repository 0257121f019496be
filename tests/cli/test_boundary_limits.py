"""Values that used to be accepted and then broke a process are refused at the boundary.

Each case exits 2 with one line naming the field, before Temporal is contacted (none listens
here) and with nothing written.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app
from tests.cli.helpers import assert_bad_input

DELIVERY = {
    "recipient_ref": "P00012",
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
}


@pytest.fixture(autouse=True)
def seeded(runner: CliRunner) -> None:
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0


def _start(runner: CliRunner, *extra: str, request: object = DELIVERY) -> str:
    result = runner.invoke(
        app,
        ["start", "delivery", "--district", "wanbailin", "--input", "-", *extra],
        input=json.dumps(request),
    )
    return assert_bad_input(result)


@pytest.mark.parametrize(
    "case_ref", ["C" * 200, "C" * 2000, "has space", "a/b", "new\nline", "\u202eC1"]
)
def test_case_ref_is_bounded_and_plain(runner: CliRunner, case_ref: str) -> None:
    assert "case_ref" in _start(runner, "--case-ref", case_ref)


@pytest.mark.parametrize(
    ("case_ref", "why"),
    [
        ("C" * 33, "at most 32"),
        ("a:b", "letters, digits"),
        ("张三", "letters, digits"),
        ("110101199003071234", "ID number"),  # an 18-digit ID number
        ("ID-110101900307123", "ID number"),  # a 15-digit one inside
        ("13812345678", "mobile number"),
        ("fam.13812345678.x", "mobile number"),
    ],
)
def test_case_ref_cannot_carry_a_name_an_id_number_or_a_phone(
    runner: CliRunner, case_ref: str, why: str
) -> None:
    # The case ref is keyed into the workflow id, but travels in payloads and task rows: a
    # caller's ref is short, plain ASCII and holds no ID or mobile number.
    line = _start(runner, "--case-ref", case_ref)
    assert "case_ref" in line and why in line
    assert case_ref not in line  # the refusal does not repeat the number


@pytest.mark.parametrize(
    ("case_ref", "why"),
    [("110101199003071234", "ID number"), ("13812345678", "mobile number"), ("C" * 33, "32")],
)
def test_an_events_case_ref_follows_the_same_rule(
    runner: CliRunner, case_ref: str, why: str
) -> None:
    payload = json.dumps({"district": "wanbailin", "case_ref": case_ref, "device_id": "ST-1"})
    result = runner.invoke(app, ["event", "delivery.dropoff", "--data", "-"], input=payload)
    line = assert_bad_input(result)
    assert "data.case_ref" in line and why in line


@pytest.mark.parametrize("actor", ["", " ", "S" * 100])
def test_start_actor_follows_the_same_rule_as_task_completion(
    runner: CliRunner, actor: str
) -> None:
    assert "actor" in _start(runner, "--actor", actor)
    result = runner.invoke(
        app,
        ["task", "complete", "T0", "--actor", actor, "--role", "grid_worker", "--data", "-"],
        input="{}",
    )
    assert "actor" in assert_bad_input(result)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [{"category": "school_bag", "quantity": "3"}]}, "input.items.0.quantity"),
        ({"items": [{"category": "school_bag", "quantity": True}]}, "input.items.0.quantity"),
        ({"items": [{"category": "x" * 3_000_000}]}, "input"),
        ({"items": [{"category": "pen"}] * 5000}, "input.items"),
        ({"recipient_ref": "P" * 1_000_000}, "input"),
        ({"urgent": True}, "input.urgent"),
    ],
)
def test_loose_types_sizes_and_unknown_fields_are_refused(
    runner: CliRunner, change: dict[str, object], field: str
) -> None:
    assert f"{field}:" in _start(runner, request={**DELIVERY, **change})


def test_event_with_a_lone_surrogate_is_one_line(runner: CliRunner) -> None:
    payload = '{"district": "wanbailin", "case_ref": "\\udfff", "device_id": "ST-1"}'
    result = runner.invoke(app, ["event", "delivery.dropoff", "--data", "-"], input=payload)
    assert "data.case_ref" in assert_bad_input(result)


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_json_is_one_line(runner: CliRunner, depth: int) -> None:
    payload = '{"district": "wanbailin", "case_ref": "C1", "device_id": ' + "[" * depth
    payload += "]" * depth + "}"
    result = runner.invoke(app, ["event", "delivery.dropoff", "--data", "-"], input=payload)
    assert_bad_input(result, "data")
