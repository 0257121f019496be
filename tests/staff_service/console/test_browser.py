"""The console in a real browser: Debian's Chromium driven by Playwright (PyPI), on a phone.

The app is served by uvicorn in the test's event loop in front of a worker on the
time-skipping test server. Three people use it: a grid worker of 九四社区 on a 360×740 screen
completes a household visit after a field error; community staff of 兴华社区 are refused that
task; the city auditor reads both rows in the audit page.

Chromium is ``/usr/bin/chromium`` (``apt-get install chromium fonts-noto-cjk``); the tests skip
without it, but fail when ``CI=true``. ``CAREFLOW_SCREENSHOTS=1`` saves the screens to
``docs/screenshots/``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from careflow.db.seed_accounts import DEMO_PASSWORD
from careflow.db.tables import AuditEntry, Staff, Task
from staff_service.server import serve
from tests.staff_service.console.conftest import (
    AUDITOR,
    GRID_JIUSI,
    JIUSI,
    STAFF_XINGHUA,
    XINGHUA,
    ConsoleStack,
)
from tests.support.inbox import wait_for_task

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"

pytestmark = pytest.mark.timeout(180)


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk"
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests need Chromium in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium, checked before anything else is set up."""
    _need_chromium()
    return CHROMIUM


@pytest.fixture
async def base_url(chromium: Path, console_stack: ConsoleStack) -> AsyncIterator[str]:
    """The console served by uvicorn on a free port of 127.0.0.1."""
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(
        serve(
            console_stack.app,
            host="127.0.0.1",
            port=0,
            stop=stop,
            on_ready=lambda url: ready.set_result(url),
        )
    )
    try:
        yield await asyncio.wait_for(ready, 15)
    finally:
        stop.set()
        await asyncio.wait_for(server, 20)


