"""``careflow case-key``: a case's key from its registry id and back, as an account, audited."""

from __future__ import annotations

import json

from sqlmodel import Session, select
from typer.testing import CliRunner

from careflow.db import crud, make_engine
from careflow.db.engine import session_scope
from careflow.db.tables import AuditEntry
from careflow.privacy.pseudonyms import case_key
from careflow.settings import Settings
from cli import app
from tests.cli.helpers import assert_bad_input
from tests.support.cases import keyed_id

TIERS = "eldercare.tiers"


def _seed_case(elder: str) -> str:
    """A care plan's case record, as the plan writes it: workflow id with the key."""
    workflow_id = keyed_id(TIERS, "wanbailin", elder)
    engine = make_engine(Settings().resolved_database_url)
    try:
        with session_scope(engine) as session:
            crud.insert_case_record(
                session,
                workflow_id=workflow_id,
                step_key="assess.0",
                process=TIERS,
                district="wanbailin",
                case_ref=elder,
                kind="tier_assessed",
                data={},
            )
    finally:
        engine.dispose()
    return workflow_id


def test_case_key_goes_from_a_registry_id_to_its_workflows_and_back(runner: CliRunner) -> None:
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    workflow_id = _seed_case("P00012")
    shown = runner.invoke(app, ["case-key", "P00012", "--actor", "wanbailin-district_admin"])
    assert shown.exit_code == 0, shown.output
    assert f"案件化名 case key: {case_key('P00012')}" in shown.stdout
    assert workflow_id in shown.stdout and "案件 case P00012" in shown.stdout

    back = runner.invoke(
        app, ["case-key", case_key("P00012"), "--actor", "wanbailin-district_admin", "--json"]
    )
    assert back.exit_code == 0, back.output
    found = json.loads(back.stdout)
    assert found["case_key"] == case_key("P00012")
    assert [(c["workflow_id"], c["case_ref"]) for c in found["cases"]] == [(workflow_id, "P00012")]

    engine = make_engine(Settings().resolved_database_url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(AuditEntry).where(AuditEntry.action == "case.lookup")).all()
    finally:
        engine.dispose()
    assert [(r.outcome, r.channel, r.target) for r in rows] == [
        ("accepted", "cli", case_key("P00012"))
    ] * 2


def test_case_key_refuses_an_id_number_naming_the_field(runner: CliRunner) -> None:
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    result = runner.invoke(
        app, ["case-key", "110101199003071234", "--actor", "wanbailin-district_admin"]
    )
    line = assert_bad_input(result)
    assert "case_ref" in line and "ID number" in line and "110101199003071234" not in line
