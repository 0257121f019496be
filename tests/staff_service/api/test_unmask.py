"""The API returns personal data masked; ``POST …/unmask`` with a reason shows one record in
clear to an allowed account, and every attempt is an audit row."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from careflow.db.tables import Person
from careflow.privacy.masking import mask_id_number, mask_name, mask_phone
from tests.staff_service.conftest import (
    ADMIN_WANBAILIN,
    AUDITOR_CITY,
    STAFF_JIUSI,
    STAFF_XINGHUA,
    XINGHUA,
    StaffStack,
    audit_rows,
    issue_token,
    last_audit_id,
    staff_id,
)
from tests.support.inbox import wait_for_task

PROBLEM = "application/problem+json"
RECIPIENT = "P00012"  # the Delivery's recipient, an elder of 兴华社区


def _person(stack: StaffStack) -> Person:
    with Session(stack.engine) as session:
        person = session.get(Person, RECIPIENT)
        assert person is not None and person.phone
        return person


def _values(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {i["label_en"]: i["value"] for i in items}


async def test_a_task_is_masked_until_its_holder_unmasks_it_with_a_reason(
    staff_stack: StaffStack,
) -> None:
    elder = _person(staff_stack)
    task = await staff_stack.dropoff_task()
    url = f"/api/v1/tasks/{task.task_id}"
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        seen = await http.get(url)
        assert seen.status_code == 200, seen.text
        body = seen.json()
        assert body["unmasked"] is False and body["may_unmask"] is True and body["clear"] == []
        assert _values(body["context"])["recipient"] == mask_name(elder.name)
        assert _values(body["context"])["recipient phone"] == mask_phone(elder.phone or "")
        assert elder.name not in seen.text and (elder.phone or "") not in seen.text

        before = last_audit_id(staff_stack.engine)
        missing = await http.post(url + "/unmask", json={})
        blank = await http.post(url + "/unmask", json={"reason": " \n "})
        for refused in (missing, blank):
            assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
            assert refused.json()["field"] == "reason", refused.text
            assert elder.name not in refused.text
        refusals = audit_rows(staff_stack.engine, since_id=before)
        assert [(r.action, r.outcome, r.reason) for r in refusals] == [
            ("task.unmask", "refused", "bad_input"),
            ("task.unmask", "refused", "bad_input"),
        ]

        before = last_audit_id(staff_stack.engine)
        full = await http.post(url + "/unmask", json={"reason": "联系收件人确认送达时间"})
        assert full.status_code == 200, full.text
        body = full.json()
        assert body["unmasked"] is True and "name" in body["clear"] and "phone" in body["clear"]
        assert _values(body["context"])["recipient"] == elder.name
        assert _values(body["context"])["recipient phone"] == elder.phone
        [row] = audit_rows(staff_stack.engine, since_id=before)
        assert (row.action, row.outcome, row.target, row.community, row.message) == (
            "task.unmask",
            "accepted",
            task.task_id,
            XINGHUA,
            "联系收件人确认送达时间",
        )
        assert row.actor == staff_id(staff_stack.engine, STAFF_XINGHUA)
        assert row.request_id == full.headers["x-request-id"]

        # Per request: the next read is masked again.
        again = await http.get(url)
        assert _values(again.json()["context"])["recipient"] == mask_name(elder.name)

    async with staff_stack.client_for(ADMIN_WANBAILIN) as http:
        admin = await http.post(url + "/unmask", json={"reason": "核查投诉"})
    assert admin.status_code == 200 and _values(admin.json()["context"])["recipient"] == elder.name


async def test_accounts_that_may_not_unmask_get_403_and_an_audit_row(
    staff_stack: StaffStack,
) -> None:
    elder = _person(staff_stack)
    task = await staff_stack.dropoff_task()
    url = f"/api/v1/tasks/{task.task_id}/unmask"
    before = last_audit_id(staff_stack.engine)
    answers = {}
    for username in (AUDITOR_CITY, STAFF_JIUSI):
        async with staff_stack.client_for(username) as http:
            answers[username] = await http.post(url, json={"reason": "想看看"})
    token = issue_token(
        staff_stack.engine,
        staff_stack.registry,
        username=ADMIN_WANBAILIN,
        event_types=["delivery.dropoff"],
        districts=["wanbailin"],
    )
    async with staff_stack.token_client(token) as http:
        answers["token"] = await http.post(url, json={"reason": "想看看"})
    async with staff_stack.anonymous() as http:
        answers["anonymous"] = await http.post(url, json={"reason": "想看看"})
    assert {k: (a.status_code, a.json()["reason"]) for k, a in answers.items()} == {
        AUDITOR_CITY: (403, "read_only"),
        STAFF_JIUSI: (403, "out_of_scope"),
        "token": (403, "wrong_role"),
        "anonymous": (401, "not_logged_in"),
    }
    assert all(elder.name not in a.text for a in answers.values())
    rows = audit_rows(staff_stack.engine, since_id=before)
    unmasks = [(r.outcome, r.reason) for r in rows if r.action == "task.unmask"]
    assert unmasks == [
        ("refused", "read_only"),
        ("refused", "out_of_scope"),
        ("refused", "wrong_role"),
        ("refused", "not_logged_in"),
    ]


async def test_the_person_of_a_process_is_masked_and_unmasked_with_a_reason(
    staff_stack: StaffStack,
) -> None:
    elder = _person(staff_stack)
    workflow_id = await staff_stack.start_delivery()
    await wait_for_task(staff_stack.engine, workflow_id, "dropoff")
    url = f"/api/v1/processes/by-id/{workflow_id}"
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        view = await http.get(url)
        assert view.status_code == 200, view.text
        subject = view.json()["subject"]
        assert subject["may_unmask"] is True and subject["clear"] == []
        assert _values(subject["items"]) == {
            "name": mask_name(elder.name),
            "ID number": mask_id_number(elder.id_number),
            "phone": mask_phone(elder.phone or ""),
            "address": _values(subject["items"])["address"],
        }
        assert elder.id_number not in view.text and (elder.address or "") not in view.text

        no_reason = await http.post(url + "/unmask", json={"reason": ""})
        assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
        before = last_audit_id(staff_stack.engine)
        full = await http.post(url + "/unmask", json={"reason": "上门前核对地址"})
    assert full.status_code == 200, full.text
    assert _values(full.json()["items"]) == {
        "name": elder.name,
        "ID number": elder.id_number,
        "phone": elder.phone,
        "address": elder.address,
    }
    assert full.json()["request_id"] == full.headers["x-request-id"]
    [row] = audit_rows(staff_stack.engine, since_id=before)
    assert (row.action, row.outcome, row.target, row.message) == (
        "process.unmask",
        "accepted",
        workflow_id,
        "上门前核对地址",
    )
    async with staff_stack.client_for(AUDITOR_CITY) as http:
        audited = await http.get(url)
        refused = await http.post(url + "/unmask", json={"reason": "审计"})
    assert audited.json()["subject"]["may_unmask"] is False
    assert refused.status_code == 403 and refused.json()["reason"] == "read_only"
