"""``careflow consent``: record, withdraw and list consents as an account, each attempt audited."""

from __future__ import annotations

import json
import os

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from careflow.db import make_engine
from careflow.db.seed import demo_child_without_consent
from careflow.db.tables import Guardian
from cli import app
from tests.cli.helpers import assert_bad_input

JIUSI_STAFF = "wanbailin.wanghua.jiusi-community_staff"


@pytest.fixture
def family(runner: CliRunner) -> tuple[str, str, str]:
    """The demo child without consent, a guardian of theirs and the guardian's relation."""
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    engine = make_engine(os.environ["CAREFLOW_DATABASE_URL"])
    try:
        with Session(engine) as session:
            child = demo_child_without_consent(session)
            assert child is not None
            link = session.exec(select(Guardian).where(Guardian.child_id == child)).first()
            assert link is not None
            return child, link.guardian_id, link.relation
    finally:
        engine.dispose()


def _json(runner: CliRunner, *args: str) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_staff_record_list_and_withdraw_a_consent(
    runner: CliRunner, family: tuple[str, str, str]
) -> None:
    child, guardian, relation = family
    recorded = _json(
        runner,
        "consent",
        "record",
        child,
        "--purpose",
        "classroom",
        "--granted-by",
        guardian,
        "--relation",
        relation,
        "--granted-on",
        "2026-11-30",
        "--evidence",
        "JS-2026-0117",
        "--actor",
        JIUSI_STAFF,
    )
    assert isinstance(recorded, dict)
    assert recorded["live"] and recorded["purpose_zh"] == "五点半课堂"
    assert recorded["granted_by"] == guardian and recorded["evidence_ref"] == "JS-2026-0117"
    listed = _json(runner, "consent", "list", "--subject", child, "--actor", JIUSI_STAFF)
    assert isinstance(listed, list) and [c["id"] for c in listed] == [recorded["id"]]
    human = runner.invoke(app, ["consent", "list", "--subject", child, "--actor", JIUSI_STAFF])
    assert "五点半课堂" in human.stdout and "有效" in human.stdout

    # Temporal is not running here: the withdrawal stands and says the processes were not told.
    withdrawn = _json(
        runner, "consent", "withdraw", child, "--purpose", "classroom", "--actor", JIUSI_STAFF
    )
    assert isinstance(withdrawn, dict)
    assert not withdrawn["consent"]["live"] and withdrawn["told"] == []
    assert withdrawn["not_told"]
    assert_bad_input(
        runner.invoke(
            app, ["consent", "withdraw", child, "--purpose", "classroom", "--actor", JIUSI_STAFF]
        ),
        "purpose",
        "already withdrawn",
    )
    rows = _json(runner, "audit", "--action", "consent.withdraw")
    assert isinstance(rows, list)
    assert [(r["outcome"], r["reason"], r["channel"]) for r in rows] == [
        ("refused", "bad_input", "cli"),
        ("accepted", "processes_not_told", "cli"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"--granted-by": "CHILD", "--relation": "self"}, "granted_by"),
        ({"--purpose": "marketing"}, "purpose"),
        ({"--granted-on": "30/11/2026"}, "granted_on"),
        ({"--relation": "uncle"}, "relation"),
        ({"--evidence": "张三签字"}, "evidence_ref"),
    ],
)
def test_bad_consents_exit_2_naming_the_field(
    runner: CliRunner, family: tuple[str, str, str], change: dict[str, str], field: str
) -> None:
    child, guardian, relation = family
    options = {
        "--purpose": "microwish",
        "--granted-by": guardian,
        "--relation": relation,
        "--granted-on": "2026-11-30",
        **change,
    }
    if options["--granted-by"] == "CHILD":
        options["--granted-by"] = child
    args = ["consent", "record", child, *(x for kv in options.items() for x in kv)]
    assert_bad_input(runner.invoke(app, [*args, "--actor", JIUSI_STAFF]), field)
    listed = _json(runner, "consent", "list", "--subject", child, "--actor", JIUSI_STAFF)
    assert listed == []


def test_an_unknown_child_and_a_grid_worker_are_refused(
    runner: CliRunner, family: tuple[str, str, str]
) -> None:
    _child, guardian, relation = family
    base = ["--purpose", "microwish", "--granted-by", guardian, "--relation", relation]
    assert_bad_input(
        runner.invoke(app, ["consent", "record", "P99999", *base, "--granted-on", "2026-11-30"]),
        "subject_id",
    )
    assert_bad_input(
        runner.invoke(app, ["consent", "list", "--actor", "wanbailin.wanghua.jiusi-grid_worker"]),
        "wrong_role",
    )
