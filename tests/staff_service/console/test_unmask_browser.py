"""Showing one record in full in a real browser (Debian's Chromium, on a phone).

Community staff of 兴华社区 open a Delivery's drop-off task: the recipient is masked; "显示完整
信息 Show in full" opens a small form; an empty reason is refused with the field named; a
reason shows the recipient in clear on that page only. The process page shows the person it is
about masked the same way. ``CAREFLOW_SCREENSHOTS=1`` saves the screens to
``docs/screenshots/`` (``unmask-*.png``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session

from careflow import service
from careflow.db.tables import Person
from careflow.privacy.masking import mask_name, mask_phone
from tests.staff_service.console import test_browser as browser_test
from tests.staff_service.console.conftest import STAFF_XINGHUA, XINGHUA, ConsoleStack
from tests.support.inbox import wait_for_task

pytestmark = pytest.mark.timeout(180)

# The browser, the server in front of the console and the phone helpers of test_browser.
chromium = browser_test.chromium
base_url = browser_test.base_url
browser = browser_test.browser
_check_phone_layout = browser_test._check_phone_layout
_login = browser_test._login
_phone = browser_test._phone
_shot = browser_test._shot

RECIPIENT = "P00012"  # an elder of 兴华社区 in the demo registry


async def test_staff_show_one_record_in_full_with_a_reason(
    console_stack: ConsoleStack, base_url: str, browser: Any
) -> None:
    stack = console_stack
    with Session(stack.engine) as session:
        elder = session.get(Person, RECIPIENT)
        assert elder is not None and elder.phone and elder.address
    started = await service.start_process(
        stack.client,
        stack.registry,
        process="delivery",
        district="wanbailin",
        community=XINGHUA,
        case_ref=f"C{uuid.uuid4().hex[:10]}",
        request={
            "recipient_ref": RECIPIENT,
            "donor_ref": "D0003",
            "items": [{"category": "school_bag", "quantity": 1}],
            "purpose": "micro_wish",
        },
        started_by="staff:S0001",
        task_queue=stack.task_queue,
    )
    task = await wait_for_task(stack.engine, started.workflow_id, "dropoff")

    page = await _phone(browser)
    await _login(page, base_url, STAFF_XINGHUA)
    await page.goto(f"{base_url}/tasks/{task.task_id}")
    facts = page.locator(".facts")
    assert mask_name(elder.name) in await facts.inner_text()
    assert elder.name not in await page.content()
    await _check_phone_layout(page)
    await _shot(page, "unmask-masked")

    # The control opens a small form asking for the reason.
    reason = page.get_by_label("理由")
    assert not await reason.is_visible()
    await page.locator("details.unmask summary").click()
    await reason.wait_for()
    await _check_phone_layout(page)
    await page.get_by_role("button", name="显示完整信息").click()
    error = page.locator("#unmask-reason-error")
    await error.wait_for()
    assert "请填写查看完整信息的理由" in await error.inner_text()
    assert elder.name not in await page.content()
    await _check_phone_layout(page)
    await _shot(page, "unmask-no-reason")

    await page.get_by_label("理由").fill("联系收件人确认送达时间")
    await page.get_by_role("button", name="显示完整信息").click()
    await page.locator(".unmasked-note").wait_for()
    shown = await page.locator(".facts").inner_text()
    assert elder.name in shown and elder.phone in shown
    await _check_phone_layout(page)
    await _shot(page, "unmask-shown")

    # Only that answer: the task again is masked.
    await page.goto(f"{base_url}/tasks/{task.task_id}")
    assert mask_phone(elder.phone) in await page.locator(".facts").inner_text()
    assert elder.name not in await page.content()

    # The process page shows the person it is about, masked, with the same control.
    await page.get_by_role("link", name="流程详情").click()
    await page.locator("#subject-title").wait_for()
    person = await page.locator("section[aria-labelledby=subject-title]").inner_text()
    assert mask_name(elder.name) in person and elder.id_number not in person
    await _check_phone_layout(page)
    await _shot(page, "unmask-process")
