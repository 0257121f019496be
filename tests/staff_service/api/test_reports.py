"""District reports over the API: JSON, CSV and Excel exports and stored weekly workbooks,
each read checked against the caller's grants and audited."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access.accounts import account_id
from careflow.contract import CarePlugin
from careflow.db.tables import StaffGrant, Task
from careflow.figures import XLSX_MEDIA_TYPE, Column, FigureQuery, FigureSpec, Section, Table
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.reports import ReportFile
from staff_service.app import create_app
from tests.staff_service.conftest import (
    ADMIN_WANBAILIN,
    ADMIN_YINGZE,
    AUDITOR_CITY,
    BASE,
    GRID_JIUSI,
    STAFF_JIUSI,
    audit_rows,
    last_audit_id,
    login,
)
from tests.support.plugins import BUILT_IN

PROCESS = "report_api_test"
JIUSI = "wanbailin.wanghua.jiusi"
XINGHUA = "wanbailin.xinghua.xinghua"
PERIOD = {"from": "2026-03-02", "to": "2026-03-08"}
URL = "/api/v1/reports/districts/wanbailin"


def _per_community(session: Session, query: FigureQuery) -> Section:
    """This test's section: tasks and distinct cases of PROCESS per community."""
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
        key="test.api",
        title_zh="接口测试",
        title_en="API test",
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
            ),
        ),
    )


REGISTRY = PluginRegistry.build(
    [
        *BUILT_IN,
        CarePlugin(
            name="report_api_test",
            version="0",
            title_zh="测试",
            title_en="test",
            figures=(
                FigureSpec(
                    key="test.api", title_zh="接口测试", title_en="t", compute=_per_community
                ),
            ),
        ),
    ]
)


