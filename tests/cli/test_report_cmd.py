"""``careflow report district``: a district's figures exported as an account, audited."""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart
from sqlalchemy import func
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from careflow.access.accounts import account_id
from careflow.contract import CarePlugin
from careflow.db import make_engine
from careflow.db.tables import AuditEntry, StaffGrant, Task
from careflow.figures import Chart, Column, FigureQuery, FigureSpec, Section, Table
from cli import app
from tests.cli.helpers import assert_bad_input
from tests.support.plugins import BUILT_IN

# cli re-exports the Typer app under the module's name.
CLI_APP = importlib.import_module("cli.app")
PROCESS = "report_test"
JIUSI = "wanbailin.wanghua.jiusi"
XINGHUA = "wanbailin.xinghua.xinghua"
GRID_WORKER = "wanbailin.wanghua.jiusi-grid_worker"


def _tasks_per_community(session: Session, query: FigureQuery) -> Section:
    """This test's own section: tasks and distinct cases of PROCESS per community."""
    rows = session.exec(
        select(Task.community, func.count(), func.count(func.distinct(Task.case_ref)))
        .where(
            Task.process == PROCESS,
            Task.district == query.district,
            col(Task.opened_at) >= query.period.since,
            col(Task.opened_at) < query.period.until,
        )
        .group_by(Task.community)
        .order_by(Task.community)
    ).all()
    return Section(
        key="test.tasks",
        title_zh="测试工单",
        title_en="Test tasks",
        tables=(
            Table(
                key="communities",
                title_zh="各社区",
                columns=(
                    Column("community", "社区", kind="text"),
                    Column("tasks", "工单数"),
                    Column("people", "人数", kind="people"),
                ),
                rows=[tuple(r) for r in rows if query.covers(r[0])],
                chart=Chart(kind="bar", x="community", series=("tasks",)),
            ),
        ),
    )


TEST_PLUGIN = CarePlugin(
    name="report_test",
    version="0",
    title_zh="测试",
    title_en="test",
    figures=(
        FigureSpec(
            key="test.tasks", title_zh="测试工单", title_en="t", compute=_tasks_per_community
        ),
    ),
)


def _task(n: int, community: str, case: str, opened: datetime) -> Task:
    return Task(
        task_id=f"report-t{n}",
        workflow_id=f"report-w{n}",
        step_key="s",
        process=PROCESS,
        module="m",
        district="wanbailin",
        community=community,
        case_ref=case,
        role="grid_worker",
        title_zh="t",
        title_en="t",
        form_ref="f",
        due_at=opened,
        opened_at=opened,
    )


