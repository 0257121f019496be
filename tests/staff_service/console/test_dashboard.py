"""The dashboard 统计看板 over HTTP: charts with their tables, "<3", no data, audit, refusals.

The figures come from a small section of this module's own (:data:`REGISTRY`: the engine plugin
and a test plugin), over hand-made task rows, so these tests do not depend on the plugins'
sections. The console runs without Temporal: the dashboard reads the app database only.

Fixture (local days of Asia/Shanghai, period 2026-03-01 – 2026-03-07):

====================  ========  ==================  =========
community             day       cases               tasks
====================  ========  ==================  =========
九四社区 jiusi         03-02     c1, c2, c3, c4      4
九四社区 jiusi         03-03     c1                  1
兴华社区 xinghua       03-02     c9                  1
兴华社区 xinghua       03-09     c9 (after period)   (1)
====================  ========  ==================  =========

So: 6 tasks, 5 people; 九四社区 5 tasks of 4 people, 兴华社区 1 task of 1 person (shown <3).
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import distinct, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.contract import CarePlugin
from careflow.db.seed_accounts import DEMO_PASSWORD
from careflow.db.tables import AuditEntry, Staff, Task
from careflow.figures import Chart, Column, FigureQuery, FigureSpec, Section, Table
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.engine import plugin as engine_plugin
from staff_service.app import create_app
from staff_service.console.dashboard import default_period
from tests.staff_service.console.conftest import AUDITOR, GRID_JIUSI, hidden

__all__ = [
    "ADMIN",
    "JIUSI",
    "PERIOD",
    "REGISTRY",
    "XINGHUA",
    "add_tasks",
    "dashboard_app",
]

ADMIN = "wanbailin-district_admin"
JIUSI = "wanbailin.wanghua.jiusi"
XINGHUA = "wanbailin.xinghua.xinghua"
PERIOD = "district=wanbailin&from=2026-03-01&to=2026-03-07"
BASE = "http://dashboard.test"


def _tasks(session: Session, query: FigureQuery) -> Section:
    """Tasks opened and the people they were for, per community and per local day."""
    in_period = (
        Task.district == query.district,
        col(Task.opened_at) >= query.period.since,
        col(Task.opened_at) < query.period.until,
    )
    per_community = [
        (community, tasks, people)
        for community, tasks, people in session.exec(
            select(Task.community, func.count(), func.count(distinct(col(Task.case_ref))))
            .where(*in_period)
            .group_by(Task.community)
            .order_by(Task.community)
        ).all()
        if query.covers(community)
    ]
    per_day = dict.fromkeys(query.period.days, 0)
    for community, opened in session.exec(
        select(Task.community, Task.opened_at).where(*in_period)
    ).all():
        if query.covers(community):
            per_day[query.period.local_day(opened)] += 1
    people = session.exec(
        select(func.count(distinct(col(Task.case_ref)))).where(*in_period)
    ).one()  # the test's own rows are all of covered communities
    return Section(
        key="test.tasks",
        title_zh="测试工单",
        title_en="Test tasks",
        headline=(("工单总数", sum(t for _, t, _ in per_community)), ("涉及人数", people)),
        tables=(
            Table(
                key="per_community",
                title_zh="各社区工单",
                columns=(
                    Column("community", "社区", kind="text"),
                    Column("tasks", "工单数", kind="count"),
                    Column("people", "涉及人数", kind="people"),
                ),
                rows=per_community,
                chart=Chart(kind="bar", x="community", series=("tasks", "people")),
            ),
            Table(
                key="per_day",
                title_zh="每日工单",
                columns=(Column("day", "日期", kind="date"), Column("tasks", "工单数")),
                rows=sorted(per_day.items()),
                chart=Chart(kind="line", x="day", series=("tasks",)),
            ),
        ),
    )


def _nothing(session: Session, query: FigureQuery) -> Section:
    """A section with no rows in any period (the dashboard says 暂无数据)."""
    return Section(
        key="test.empty",
        title_zh="空白统计",
        headline=(("总数", 0),),
        tables=(Table(key="none", title_zh="无", columns=(Column("day", "日期", kind="date"),)),),
    )


REGISTRY = PluginRegistry.build(
    [
        engine_plugin,
        CarePlugin(
            name="test_dashboard",
            version="0",
            title_zh="看板测试",
            title_en="dashboard test",
            figures=(
                FigureSpec(key="test.tasks", title_zh="测试工单", title_en="t", compute=_tasks),
                FigureSpec(
                    key="test.empty", title_zh="空白统计", title_en="e", compute=_nothing, order=200
                ),
            ),
        ),
    ]
)


def _task(n: int, community: str, day: int, case_ref: str) -> Task:
    opened = datetime(2026, 3, day, 2, tzinfo=UTC)  # 10:00 in Taiyuan, the same local day
    return Task(
        task_id=f"dash{n}",
        workflow_id=f"w-dash{n}",
        step_key="s",
        process="p",
        module="m",
        district="wanbailin",
        community=community,
        case_ref=case_ref,
        role="grid_worker",
        title_zh="t",
        title_en="t",
        form_ref="f",
        due_at=opened + timedelta(hours=8),
        opened_at=opened,
    )


def add_tasks(engine: Engine) -> None:
    """The fixture rows of the module docstring."""
    rows = [_task(n, JIUSI, 2, f"c{n + 1}") for n in range(4)]
    rows += [_task(4, JIUSI, 3, "c1"), _task(5, XINGHUA, 2, "c9"), _task(6, XINGHUA, 9, "c9")]
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


@pytest.fixture
def dashboard_app(staff_engine: Engine) -> FastAPI:
    """The staff service (console included) on the seeded database with the fixture tasks;
    no Temporal client (the dashboard never needs one)."""
    add_tasks(staff_engine)
    return create_app(settings=Settings(), registry=REGISTRY, engine=staff_engine, client=None)


@pytest.fixture
async def http(dashboard_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=dashboard_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def _login(http: httpx.AsyncClient, username: str) -> httpx.Response:
    form = await http.get("/login")
    answer = await http.post(
        "/login",
        data={
            "username": username,
            "password": DEMO_PASSWORD,
            "login_token": hidden(form.text, "login_token"),
            "next": "/tasks",
        },
    )
    assert answer.status_code == 303, answer.text
    return await http.get(answer.headers["location"])


def _staff_id(engine: Engine, username: str) -> str:
    with Session(engine) as session:
        return session.exec(select(Staff).where(Staff.username == username)).one().id


def _reports(engine: Engine) -> list[tuple[str, str, str, str | None, str | None]]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.action).startswith("report."))
            .order_by(col(AuditEntry.id))
        ).all()
    return [(r.actor, r.action, r.outcome, r.reason, r.target) for r in rows]


def _section(html: str, key: str) -> str:
    """The HTML of one section of the dashboard (the engine plugin's tasks section is there too)."""
    start = html.index(f'id="section-{key}"')
    return html[start : html.index("</section>", start)]


def _rows(html: str, table_title: str) -> list[list[str]]:
    """The body rows of the figures table under the heading ``table_title`` (cell texts)."""
    start = html.index(f">{table_title}")
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


async def test_the_district_admin_sees_charts_beside_their_numbers(
    http: httpx.AsyncClient, staff_engine: Engine
) -> None:
    home = await _login(http, ADMIN)
    assert '<a href="/console/dashboard">统计' in home.text, "the nav links to the dashboard"
    answer = await http.get(f"/console/dashboard?{PERIOD}")
    assert answer.status_code == 200
    html = answer.text
    assert "万柏林区 · 2026-03-01 – 2026-03-07" in html
    # Headline figures of the section.
    assert re.search(r"<dt>工单总数</dt><dd>6</dd>", html)
    assert re.search(r"<dt>涉及人数</dt><dd>5</dd>", html)
    # Two charts, inline SVG with a text alternative in Chinese.
    charts = re.findall(r"<svg [^>]*>", _section(html, "test.tasks"))
    assert len(charts) == 2
    assert all('role="img"' in c and 'width="100%"' in c for c in charts)
    assert 'class="chart chart-bar"' in charts[0] and 'class="chart chart-line"' in charts[1]
    assert (
        "工单数：最大 5（九四社区），最小 1（兴华社区），合计 6；"
        "涉及人数：4（九四社区），合计 4，1 项少于 3 人（&lt;3）"
    ) in html
    assert '<title id="chart-test-tasks-per_community-title">各社区工单</title>' in html
    # The bar of 兴华社区's people is drawn with no width and labelled <3, never guessed.
    assert re.search(r'width="0" [^>]*data-value="&lt;3"><title>兴华社区 · 涉及人数：&lt;3', html)
    assert 'class="small-cell"' in html
    # The tables: community names, numbers right-aligned, <3 shown.
    assert _rows(html, "各社区工单") == [["九四社区", "5", "4"], ["兴华社区", "1", "&lt;3"]]
    assert '<td class="num">5</td><td class="num">4</td>' in html
    assert _rows(html, "每日工单") == [
        ["2026-03-01", "0"],
        ["2026-03-02", "5"],
        ["2026-03-03", "1"],
        ["2026-03-04", "0"],
        ["2026-03-05", "0"],
        ["2026-03-06", "0"],
        ["2026-03-07", "0"],
    ]
    assert '<th scope="col" class="num">工单数</th>' in html
    # The empty section says so and draws nothing.
    empty = _section(html, "test.empty")
    assert "暂无数据 no data" in empty and "<svg" not in empty
    assert _reports(staff_engine) == [
        (
            _staff_id(staff_engine, ADMIN),
            "report.view",
            "accepted",
            None,
            "wanbailin:2026-03-01..2026-03-07:html",
        )
    ]


async def test_defaults_are_my_district_and_the_30_days_to_yesterday(
    http: httpx.AsyncClient, staff_engine: Engine
) -> None:
    await _login(http, ADMIN)
    answer = await http.get("/console/dashboard")
    assert answer.status_code == 200
    start, end = default_period()
    assert (
        datetime.fromisoformat(end) - datetime.fromisoformat(start)
    ).days == 29  # 30 days inclusive
    assert f'name="from" value="{start}"' in answer.text
    assert f'name="to" value="{end}"' in answer.text
    assert '<option value="wanbailin" selected>万柏林区</option>' in answer.text
    assert 'value="all"' not in answer.text, "one district: no side-by-side view"
    assert _reports(staff_engine)[-1][1:] == (
        "report.view",
        "accepted",
        None,
        f"wanbailin:{start}..{end}:html",
    )


def test_default_period_ends_yesterday_in_taiyuan() -> None:
    # 2026-03-08 23:30 UTC is already 03-09 07:30 in Taiyuan: yesterday there is 03-08.
    assert default_period(datetime(2026, 3, 8, 23, 30, tzinfo=UTC)) == ("2026-02-07", "2026-03-08")


@pytest.mark.parametrize(
    ("query", "status", "words", "reason"),
    [
        ("district=yingze&from=2026-03-01&to=2026-03-07", 403, "区 district：", "out_of_scope"),
        ("district=wanbailin&from=2026-03-08&to=2026-03-01", 422, "to: ends before", "bad_input"),
        ("district=wanbailin&from=March&to=2026-03-01", 422, "from: expected a date", "bad_input"),
    ],
)
async def test_refusals_name_the_field_and_are_audited(
    http: httpx.AsyncClient,
    staff_engine: Engine,
    query: str,
    status: int,
    words: str,
    reason: str,
) -> None:
    await _login(http, ADMIN)
    answer = await http.get(f"/console/dashboard?{query}")
    assert answer.status_code == status
    assert words in answer.text and 'class="panel refusal"' in answer.text
    assert "<svg" not in answer.text
    ((actor, action, outcome, audited, _),) = _reports(staff_engine)
    assert (actor, action, outcome, audited) == (
        _staff_id(staff_engine, ADMIN),
        "report.view",
        "refused",
        reason,
    )


async def test_the_city_auditor_sees_the_districts_side_by_side(
    http: httpx.AsyncClient, staff_engine: Engine
) -> None:
    await _login(http, AUDITOR)
    answer = await http.get("/console/dashboard?district=all&from=2026-03-01&to=2026-03-07")
    assert answer.status_code == 200
    html = answer.text
    assert '<option value="all" selected>' in html
    head = html[html.index('class="figures overview"') : html.index("</thead>")]
    assert re.findall(r">([^<>]+区)</a></th>", head) == ["小店区", "迎泽区", "杏花岭区", "万柏林区"]
    total = re.search(r"<br>工单总数</th>((?:<td[^>]*>[^<]*</td>)+)", html)
    assert total and re.findall(r">([^<]*)</td>", total.group(1)) == ["0", "0", "0", "6"]
    assert (
        'href="/console/dashboard?district=wanbailin&amp;from=2026-03-01&amp;to=2026-03-07"' in html
    )
    auditor = _staff_id(staff_engine, AUDITOR)
    assert [(r[0], r[1], r[2], r[4]) for r in _reports(staff_engine)] == [
        (auditor, "report.view", "accepted", f"{d}:2026-03-01..2026-03-07:html")
        for d in ("xiaodian", "yingze", "xinghualing", "wanbailin")
    ]


async def test_other_roles_have_no_link_and_are_refused(
    http: httpx.AsyncClient, staff_engine: Engine
) -> None:
    home = await _login(http, GRID_JIUSI)
    assert "/console/dashboard" not in home.text
    answer = await http.get(f"/console/dashboard?{PERIOD}")
    assert answer.status_code == 403 and "无权操作" in answer.text
    assert _reports(staff_engine)[-1][2:4] == ("refused", "wrong_role")


async def test_the_dashboard_needs_a_login(http: httpx.AsyncClient) -> None:
    answer = await http.get(f"/console/dashboard?{PERIOD}")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=%2Fconsole%2Fdashboard%3F")


async def test_the_figures_download_as_a_workbook_and_csv_from_the_dashboard(
    http: httpx.AsyncClient, staff_engine: Engine
) -> None:
    await _login(http, ADMIN)
    page = (await http.get(f"/console/dashboard?{PERIOD}")).text
    link = f'href="/console/dashboard/export?{PERIOD.replace("&", "&amp;")}&amp;format=xlsx"'
    assert link in page and "下载 Excel 工作簿" in page
    answer = await http.get(f"/console/dashboard/export?{PERIOD}&format=xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == (
        'attachment; filename="report-wanbailin-2026-03-01-2026-03-07.xlsx"'
    )
    assert "no-store" in answer.headers["cache-control"]
    book = load_workbook(io.BytesIO(answer.content))
    sheet = next(ws for ws in book.worksheets if ws.title.startswith("测试工单"))
    rows = [list(r) for r in sheet.iter_rows(values_only=True) if any(c is not None for c in r)]
    # The community table's numbers are numbers, 兴华社区's one person "<3".
    assert ["wanbailin.wanghua.jiusi", 5, 4] in rows
    assert ["wanbailin.xinghua.xinghua", 1, "<3"] in rows
    csv_answer = await http.get(f"/console/dashboard/export?{PERIOD}&format=csv")
    assert csv_answer.status_code == 200
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert "测试工单" in csv_answer.content.decode("utf-8-sig")
    assert [r[1:] for r in _reports(staff_engine)] == [
        ("report.view", "accepted", None, "wanbailin:2026-03-01..2026-03-07:html"),
        ("report.export", "accepted", None, "wanbailin:2026-03-01..2026-03-07:xlsx"),
        ("report.export", "accepted", None, "wanbailin:2026-03-01..2026-03-07:csv"),
    ]


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        (f"{PERIOD}&format=pdf", 422, "格式 format："),
        ("district=wanbailin&from=2026-03-01&to=9999-12-31&format=xlsx", 422, "to: a day from"),
        ("district=yingze&from=2026-03-01&to=2026-03-07&format=csv", 403, "区 district："),
    ],
)
async def test_a_refused_export_downloads_nothing_and_is_audited(
    http: httpx.AsyncClient, staff_engine: Engine, query: str, status: int, words: str
) -> None:
    await _login(http, ADMIN)
    answer = await http.get(f"/console/dashboard/export?{query}")
    assert answer.status_code == status
    assert "content-disposition" not in answer.headers
    assert words in answer.text
    ((_, action, outcome, _, _),) = _reports(staff_engine)
    assert (action, outcome) == ("report.export", "refused")


async def test_an_export_needs_a_login(http: httpx.AsyncClient) -> None:
    answer = await http.get(f"/console/dashboard/export?{PERIOD}&format=xlsx")
    assert answer.status_code == 303
    assert "content-disposition" not in answer.headers


async def test_rates_read_as_percents_and_codes_as_codes(http: httpx.AsyncClient) -> None:
    await _login(http, ADMIN)
    tasks = _section((await http.get(f"/console/dashboard?{PERIOD}")).text, "tasks")
    # The engine's tasks section: none of the fixture's 6 open tasks is done, so 0 % on time.
    assert re.search(r"<dt>按时完成率 on-time share</dt><dd>0\.0%</dd>", tasks), tasks[:2000]
    # 社区 shows the name, 社区代码 beside it the code itself (left out on a phone).
    assert (
        '<th scope="row">九四社区</th><td class="wide-only">wanbailin.wanghua.jiusi</td>' in tasks
    )
