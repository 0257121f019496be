"""The dashboard 统计看板 in a real browser: Debian's Chromium driven by Playwright, as in
``test_browser.py`` (whose Chromium check, flags, login and screenshot helpers this module
uses).

The district admin of 万柏林区 picks the period in the form and reads the figures on a desktop
and on a 390-px phone: the charts are drawn (inline SVG, ``role="img"``, bars as long as their
numbers), the tables beside them hold the same numbers, a people count under 3 reads "<3" and
is drawn as no bar. The console needs no Temporal here: the dashboard reads the app database.
``CAREFLOW_SCREENSHOTS=1`` saves the desktop page to ``docs/screenshots/dashboard.png`` and
the phone's to ``dashboard-phone.png``.

The data are the fixture of ``test_dashboard.py`` (its test section and task rows) with the
built-in plugins' sections (急诊绿色通道 and 工单 are those 万柏林区 runs) and three green
channels of the built-in section's own test rows, period 2026-03-01 – 2026-03-07:

====  =========  ===============  =======  ========  ==========  =====
case  community  opened (local)   minutes  admitted  outcome     120
====  =========  ===============  =======  ========  ==========  =====
gc-1  九四社区    03-02 08:00      25       partner   completed   yes
gc-2  九四社区    03-04 09:00      40       fallback  (open)
gc-3  兴华社区    03-05 10:00      55       arranged  completed
====  =========  ===============  =======  ========  ==========  =====

Each channel leaves one triage task (a case of its own), so the test section counts
九四社区 5 + 2 = 7 tasks of 4 + 2 = 6 people, 兴华社区 1 + 1 = 2 tasks of 1 + 1 = 2 people
(shown <3): 9 tasks of 8 people; per day 03-02 4 + 1 + 1 = 6, 03-03 1, 03-04 1, 03-05 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.registry import PluginRegistry
from careflow.settings import Settings
from staff_service.app import create_app
from staff_service.server import serve
from tests.plugins.eldercare.green_channel.test_figures import case, local
from tests.staff_service.console import test_browser as browser_test
from tests.staff_service.console.test_dashboard import (
    ADMIN,
    JIUSI,
    REGISTRY,
    XINGHUA,
    add_tasks,
)
from tests.support.plugins import BUILT_IN

__all__ = ["chromium", "dashboard_url"]

pytestmark = pytest.mark.timeout(180)

chromium = browser_test.chromium
_login = browser_test._login
_shot = browser_test._shot

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
FROM, TO = "2026-03-01", "2026-03-07"
# The dashboard test's own plugin (its 测试工单 and 空白统计 sections) beside every built-in one.
TEST_PLUGIN = next(p for p in REGISTRY.plugins if p.name == "test_dashboard")
RICH = PluginRegistry.build([*BUILT_IN, TEST_PLUGIN])


def add_green_channels(engine: Engine) -> None:
    """The three channels of the module docstring, as the green channel's workflow records them."""
    rows = [
        *case(1, JIUSI, local(date(2026, 3, 2), 8), minutes=25.0, admitted="partner",
              outcome="completed", ambulance=True, district="wanbailin"),
        *case(2, JIUSI, local(date(2026, 3, 4), 9), minutes=40.0, admitted="fallback",
              district="wanbailin"),
        *case(3, XINGHUA, local(date(2026, 3, 5), 10), minutes=55.0, admitted="arranged",
              outcome="completed", district="wanbailin"),
    ]  # fmt: skip
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