@pytest.fixture
def seeded(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo database with the test section's plugin loaded, and tasks of PROCESS: in
    2026-03-02..08 Jiusi has 5 tasks of 3 cases and Xinghua 2 tasks of 1 case; one task is
    the local day after (2026-03-09 00:30 Shanghai) and one of Jiusi the local day before."""
    monkeypatch.setattr(CLI_APP, "load_plugins", lambda _: [*BUILT_IN, TEST_PLUGIN])
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    engine = make_engine(os.environ["CAREFLOW_DATABASE_URL"])
    try:
        with Session(engine) as session:
            inside = datetime(2026, 3, 4, 2, tzinfo=UTC)
            for n, case in enumerate(("c1", "c1", "c2", "c3", "c3")):
                session.add(_task(n, JIUSI, case, inside))
            session.add(_task(5, XINGHUA, "c4", inside))
            # 2026-03-08 23:59 Shanghai: the last minute of the period.
            session.add(_task(6, XINGHUA, "c4", datetime(2026, 3, 8, 15, 59, tzinfo=UTC)))
            # 2026-03-09 00:30 Shanghai, and 2026-03-01 23:00 Shanghai: outside.
            session.add(_task(7, XINGHUA, "c5", datetime(2026, 3, 8, 16, 30, tzinfo=UTC)))
            session.add(_task(8, JIUSI, "c6", datetime(2026, 3, 1, 15, tzinfo=UTC)))
            session.commit()
        yield
    finally:
        engine.dispose()


def _audit() -> list[tuple[str, str, str | None, str | None, str | None]]:
    engine = make_engine(os.environ["CAREFLOW_DATABASE_URL"])
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(AuditEntry)
                .where(col(AuditEntry.action).startswith("report."))
                .order_by(col(AuditEntry.id))
            ).all()
            return [(r.action, r.outcome, r.reason, r.target, r.actor) for r in rows]
    finally:
        engine.dispose()


PERIOD = ["--from", "2026-03-02", "--to", "2026-03-08"]


def test_an_xlsx_export_is_written_here_by_default(
    runner: CliRunner, seeded: None, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["report", "district", "wanbailin", *PERIOD])
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "report-wanbailin-2026-03-02-2026-03-08.xlsx"
    assert result.stdout == f"{path}\n"
    book = load_workbook(path)
    assert book.sheetnames[0] == "概览" and "测试工单" in book.sheetnames
    assert book["概览"]["B3"].value == "万柏林区"
    assert book["概览"]["B4"].value == "2026-03-02 至 2026-03-08"
    sheet = book["测试工单"]
    assert [c.value for c in sheet[4]] == ["社区", "工单数", "人数"]
    assert [[c.value for c in sheet[r]] for r in (5, 6)] == [[JIUSI, 5, 3], [XINGHUA, 2, "<3"]]
    (chart,) = sheet._charts
    assert isinstance(chart, BarChart)
    assert [r[:2] for r in _audit()] == [("report.export", "accepted")]
    assert _audit()[0][3:] == ("wanbailin:2026-03-02..2026-03-08:xlsx", "S0001")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_csv_export_goes_to_stdout_in_long_form(runner: CliRunner, seeded: None) -> None:
    result = runner.invoke(app, ["report", "district", "wanbailin", *PERIOD, "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0] == ["板块", "表", "行", "列", "值"]
    assert [r for r in rows if r[0] == "测试工单"] == [
        ["测试工单", "各社区", JIUSI, "工单数", "5"],
        ["测试工单", "各社区", JIUSI, "人数", "3"],
        ["测试工单", "各社区", XINGHUA, "工单数", "2"],
        ["测试工单", "各社区", XINGHUA, "人数", "<3"],
    ]


def test_a_json_export_to_a_file_as_a_street_auditor(
    runner: CliRunner, seeded: None, tmp_path: Path
) -> None:
    # A grid worker of Jiusi given an auditor grant over the Wanghua street: its communities'
    # figures only (Jiusi, not Xinghua).
    engine = make_engine(os.environ["CAREFLOW_DATABASE_URL"])
    try:
        with Session(engine) as session:
            staff_id = account_id(session, GRID_WORKER)
            session.add(
                StaffGrant(
                    staff_id=staff_id, role="auditor", area_code="wanbailin.wanghua", granted_by="t"
                )
            )
            session.commit()
    finally:
        engine.dispose()
    target = tmp_path / "out" / "r.json"
    target.parent.mkdir()
    result = runner.invoke(
        app,
        [
            *("report", "district", "wanbailin", *PERIOD, "--format", "json"),
            *("-o", str(target), "--actor", GRID_WORKER),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{target}\n"
    document: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    assert document["district"] == "wanbailin" and JIUSI in document["communities"]
    assert XINGHUA not in document["communities"]
    (section,) = [s for s in document["sections"] if s["key"] == "test.tasks"]
    assert section["tables"][0]["rows"] == [{"community": JIUSI, "tasks": 5, "people": 3}]
    assert _audit()[-1][:2] == ("report.export", "accepted")


def test_json_to_stdout(runner: CliRunner, seeded: None) -> None:
    result = runner.invoke(app, ["report", "district", "wanbailin", *PERIOD, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["period"] == {
        "start": "2026-03-02",
        "end": "2026-03-08",
        "since": "2026-03-01T16:00:00Z",
        "until": "2026-03-08T16:00:00Z",
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["wanbailin", "--from", "2026-3-2", "--to", "2026-03-08"], ("from:", "YYYY-MM-DD")),
        (["wanbailin", "--from", "2026-03-09", "--to", "2026-03-08"], ("to:",)),
        (["wanbailin", *PERIOD, "--format", "pdf"], ("format", "xlsx, csv, json")),
        (["wanbailin", *PERIOD, "--format", "html"], ("format",)),
        (["nowhere", *PERIOD], ("district",)),
        (["yingze", *PERIOD], ("district:", "out_of_scope")),
        (["wanbailin", *PERIOD, "--output", "missing/r.xlsx"], ("output", "missing")),
        (["wanbailin", *PERIOD, "--actor", GRID_WORKER], ("wrong_role",)),
    ],
)
def test_bad_input_names_the_field_and_writes_no_file(
    runner: CliRunner, seeded: None, tmp_path: Path, args: list[str], expected: tuple[str, ...]
) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(app, ["report", "district", *args])
    assert_bad_input(result, *expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert all(outcome != "accepted" for _, outcome, *_ in _audit())


def test_the_from_option_is_required(runner: CliRunner, seeded: None) -> None:
    result = runner.invoke(app, ["report", "district", "wanbailin", "--to", "2026-03-08"])
    assert result.exit_code == 2 and "--from" in result.stderr
