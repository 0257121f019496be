"""``careflow staff`` and ``careflow audit``: accounts, grants and tokens, each change audited."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app
from tests.cli.helpers import assert_bad_input


@pytest.fixture
def seeded(runner: CliRunner) -> None:
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0


def _json(runner: CliRunner, *args: str, stdin: str | None = None) -> object:
    result = runner.invoke(app, [*args, "--json"], input=stdin)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _grants(runner: CliRunner, staff_id: str) -> list[str]:
    accounts = _json(runner, "staff", "list")
    assert isinstance(accounts, list)
    return next(a["grants"] for a in accounts if a["staff_id"] == staff_id)


def test_an_operator_adds_grants_and_revokes_and_each_change_is_audited(
    runner: CliRunner, seeded: None
) -> None:
    added = _json(
        runner,
        "staff",
        "add",
        "S0900",
        "--username",
        "jiusi-new-grid",
        "--name",
        "新网格员",
        "--role",
        "grid_worker",
        "--district",
        "wanbailin",
        "--community",
        "wanbailin.wanghua.jiusi",
        "--area",
        "wanbailin.wanghua.jiusi",
        "--password-stdin",
        stdin="a-long-password\n",
    )
    assert added == {"staff_id": "S0900", "username": "jiusi-new-grid", "kind": "person"}
    assert _grants(runner, "S0900") == ["grid_worker@wanbailin.wanghua.jiusi"]
    result = runner.invoke(
        app, ["staff", "grant", "S0900", "--role", "volunteer", "--area", "wanbailin.wanghua"]
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(_grants(runner, "S0900")) == [
        "grid_worker@wanbailin.wanghua.jiusi",
        "volunteer@wanbailin.wanghua",
    ]
    result = runner.invoke(
        app, ["staff", "revoke", "S0900", "--role", "volunteer", "--area", "wanbailin.wanghua"]
    )
    assert result.exit_code == 0, result.stderr
    assert _grants(runner, "S0900") == ["grid_worker@wanbailin.wanghua.jiusi"]
    rows = _json(runner, "audit", "--target", "S0900:volunteer@wanbailin.wanghua")
    assert isinstance(rows, list)
    assert [(r["action"], r["outcome"], r["channel"]) for r in rows] == [
        ("staff.revoke", "accepted", "cli"),
        ("staff.grant", "accepted", "cli"),
    ]
    assert all(r["actor"].startswith("operator:") for r in rows)


def test_bad_account_commands_name_the_field_and_change_nothing(
    runner: CliRunner, seeded: None
) -> None:
    assert_bad_input(
        runner.invoke(app, ["staff", "grant", "S0001", "--role", "mayor", "--area", "wanbailin"]),
        "role",
    )
    assert_bad_input(
        runner.invoke(app, ["staff", "grant", "S0001", "--role", "auditor", "--area", "mars"]),
        "area",
    )
    assert_bad_input(
        runner.invoke(app, ["staff", "revoke", "S0001", "--role", "auditor", "--area", "yingze"]),
        "grant",
    )
    assert_bad_input(
        runner.invoke(
            app,
            [
                "staff",
                "add",
                "S0901",
                "--username",
                "x",
                "--name",
                "某",
                "--role",
                "auditor",
                "--district",
                "wanbailin",
                "--password-stdin",
            ],
            input="short\n",
        ),
        "password",
    )
    accounts = _json(runner, "staff", "list")
    assert isinstance(accounts, list)
    assert "S0901" not in {a["staff_id"] for a in accounts}
    assert _grants(runner, "S0001") == ["district_admin@wanbailin"]


def test_a_token_is_shown_once_listed_without_its_secret_and_revoked(
    runner: CliRunner, seeded: None
) -> None:
    issued = _json(
        runner,
        "staff",
        "token",
        "issue",
        "S0003",
        "--name",
        "wbl-hospital-desk",
        "--event-type",
        "eldercare.hospital_response",
        "--district",
        "wanbailin",
        "--days",
        "30",
    )
    assert isinstance(issued, dict)
    token, token_id = issued["token"], issued["token_id"]
    assert token.startswith(f"cft_{token_id}_")
    listed = runner.invoke(app, ["staff", "token", "list", "--json"])
    assert listed.exit_code == 0 and token.split("_", 2)[2] not in listed.stdout
    [row] = json.loads(listed.stdout)
    assert row["event_types"] == ["eldercare.hospital_response"] and not row["revoked"]
    assert runner.invoke(app, ["staff", "token", "revoke", token_id]).exit_code == 0
    [row] = json.loads(runner.invoke(app, ["staff", "token", "list", "--json"]).stdout)
    assert row["revoked"]
    assert_bad_input(
        runner.invoke(
            app,
            [
                "staff",
                "token",
                "issue",
                "S0003",
                "--name",
                "x",
                "--event-type",
                "no.such",
                "--district",
                "wanbailin",
            ],
        ),
        "event_types",
    )