@pytest.fixture
async def dashboard_url(chromium: Path, staff_engine: Engine) -> AsyncIterator[str]:
    """The staff service on the fixture rows, served by uvicorn on a free port (no Temporal)."""
    add_tasks(staff_engine)
    add_green_channels(staff_engine)
    app = create_app(settings=Settings(), registry=RICH, engine=staff_engine, client=None)
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(
        serve(app, host="127.0.0.1", port=0, stop=stop, on_ready=ready.set_result)
    )
    try:
        yield await asyncio.wait_for(ready, 15)
    finally:
        stop.set()
        await asyncio.wait_for(server, 20)


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Any]:
    """Chromium, headless."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=browser_test.CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _table(page: Any, section: str, table: str) -> list[dict[str, str]]:
    """The body rows of one figures table as staff read them, keyed by the column headers."""
    found: list[dict[str, str]] = await page.evaluate(
        """([section, table]) => {
            const box = document.getElementById(`caption-${section}-${table}`).parentElement;
            const heads = [...box.querySelectorAll("thead th")].map(th => th.textContent.trim());
            return [...box.querySelectorAll("tbody tr")].map(tr => Object.fromEntries(
                [...tr.children].map((cell, i) => [heads[i], cell.textContent.trim()])));
        }""",
        [section, table],
    )
    return found


async def _headline(page: Any, section: str) -> dict[str, str]:
    found: dict[str, str] = await page.evaluate(
        """(section) => Object.fromEntries([...document.getElementById(`section-${section}`)
            .querySelectorAll(".headline > div")]
            .map(d => [d.querySelector("dt").textContent, d.querySelector("dd").textContent]))""",
        section,
    )
    return found


async def _bars(page: Any, chart_id: str) -> list[tuple[str, float]]:
    """Each bar of a chart of horizontal bars, in drawing order: its value label and its drawn
    length in px (0 for a bar of no length)."""
    found = await page.evaluate(
        """(id) => [...document.querySelectorAll(`#${id} .bars rect`)]
            .map(r => [r.dataset.value, r.getBoundingClientRect().width])""",
        chart_id,
    )
    return [(value, float(length)) for value, length in found]


async def _points(page: Any, chart_id: str) -> list[tuple[str, float]]:
    """Each point of a line chart: its value label and its height in px above the lowest point
    (the base line when a value is 0)."""
    found = await page.evaluate(
        """(id) => {
            const svg = document.getElementById(id);
            const base = Math.max(...[...svg.querySelectorAll("circle")]
                .map(c => c.getBoundingClientRect().y + c.getBoundingClientRect().height / 2));
            return [...svg.querySelectorAll("circle")].map(c => {
                const box = c.getBoundingClientRect();
                return [c.dataset.value, base - (box.y + box.height / 2)];
            });
        }""",
        chart_id,
    )
    return [(value, float(height)) for value, height in found]


async def _charts(page: Any) -> list[dict[str, Any]]:
    """Every chart of the page: its role, accessible name and drawn size."""
    found: list[dict[str, Any]] = await page.evaluate(
        """[...document.querySelectorAll("svg.chart")].map(svg => {
            const box = svg.getBoundingClientRect();
            return {id: svg.id, role: svg.getAttribute("role"),
                    label: svg.getAttribute("aria-label"), width: box.width,
                    height: box.height, right: box.right};
        })"""
    )
    return found


async def test_the_district_admin_reads_the_dashboard_on_a_desktop_and_a_phone(
    dashboard_url: str, browser: Any
) -> None:
    desktop = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await desktop.new_page()
    await _login(page, dashboard_url, ADMIN)
    await page.get_by_role("link", name="统计").click()
    await page.wait_for_url(f"{dashboard_url}/console/dashboard")
    await page.get_by_label("开始日期").fill(FROM)
    await page.get_by_label("结束日期").fill(TO)
    await page.get_by_role("button", name="查看").click()
    await page.wait_for_url(f"**/console/dashboard?district=wanbailin&from={FROM}&to={TO}")
    assert "万柏林区 · 2026-03-01 – 2026-03-07" in await page.locator("p.lead").inner_text()

    # The test section: headline figures, then each table's chart beside the same numbers.
    assert await _headline(page, "test.tasks") == {"工单总数": "9", "涉及人数": "8"}
    charts = await _charts(page)
    assert charts and all(c["role"] == "img" and c["label"] for c in charts)
    assert all(c["width"] >= 300 and c["height"] >= 100 for c in charts), "every chart is drawn"
    # Its text alternative says what the bars show, the hidden cell included.
    per_community = page.locator('[id="section-test.tasks"]').get_by_role("img", name="各社区工单")
    assert await per_community.get_attribute("aria-label") == (
        "各社区工单，共 2 项；工单数：最大 7（九四社区），最小 2（兴华社区），合计 9；"
        "涉及人数：6（九四社区），合计 6，1 项少于 3 人（<3）。"
    )
    bars = await _bars(page, "chart-test-tasks-per_community")
    assert [value for value, _ in bars] == ["7", "6", "2", "<3"]
    (_, jiusi_tasks), (_, jiusi_people), (_, xinghua_tasks), (_, hidden) = bars
    # Bars as long as their numbers: 7 and 6 against 2; the "<3" cell is no bar, only its label.
    assert jiusi_tasks / xinghua_tasks == pytest.approx(3.5, rel=0.01)
    assert jiusi_people / xinghua_tasks == pytest.approx(3.0, rel=0.01)
    assert hidden == 0
    small = page.locator("#chart-test-tasks-per_community .small-cell")
    assert await small.text_content() == "<3" and await small.is_visible()
    assert await _table(page, "test.tasks", "per_community") == [
        {"社区": "九四社区", "工单数": "7", "涉及人数": "6"},
        {"社区": "兴华社区", "工单数": "2", "涉及人数": "<3"},
    ]
    per_day = (0, 6, 1, 1, 1, 0, 0)  # 03-01 … 03-07
    days = [(f"2026-03-0{d}", n) for d, n in enumerate(per_day, start=1)]
    assert await _table(page, "test.tasks", "per_day") == [
        {"日期": day, "工单数": str(n)} for day, n in days
    ]
    points = await _points(page, "chart-test-tasks-per_day")
    assert [value for value, _ in points] == [str(n) for _, n in days]
    one = points[2][1]
    assert one > 0 and points[1][1] == pytest.approx(6 * one, rel=0.01)
    assert [h for value, h in points if value == "0"] == [0, 0, 0]  # on the base line

    # The green channel's own section, over its three cases.
    headline = await _headline(page, "eldercare.green_channel")
    assert {k: headline[k] for k in list(headline)[:5]} == {
        "开通病例人次 cases opened": "3",
        "已到院人次 arrived": "3",
        "到院用时中位数（分钟）median minutes": "40.0",
        "到院用时P90（分钟）p90 minutes": "55.0",
        "呼叫120 ambulance called": "1",
    }
    cases = await _table(page, "eldercare.green_channel", "per_community")
    assert [(r["社区"], r["开通病例"], r["已到院"], r["到院用时中位数"]) for r in cases] == [
        ("九四社区", "<3", "<3", "32.5"),
        ("兴华社区", "<3", "<3", "55.0"),
    ]
    bands = await _table(page, "eldercare.green_channel", "arrival_minutes")
    assert [(r["用时（分钟）"], r["病例数"]) for r in bands] == [
        ("≤30", "1"), ("31–60", "2"), ("61–90", "0"), ("91–120", "0"), (">120", "0"),
    ]  # fmt: skip
    drawn = await _bars(page, "chart-eldercare-green_channel-arrival_minutes")
    assert [v for v, _ in drawn] == ["1", "2", "0", "0", "0"]
    assert drawn[1][1] == pytest.approx(2 * drawn[0][1], rel=0.01) and drawn[2][1] == 0
    outcomes = await _table(page, "eldercare.green_channel", "outcomes")
    assert [(r["代码"], r["病例数"]) for r in outcomes] == [
        ("completed", "2"), ("discharge_unconfirmed", "0"), ("deceased", "0"),
        ("no_hospital", "0"), ("open", "1"),
    ]  # fmt: skip
    # The tasks section counts the same nine tasks.
    assert (await _headline(page, "tasks"))["新开工单 opened"] == "9"
    # The empty section says so and draws nothing.
    empty = page.locator('[id="section-test.empty"]')
    assert "暂无数据 no data" in await empty.inner_text()
    assert await empty.locator("svg").count() == 0
    await _shot(page, "dashboard")

    # A 390-px phone with JavaScript off: the same charts, nothing wider than the screen.
    phone_context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=False,
    )
    phone = await phone_context.new_page()
    await _login(phone, dashboard_url, ADMIN)
    await phone.goto(f"{dashboard_url}/console/dashboard?district=wanbailin&from={FROM}&to={TO}")
    on_phone = await _charts(phone)
    assert [c["id"] for c in on_phone] == [c["id"] for c in charts]
    assert all(c["right"] <= PHONE["width"] and c["height"] >= 100 for c in on_phone)
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    wider = await phone.evaluate(
        """[...document.querySelectorAll("main *")]
            .filter(e => !e.closest(".table-scroll")
                && e.getBoundingClientRect().right > innerWidth)
            .map(e => e.tagName + "." + e.className)"""
    )
    assert wider == [], "only a wide table may scroll, inside its own box"
    bars = await _bars(phone, "chart-test-tasks-per_community")
    assert bars[0][1] / bars[2][1] == pytest.approx(3.5, rel=0.01) and bars[3][1] == 0
    await _shot(phone, "dashboard-phone")
