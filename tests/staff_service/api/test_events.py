"""Partner events with API tokens: scoped to event types and districts, the token's owner is
the actor, a partner reads only its own cases, tokens cannot act as staff."""

from __future__ import annotations

from typing import Any

from tests.staff_service.conftest import (
    STAFF_XINGHUA,
    XINGHUA,
    StaffStack,
    audit_rows,
    issue_token,
    last_audit_id,
    make_partner,
    task_row,
)
from tests.support.inbox import wait_for_task


def _partner_token(stack: StaffStack) -> tuple[str, str]:
    partner = make_partner(
        stack.engine, staff="S9100", username="station-gateway", district="wanbailin"
    )
    token = issue_token(
        stack.engine,
        stack.registry,
        username="station-gateway",
        event_types=["delivery.dropoff"],
        districts=["wanbailin"],
    )
    return partner, token


def _dropoff(case_ref: str, **extra: Any) -> dict[str, Any]:
    return {
        "district": "wanbailin",
        "community": XINGHUA,
        "case_ref": case_ref,
        "device_id": "scanner-7",
        "items_match": True,
        **extra,
    }


async def test_a_token_event_in_scope_moves_the_process_and_names_the_tokens_owner(
    staff_stack: StaffStack,
) -> None:
    partner, token = _partner_token(staff_stack)
    workflow_id = await staff_stack.start_delivery()
    task = await wait_for_task(staff_stack.engine, workflow_id, "dropoff")
    async with staff_stack.token_client(token) as http:
        before = last_audit_id(staff_stack.engine)
        sent = await http.post("/api/v1/events/delivery.dropoff", json=_dropoff(task.case_ref))
    assert sent.status_code == 202, sent.text
    assert sent.json()["workflow_id"] == workflow_id
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.actor, r.channel, r.target) for r in rows] == [
        ("event.send", "accepted", partner, "api", workflow_id)
    ]
    assert rows[0].request_id == sent.json()["request_id"] == sent.headers["x-request-id"]
    await wait_for_task(staff_stack.engine, workflow_id, "dropoff", status="done")
    await wait_for_task(staff_stack.engine, workflow_id, "handover")


async def test_a_token_outside_its_event_types_or_districts_is_refused(
    staff_stack: StaffStack,
) -> None:
    _partner, token = _partner_token(staff_stack)
    workflow_id = await staff_stack.start_delivery()
    task = await wait_for_task(staff_stack.engine, workflow_id, "dropoff")
    async with staff_stack.token_client(token) as http:
        before = last_audit_id(staff_stack.engine)
        other_type = await http.post(
            "/api/v1/events/community_event.cancel",
            json={
                "district": "wanbailin",
                "community": XINGHUA,
                "case_ref": task.case_ref,
                "person_ref": "P00012",
            },
        )
        other_district = await http.post(
            "/api/v1/events/delivery.dropoff",
            json={**_dropoff(task.case_ref), "district": "yingze", "community": None},
        )
        actor_in_payload = await http.post(
            "/api/v1/events/delivery.dropoff", json=_dropoff(task.case_ref, sent_by="S0001")
        )
    assert other_type.status_code == 403, other_type.text
    assert other_type.json()["reason"] == "out_of_scope"
    assert other_type.json()["field"] == "event_type"
    assert other_district.status_code == 403, other_district.text
    assert other_district.json()["field"] == "data.district"
    assert actor_in_payload.status_code == 422
    assert actor_in_payload.json()["field"] == "data.sent_by"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("event.send", "refused", "out_of_scope"),
        ("event.send", "refused", "out_of_scope"),
        ("event.send", "refused", "bad_input"),
    ]
    assert task_row(staff_stack.engine, task.task_id).status == "open"


async def test_a_token_cannot_act_as_staff(staff_stack: StaffStack) -> None:
    _partner, token = _partner_token(staff_stack)
    workflow_id = await staff_stack.start_delivery()
    task = await wait_for_task(staff_stack.engine, workflow_id, "dropoff")
    async with staff_stack.token_client(token) as http:
        complete = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
        start = await http.post(
            "/api/v1/processes/delivery",
            json={"district": "wanbailin", "community": XINGHUA, "request": {}},
        )
        audit = await http.get("/api/v1/audit")
    assert complete.status_code == 403, complete.text
    assert start.status_code == 403 and start.json()["reason"] == "wrong_role"
    assert audit.status_code == 403
    assert task_row(staff_stack.engine, task.task_id).status == "open"


async def test_a_partner_reads_only_the_cases_it_sent_events_to(staff_stack: StaffStack) -> None:
    _partner, token = _partner_token(staff_stack)
    mine = await staff_stack.start_delivery()
    theirs = await staff_stack.start_delivery(as_user=STAFF_XINGHUA)
    task = await wait_for_task(staff_stack.engine, mine, "dropoff")
    async with staff_stack.token_client(token) as http:
        before_event = await http.get(f"/api/v1/processes/by-id/{mine}")
        assert before_event.status_code == 403
        sent = await http.post("/api/v1/events/delivery.dropoff", json=_dropoff(task.case_ref))
        assert sent.status_code == 202, sent.text
        own = await http.get(f"/api/v1/processes/by-id/{mine}")
        other = await http.get(f"/api/v1/processes/by-id/{theirs}")
    assert own.status_code == 200 and own.json()["workflow_id"] == mine
    assert other.status_code == 403 and other.json()["reason"] == "out_of_scope"