def _task(n: int, community: str, case: str, opened: datetime) -> Task:
    return Task(
        task_id=f"api-report-t{n}",
        workflow_id=f"api-report-w{n}",
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
def app(staff_engine: Engine) -> FastAPI:
    """The staff service on the seeded database (no Temporal: reports need none), with tasks
    of PROCESS in 2026-03-02..08: Jiusi 4 of 3 cases, Xinghua 2 of 1 case (one at 23:59 on
    the last local day), and one each just outside the period."""
    inside = datetime(2026, 3, 4, 2, tzinfo=UTC)
    with Session(staff_engine) as session:
        for n, case in enumerate(("c1", "c2", "c3", "c3")):
            session.add(_task(n, JIUSI, case, inside))
        session.add(_task(4, XINGHUA, "c4", inside))
        session.add(_task(5, XINGHUA, "c4", datetime(2026, 3, 8, 15, 59, tzinfo=UTC)))
        session.add(_task(6, XINGHUA, "c5", datetime(2026, 3, 8, 16, 0, tzinfo=UTC)))
        session.add(_task(7, JIUSI, "c6", datetime(2026, 3, 1, 15, 59, tzinfo=UTC)))
        session.commit()
    return create_app(settings=Settings(), registry=REGISTRY, engine=staff_engine, console=False)


@asynccontextmanager
async def _client(app: FastAPI, username: str | None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        if username is not None:
            await login(http, username)
        yield http


def _report_audit(engine: Engine, since: int) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (r.action, r.outcome, r.reason, r.target)
        for r in audit_rows(engine, since_id=since)
        if r.action.startswith("report.")
    ]


async def test_a_district_admin_reads_the_typed_json(app: FastAPI, staff_engine: Engine) -> None:
    before = last_audit_id(staff_engine)
    async with _client(app, ADMIN_WANBAILIN) as http:
        answer = await http.get(URL, params=PERIOD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["district"], body["district_zh"], body["communities"]) == (
        "wanbailin",
        "万柏林区",
        None,
    )
    assert body["period"] == {
        "start": "2026-03-02",
        "end": "2026-03-08",
        "since": "2026-03-01T16:00:00Z",
        "until": "2026-03-08T16:00:00Z",
    }
    (section,) = [s for s in body["sections"] if s["key"] == "test.api"]
    assert section["tables"][0]["rows"] == [
        {"community": JIUSI, "tasks": 4, "people": 3},
        {"community": XINGHUA, "tasks": 2, "people": "<3"},
    ]
    assert _report_audit(staff_engine, before) == [
        ("report.export", "accepted", None, "wanbailin:2026-03-02..2026-03-08:json")
    ]


async def test_csv_and_xlsx_are_downloads(app: FastAPI) -> None:
    async with _client(app, AUDITOR_CITY) as http:
        as_csv = await http.get(URL, params={**PERIOD, "format": "csv"})
        as_xlsx = await http.get(URL, params={**PERIOD, "format": "xlsx"})
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == (
        'attachment; filename="report-wanbailin-2026-03-02-2026-03-08.csv"'
    )
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [r for r in rows if r[0] == "接口测试"] == [
        ["接口测试", "各社区", JIUSI, "工单数", "4"],
        ["接口测试", "各社区", JIUSI, "人数", "3"],
        ["接口测试", "各社区", XINGHUA, "工单数", "2"],
        ["接口测试", "各社区", XINGHUA, "人数", "<3"],
    ]
    assert as_xlsx.status_code == 200
    assert as_xlsx.headers["content-type"] == XLSX_MEDIA_TYPE
    assert as_xlsx.headers["content-disposition"].endswith('-2026-03-08.xlsx"')
    sheet = load_workbook(io.BytesIO(as_xlsx.content))["接口测试"]
    assert [[c.value for c in sheet[r]] for r in (4, 5, 6)] == [
        ["社区", "工单数", "人数"],
        [JIUSI, 4, 3],
        [XINGHUA, 2, "<3"],
    ]


async def test_a_street_grant_reads_its_communities_only(
    app: FastAPI, staff_engine: Engine
) -> None:
    with Session(staff_engine) as session:
        session.add(
            StaffGrant(
                staff_id=account_id(session, GRID_JIUSI),
                role="auditor",
                area_code="wanbailin.wanghua",
                granted_by="test",
            )
        )
        session.commit()
    async with _client(app, GRID_JIUSI) as http:
        answer = await http.get(URL, params=PERIOD)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert JIUSI in body["communities"] and XINGHUA not in body["communities"]
    (section,) = [s for s in body["sections"] if s["key"] == "test.api"]
    assert section["tables"][0]["rows"] == [{"community": JIUSI, "tasks": 4, "people": 3}]


@pytest.mark.parametrize(
    ("who", "district", "params", "status", "reason", "field"),
    [
        (None, "wanbailin", PERIOD, 401, "not_logged_in", None),
        (STAFF_JIUSI, "wanbailin", PERIOD, 403, "wrong_role", None),
        (ADMIN_YINGZE, "wanbailin", PERIOD, 403, "out_of_scope", "district"),
        (ADMIN_WANBAILIN, "nowhere", PERIOD, 422, "bad_input", "district"),
        (ADMIN_WANBAILIN, "wanbailin", {**PERIOD, "from": "2026-3-2"}, 422, "bad_input", "from"),
        (ADMIN_WANBAILIN, "wanbailin", {**PERIOD, "from": "2026-03-09"}, 422, "bad_input", "to"),
        (ADMIN_WANBAILIN, "wanbailin", {**PERIOD, "to": "9999-12-31"}, 422, "bad_input", "to"),
        (ADMIN_WANBAILIN, "wanbailin", {**PERIOD, "format": "pdf"}, 422, "bad_input", "format"),
        (ADMIN_WANBAILIN, "wanbailin", {"to": "2026-03-08"}, 422, "bad_input", "from"),
    ],
)
async def test_refusals_are_problems_naming_the_field_and_audited(
    app: FastAPI,
    staff_engine: Engine,
    who: str | None,
    district: str,
    params: dict[str, str],
    status: int,
    reason: str,
    field: str | None,
) -> None:
    async with _client(app, who) as http:
        before = last_audit_id(staff_engine)
        answer = await http.get(f"/api/v1/reports/districts/{district}", params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["reason"], problem["field"]) == (reason, field)
    ((action, outcome, audited, _),) = _report_audit(staff_engine, before)
    assert (action, outcome, audited) == ("report.export", "refused", reason)


def _stored(engine: Engine, content: bytes) -> int:
    with Session(engine) as session:
        row = ReportFile(
            district="wanbailin",
            period_start=date(2026, 3, 2),
            period_end=date(2026, 3, 8),
            format="xlsx",
            workflow_id="reports.weekly-wanbailin-k1",
            size=len(content),
            sha256="0" * 64,
            content=content,
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


async def test_a_stored_workbook_is_downloaded_by_readers_of_its_district(
    app: FastAPI, staff_engine: Engine
) -> None:
    file_id = _stored(staff_engine, b"PK\x03\x04 workbook bytes")
    url = f"/api/v1/reports/files/{file_id}"
    before = last_audit_id(staff_engine)
    for reader in (ADMIN_WANBAILIN, AUDITOR_CITY):
        async with _client(app, reader) as http:
            answer = await http.get(url)
        assert answer.status_code == 200, answer.text
        assert answer.content == b"PK\x03\x04 workbook bytes"
        assert answer.headers["content-type"] == XLSX_MEDIA_TYPE
        assert answer.headers["content-disposition"] == (
            'attachment; filename="report-wanbailin-2026-03-02-2026-03-08.xlsx"'
        )
    target = f"wanbailin:2026-03-02..2026-03-08:xlsx#{file_id}"
    assert _report_audit(staff_engine, before) == [
        ("report.download", "accepted", None, target),
        ("report.download", "accepted", None, target),
    ]


@pytest.mark.parametrize(
    ("who", "missing", "status", "reason", "field"),
    [
        (None, False, 401, "not_logged_in", None),
        (STAFF_JIUSI, False, 403, "wrong_role", None),
        (ADMIN_YINGZE, False, 403, "out_of_scope", "file_id"),
        (ADMIN_WANBAILIN, True, 404, "unknown", "file_id"),
    ],
)
async def test_a_stored_workbook_is_refused_to_others(
    app: FastAPI,
    staff_engine: Engine,
    who: str | None,
    missing: bool,
    status: int,
    reason: str,
    field: str | None,
) -> None:
    file_id = _stored(staff_engine, b"PK")
    async with _client(app, who) as http:
        before = last_audit_id(staff_engine)
        answer = await http.get(f"/api/v1/reports/files/{file_id + 1 if missing else file_id}")
    assert answer.status_code == status, answer.text
    assert (answer.json()["reason"], answer.json()["field"]) == (reason, field)
    ((action, outcome, audited, _),) = _report_audit(staff_engine, before)
    assert (action, outcome, audited) == ("report.download", "refused", reason)
