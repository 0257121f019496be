"""The consent register in a real browser on a phone: a field error in place, then recorded.

Debian's Chromium driven by Playwright, as in ``test_browser.py`` (whose fixtures and layout
checks this module uses). ``CAREFLOW_SCREENSHOTS=1`` saves the screens to ``docs/screenshots/``.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from careflow.db.seed import demo_child_without_consent
from careflow.db.tables import Consent, Guardian
from tests.staff_service.console.conftest import STAFF_JIUSI, ConsoleStack
from tests.staff_service.console.test_browser import (  # fixtures and helpers, no tests
    _check_phone_layout,
    _login,
    _phone,
    _shot,
    base_url,
    browser,
    chromium,
)

__all__ = ["base_url", "browser", "chromium"]

pytestmark = pytest.mark.timeout(180)


async def test_community_staff_record_a_consent_on_a_phone(
    console_stack: ConsoleStack, base_url: str, browser: Any
) -> None:
    stack = console_stack
    with Session(stack.engine) as session:
        child = demo_child_without_consent(session)
        assert child is not None
        link = session.exec(select(Guardian).where(Guardian.child_id == child)).first()
        assert link is not None
    page = await _phone(browser)
    await _login(page, base_url, STAFF_JIUSI)
    await page.get_by_role("link", name="同意登记").click()
    await page.wait_for_url(base_url + "/consents")
    await page.locator("details.filters summary").click()
    await page.locator("#f-subject").fill(child)
    await page.get_by_role("button", name="查询 Search").click()
    await page.locator(".panel.notice").wait_for()  # the child's registered guardians
    assert link.guardian_id in await page.locator(".panel.notice").inner_text()
    await _check_phone_layout(page)

    # A two-year-old consenting alone: refused, the message beside the field.
    await page.locator("#c-subject_id").fill(child)
    await page.locator("#c-purpose").select_option("childcare_place")
    await page.locator("#c-granted_by").fill(child)
    await page.locator("#c-relation").select_option("self")
    await page.locator("#c-granted_on").fill("2026-11-30")
    await page.locator("#c-evidence_ref").fill("JS-2026-0117")
    await page.get_by_role("button", name="登记同意 Record").click()
    error = page.locator("#c-granted_by-error")
    await error.wait_for()
    assert "未满14周岁" in await error.inner_text()
    await _check_phone_layout(page)
    await _shot(page, "consent-error")

    await page.locator("#c-granted_by").fill(link.guardian_id)
    await page.locator("#c-relation").select_option(link.relation)
    await page.get_by_role("button", name="登记同意 Record").click()
    await page.get_by_role("heading", name="已登记同意 Consent recorded").wait_for()
    row = page.locator("table.consents tbody tr").first
    assert "托育服务" in await row.inner_text() and "有效" in await row.inner_text()
    await _check_phone_layout(page)
    await _shot(page, "consent-recorded")
    with Session(stack.engine) as session:
        (stored,) = session.exec(select(Consent).where(Consent.subject_id == child)).all()
    assert (stored.granted_by_id, stored.purpose) == (link.guardian_id, "childcare_place")
