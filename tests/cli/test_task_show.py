"""``careflow task show`` prints a task's context with personal data masked; ``--unmask
--reason`` shows it in full to an account whose grants allow it, once, and is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from careflow.db import crud, make_engine, session_scope
from careflow.db.tables import Person
from careflow.forms import form_ref, form_schema
from careflow.privacy.masking import mask_address, mask_name, mask_phone
from cli import app
from plugins.engine.delivery import REQUEST_RECORD_KIND, HandoverForm
from tests.cli.helpers import assert_bad_input

JIUSI = "wanbailin.wanghua.jiusi"
SHOW = ["task", "show", "T-1"]


@pytest.fixture
def migrated(runner: CliRunner) -> str:
    """The seeded test database (registry and demo accounts); its URL."""
    result = runner.invoke(app, ["seed-demo", "--json"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["migrate", "--json"])
    return str(json.loads(result.stdout)["database"])


@pytest.fixture
def recipient(migrated: str) -> Person:
    """An elder of 九四社区 with a phone and an address, whose hand-over task T-1 is open."""
    engine = make_engine(migrated)
    try:
        with session_scope(engine) as session:
            person = session.exec(
                select(Person).where(
                    Person.community_code == JIUSI,
                    Person.kind == "elder",
                    Person.phone.is_not(None),  # type: ignore[union-attr]
                )
            ).first()
            assert person is not None and person.address
            crud.insert_task(
                session,
                task_id="T-1",
                workflow_id="delivery-wanbailin-C-T1",
                step_key="handover",
                process="delivery",
                module="shared",
                district="wanbailin",
                community=JIUSI,
                case_ref="C-T1",
                role="grid_worker",
                title_zh="入户交接物资并签收",
                title_en="Hand over goods and collect the signed receipt",
                form_ref=form_ref(HandoverForm),
                form_schema=form_schema(form_ref(HandoverForm)),
                due_at=datetime.now(UTC) + timedelta(hours=4),
            )
            crud.insert_case_record(
                session,
                workflow_id="delivery-wanbailin-C-T1",
                step_key="request",
                process="delivery",
                district="wanbailin",
                case_ref="C-T1",
                kind=REQUEST_RECORD_KIND,
                data={
                    "recipient_ref": person.id,
                    "items": [{"category": "school_bag", "quantity": 1}],
                },
            )
        with Session(engine) as session:
            found = session.get(Person, person.id)
            assert found is not None
            return found
    finally:
        engine.dispose()


def _account(runner: CliRunner, username: str) -> str:
    result = runner.invoke(app, ["staff", "list", "--json"])
    assert result.exit_code == 0, result.stderr
    return next(a["staff_id"] for a in json.loads(result.stdout) if a["username"] == username)


def _audit(runner: CliRunner) -> list[tuple[str, str, str | None, str | None]]:
    result = runner.invoke(app, ["audit", "--action", "task.unmask", "--json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    return [(r["actor"], r["outcome"], r["reason"], r["message"]) for r in reversed(rows)]


def _clear_values(person: Person) -> list[str]:
    return [person.name, person.phone or "", person.address or ""]


def test_the_operator_and_an_account_see_the_context_masked(
    runner: CliRunner, recipient: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAREFLOW_ACTOR")
    shown = runner.invoke(app, SHOW)
    assert shown.exit_code == 0, shown.stderr
    assert f"收件人 recipient: {mask_name(recipient.name)}" in shown.stdout
    assert f"收件人电话 recipient phone: {mask_phone(recipient.phone or '')}" in shown.stdout
    assert f"地址 address: {mask_address(recipient.address or '')}" in shown.stdout
    grid = _account(runner, f"{JIUSI}-grid_worker")
    as_json = runner.invoke(app, [*SHOW, "--actor", grid, "--json"])
    assert as_json.exit_code == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["unmasked"] is False and body["clear"] == [] and body["may_complete"] is True
    for output in (shown.stdout, as_json.stdout):
        assert not any(value in output for value in _clear_values(recipient))


def test_unmask_with_a_reason_shows_it_in_full_once_and_is_audited(
    runner: CliRunner, recipient: Person
) -> None:
    grid = _account(runner, f"{JIUSI}-grid_worker")
    result = runner.invoke(
        app, [*SHOW, "--actor", grid, "--unmask", "--reason", "入户前核对地址", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    values = {i["label_en"]: i["value"] for i in body["context"]}
    assert values["recipient"] == recipient.name and values["address"] == recipient.address
    assert body["unmasked"] is True and body["clear"] == ["address", "name", "phone"]
    human = runner.invoke(app, [*SHOW, "--actor", grid, "--unmask", "--reason", "再次核对"])
    assert human.exit_code == 0, human.stderr
    assert "已显示完整信息" in human.stdout and recipient.name in human.stdout
    again = runner.invoke(app, [*SHOW, "--actor", grid])
    assert recipient.name not in again.stdout  # nothing stays unmasked
    assert _audit(runner) == [
        (grid, "accepted", "address,name,phone", "入户前核对地址"),
        (grid, "accepted", "address,name,phone", "再次核对"),
    ]


def test_no_reason_or_no_grant_unmasks_nothing_and_is_audited(
    runner: CliRunner, recipient: Person
) -> None:
    grid = _account(runner, f"{JIUSI}-grid_worker")
    auditor = _account(runner, "wanbailin-auditor")
    other = _account(runner, "wanbailin.wanghua.wanghua_north-grid_worker")
    no_reason = runner.invoke(app, [*SHOW, "--actor", grid, "--unmask"])
    assert_bad_input(no_reason, "reason", "请填写查看完整信息的理由")
    blank = runner.invoke(app, [*SHOW, "--actor", grid, "--unmask", "--reason", "  "])
    assert_bad_input(blank, "reason")
    read_only = runner.invoke(app, [*SHOW, "--actor", auditor, "--unmask", "--reason", "审计"])
    assert_bad_input(read_only, "read_only")
    outside = runner.invoke(app, [*SHOW, "--actor", other, "--unmask", "--reason", "核对"])
    assert_bad_input(outside, "task_id", "out_of_scope")
    for result in (no_reason, blank, read_only, outside):
        assert not any(value in result.stderr for value in _clear_values(recipient))
    assert [(a, o, r) for a, o, r, _m in _audit(runner)] == [
        (grid, "refused", "bad_input"),
        (grid, "refused", "bad_input"),
        (auditor, "refused", "read_only"),
        (other, "refused", "out_of_scope"),
    ]
    # A reason without --unmask is a mistake of the command line: named, nothing audited.
    stray = runner.invoke(app, [*SHOW, "--actor", grid, "--reason", "核对"])
    assert_bad_input(stray, "reason", "--unmask")
    assert len(_audit(runner)) == 4
