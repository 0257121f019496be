"""Console pages show personal data masked; "显示完整信息 Show in full" with a reason shows
one record in clear on the answer page only, and each attempt is an audit row."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
from sqlmodel import Session, col, select

from careflow import service
from careflow.db.tables import AuditEntry, Person, Task
from careflow.privacy.masking import mask_id_number, mask_name, mask_phone
from tests.staff_service.console.conftest import (
    AUDITOR,
    STAFF_JIUSI,
    STAFF_XINGHUA,
    XINGHUA,
    ConsoleStack,
    hidden,
)
from tests.support.inbox import wait_for_task

RECIPIENT = "P00012"  # an elder of 兴华社区 in the demo registry
SHOW_IN_FULL = "显示完整信息"


async def _delivery(stack: ConsoleStack) -> tuple[str, Task]:
    """A Delivery in 兴华社区 to the elder, and its open drop-off task (community staff)."""
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
    return started.workflow_id, await wait_for_task(stack.engine, started.workflow_id, "dropoff")


def _elder(stack: ConsoleStack) -> Person:
    with Session(stack.engine) as session:
        person = session.get(Person, RECIPIENT)
        assert person is not None and person.phone and person.address
        return person


def _rows(stack: ConsoleStack, action: str) -> list[AuditEntry]:
    with Session(stack.engine) as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
            ).all()
        )


async def _post(http: httpx.AsyncClient, page: str, url: str, **data: str) -> httpx.Response:
    return await http.post(url, data={"csrf_token": hidden(page, "csrf_token"), **data})


async def test_the_task_page_is_masked_until_shown_in_full_with_a_reason(
    console_stack: ConsoleStack,
) -> None:
    elder = _elder(console_stack)
    _workflow_id, task = await _delivery(console_stack)
    url = f"/tasks/{task.task_id}"
    async with console_stack.http() as http:
        await console_stack.login(http, STAFF_XINGHUA)
        masked = await http.get(url)
        assert masked.status_code == 200
        assert mask_name(elder.name) in masked.text and mask_phone(elder.phone or "") in masked.text
        assert elder.name not in masked.text and (elder.phone or "") not in masked.text
        assert SHOW_IN_FULL in masked.text and f'action="{url}/unmask"' in masked.text

        # No reason: the page again, masked, the reason field named; the attempt audited.
        blank = await _post(http, masked.text, url + "/unmask", reason="   ")
        assert blank.status_code == 422
        assert "请填写查看完整信息的理由" in blank.text and 'aria-invalid="true"' in blank.text
        assert elder.name not in blank.text
        # A forged post (no CSRF token) shows nothing and is audited too.
        forged = await http.post(url + "/unmask", data={"reason": "核对"})
        assert forged.status_code == 403 and elder.name not in forged.text

        full = await _post(http, masked.text, url + "/unmask", reason="联系收件人确认送达时间")
        assert full.status_code == 200
        assert elder.name in full.text and (elder.phone or "") in full.text
        assert "已显示完整信息" in full.text and full.headers["cache-control"] == "no-store"
        # The form to complete the task is still there for its holder.
        assert 'name="idempotency_key"' in full.text

        again = await http.get(url)
        assert elder.name not in again.text and mask_name(elder.name) in again.text

    rows = _rows(console_stack, "task.unmask")
    assert [(r.outcome, r.reason, r.channel) for r in rows] == [
        ("refused", "bad_input", "console"),
        ("refused", "csrf", "console"),
        ("accepted", "name,phone", "console"),
    ]
    assert rows[-1].message == "联系收件人确认送达时间" and rows[-1].target == task.task_id
    assert rows[-1].community == XINGHUA


async def test_an_auditor_reads_masked_and_is_refused_in_full(
    console_stack: ConsoleStack,
) -> None:
    elder = _elder(console_stack)
    _workflow_id, task = await _delivery(console_stack)
    url = f"/tasks/{task.task_id}"
    async with console_stack.http() as http:
        await console_stack.login(http, AUDITOR)
        masked = await http.get(url)
        assert masked.status_code == 200 and mask_name(elder.name) in masked.text
        assert SHOW_IN_FULL not in masked.text  # no control for who may not use it
        refused = await _post(http, masked.text, url + "/unmask", reason="审计")
    assert refused.status_code == 403 and "审计账号只能查看脱敏信息" in refused.text
    assert elder.name not in refused.text
    async with console_stack.http() as http:
        await console_stack.login(http, STAFF_JIUSI)
        inbox = await http.get("/tasks")
        outside = await _post(http, inbox.text, url + "/unmask", reason="核对")
    assert outside.status_code == 403 and elder.name not in outside.text
    assert [r.reason for r in _rows(console_stack, "task.unmask")] == ["read_only", "out_of_scope"]


async def test_the_process_page_shows_its_person_masked_then_in_full(
    console_stack: ConsoleStack,
) -> None:
    elder = _elder(console_stack)
    workflow_id, _task = await _delivery(console_stack)
    url = "/processes/" + quote(workflow_id, safe="")
    async with console_stack.http() as http:
        await console_stack.login(http, STAFF_XINGHUA)
        masked = await http.get(url)
        assert masked.status_code == 200
        assert "服务对象" in masked.text and mask_id_number(elder.id_number) in masked.text
        assert elder.id_number not in masked.text and (elder.address or "") not in masked.text
        assert SHOW_IN_FULL in masked.text

        blank = await _post(http, masked.text, url + "/unmask", reason="")
        assert blank.status_code == 422 and "请填写查看完整信息的理由" in blank.text
        assert elder.id_number not in blank.text

        full = await _post(http, masked.text, url + "/unmask", reason="上门前核对地址")
        assert full.status_code == 200
        for value in (elder.name, elder.id_number, elder.phone or "", elder.address or ""):
            assert value in full.text
        assert "已显示完整信息" in full.text

        again = await http.get(url)
        assert elder.id_number not in again.text
    rows = _rows(console_stack, "process.unmask")
    assert [(r.outcome, r.reason) for r in rows] == [
        ("refused", "bad_input"),
        ("accepted", "address,id_number,name,phone"),
    ]
    assert rows[-1].target == workflow_id and rows[-1].message == "上门前核对地址"