@pytest.fixture
async def browser(chromium: Path, base_url: str) -> AsyncIterator[Any]:
    """Chromium, headless."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _phone(browser: Any) -> Any:
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    return await context.new_page()


async def _shot(page: Any, name: str) -> None:
    if os.environ.get("CAREFLOW_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def _check_phone_layout(page: Any) -> None:
    """Nothing scrolls sideways; every input has a label; touch targets are ≥ 44 px high."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => e.labels.length === 0).map(e => e.name)"""
    )
    assert unlabelled == [], f"inputs without a label on {page.url}: {unlabelled}"
    small = await page.evaluate(
        """[...document.querySelectorAll(
              'button, a.button, .card-link, nav a, select, input[type=text], '
              + 'input[type=password], input[type=number], .option label, .check label')]
            .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert small == [], f"touch targets under 44px on {page.url}: {small}"


async def _login(page: Any, base_url: str, username: str) -> None:
    await page.goto(base_url + "/")
    assert page.url.startswith(base_url + "/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(base_url + "/tasks")


def _staff_id(stack: ConsoleStack, username: str) -> str:
    with Session(stack.engine) as session:
        return session.exec(select(Staff).where(Staff.username == username)).one().id


def _make_overdue(stack: ConsoleStack, task_id: str) -> None:
    """Put a task's due time in the past (as if its deadline had passed)."""
    with Session(stack.engine) as session:
        row = session.get(Task, task_id)
        assert row is not None
        row.due_at = datetime.now(UTC) - timedelta(hours=2)
        session.add(row)
        session.commit()


async def _visits(stack: ConsoleStack, workflow_id: str, count_at_least: int = 1) -> list[Task]:
    for _ in range(200):
        found = [
            t for t in stack.tasks(workflow_id, status="open") if t.step_key.startswith("visit.")
        ]
        if len(found) >= count_at_least:
            await asyncio.sleep(0.3)
            return [
                t
                for t in stack.tasks(workflow_id, status="open")
                if t.step_key.startswith("visit.")
            ]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no visit tasks in {workflow_id}")


async def test_grid_worker_phone_flow_refusal_and_audit(
    console_stack: ConsoleStack, base_url: str, browser: Any
) -> None:
    stack = console_stack
    jiusi = await stack.start_microwish(JIUSI)
    elsewhere = await stack.start_microwish(XINGHUA)
    visits = await _visits(stack, jiusi, 2)
    others = await _visits(stack, elsewhere)
    # The last due of the campaign's visits is the one whose deadline passed.
    late = sorted(visits, key=lambda t: (t.due_at, t.task_id))[-1]
    _make_overdue(stack, late.task_id)

    # (1) The grid worker of 九四社区 on a phone.
    page = await _phone(browser)
    await page.goto(base_url + "/")
    await _check_phone_layout(page)
    await _shot(page, "login")
    await _login(page, base_url, GRID_JIUSI)
    await _check_phone_layout(page)
    await _shot(page, "inbox")
    links = await page.locator(".cards .card-link").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert links[0] == f"/tasks/{late.task_id}", "the overdue task comes first"
    assert sorted(links) == sorted(f"/tasks/{t.task_id}" for t in visits), "only my tasks"
    assert not {f"/tasks/{t.task_id}" for t in others} & set(links)
    first = page.locator(".cards .card").first
    await first.locator(".badge.overdue").wait_for()
    assert "逾期" in await first.inner_text()
    assert "九四社区" in await first.inner_text() and "网格员" in await first.inner_text()

    await first.locator("a").click()
    await page.wait_for_url(f"{base_url}/tasks/{late.task_id}")
    await page.get_by_label("心愿类别").select_option("school_bag")
    await page.get_by_label("估计价值").fill("200000")
    await page.get_by_label("监护人同意匿名发布").check()
    await page.get_by_role("button", name="提交").click()
    error = page.locator("#f-estimated_value_yuan-error")
    await error.wait_for()
    assert "不能大于 100000" in await error.inner_text()
    described = await page.get_by_label("估计价值").get_attribute("aria-describedby")
    assert described is not None and "f-estimated_value_yuan-error" in described
    assert await page.get_by_label("估计价值").input_value() == "200000"
    assert await page.get_by_label("监护人同意匿名发布").is_checked()
    await _check_phone_layout(page)
    await _shot(page, "task-with-error")

    await page.get_by_label("估计价值").fill("80")
    await page.get_by_role("button", name="提交").click()
    done = page.locator("#done-title")
    await done.wait_for()
    assert "已完成" in await done.inner_text()
    assert "心愿审核" in await page.locator(".panel.success").inner_text()
    await _check_phone_layout(page)
    await _shot(page, "task-done")
    # The process moved on: the visit is done in the app database, the review is open.
    row = next(t for t in stack.tasks(jiusi) if t.task_id == late.task_id)
    assert row.status == "done" and row.completed_by == _staff_id(stack, GRID_JIUSI)
    wish = late.step_key.removeprefix("visit.")
    review = await wait_for_task(stack.engine, jiusi, f"review.{wish}")
    assert review.role == "community_staff"
    described_run = await stack.client.get_workflow_handle(jiusi).describe()
    assert described_run.status is not None and described_run.status.name == "RUNNING"
    # The process page shows the completion in its timeline and links to the Temporal UI.
    await page.get_by_role("link", name="查看流程").click()
    await page.locator("#timeline-title").wait_for()
    timeline = await page.locator(".timeline").inner_text()
    assert "工单完成" in timeline and _staff_id(stack, GRID_JIUSI) in timeline
    ui = page.get_by_role("link", name="在 Temporal 界面中查看")
    assert (await ui.get_attribute("href") or "").endswith(f"/namespaces/default/workflows/{jiusi}")
    await _check_phone_layout(page)
    await _shot(page, "process")

    # (2) Community staff of another community: not listed, and refused at the direct URL.
    page2 = await _phone(browser)
    await _login(page2, base_url, STAFF_XINGHUA)
    assert late.task_id not in await page2.content()
    answer = await page2.goto(f"{base_url}/tasks/{late.task_id}")
    assert answer is not None and answer.status == 403
    assert "该工单不在您的负责范围" in await page2.locator("main").inner_text()
    await _check_phone_layout(page2)
    await _shot(page2, "refused")

    # (3) The city auditor reads both rows on the audit page.
    page3 = await _phone(browser)
    await _login(page3, base_url, AUDITOR)
    await page3.goto(f"{base_url}/audit")
    rows = page3.locator("table.audit tbody tr", has_text=late.task_id)
    texts = await rows.all_inner_texts()
    accepted = [t for t in texts if "提交工单" in t and "已受理" in t]
    refused = [t for t in texts if "查看工单" in t and "已拒绝" in t and "out_of_scope" in t]
    assert accepted and _staff_id(stack, GRID_JIUSI) in accepted[0]
    assert refused and _staff_id(stack, STAFF_XINGHUA) in refused[0]
    await _check_phone_layout(page3)
    await _shot(page3, "audit")
    with Session(stack.engine) as session:
        kinds = {
            (r.action, r.outcome, r.reason)
            for r in session.exec(
                select(AuditEntry)
                .where(AuditEntry.target == late.task_id)
                .order_by(col(AuditEntry.id))
            )
        }
    assert ("task.complete", "accepted", None) in kinds
    assert ("task.complete", "refused", "bad_form") in kinds
    assert ("task.view", "refused", "out_of_scope") in kinds
