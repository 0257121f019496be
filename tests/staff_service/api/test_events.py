"""Partner events with API tokens: scoped to event types and districts, the token's owner is
the actor, a partner reads only its own cases, tokens cannot act as staff."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

from sqlmodel import Session, select

from plugins.eldercare.health.tables import HealthReading
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


async def test_an_event_sent_again_with_its_message_id_is_applied_once(
    staff_stack: StaffStack,
) -> None:
    make_partner(staff_stack.engine, staff="S9101", username="hs-gateway", district="wanbailin")
    token = issue_token(
        staff_stack.engine,
        staff_stack.registry,
        username="hs-gateway",
        event_types=["eldercare.reading"],
        districts=["wanbailin"],
    )

    def reading(n: int) -> dict[str, Any]:
        return {
            "district": "wanbailin",
            "case_ref": "P00001",
            "device_id": "HS-API",
            "measured_at": f"2026-12-04T08:0{n}:00+08:00",
            "systolic": 121,
            "diastolic": 79,
            "message_id": f"HS-API-{n}",
        }

    async with staff_stack.token_client(token) as http:
        # The gateway lost the first answer and sends the same message again.
        first = await http.post("/api/v1/events/eldercare.reading", json=reading(1))
        again = await http.post("/api/v1/events/eldercare.reading", json=reading(1))
        other = await http.post("/api/v1/events/eldercare.reading", json=reading(2))
    assert [r.status_code for r in (first, again, other)] == [202, 202, 202], first.text
    assert first.json()["workflow_id"] == again.json()["workflow_id"]
    # The event's stable id is the request id of both attempts' audit rows and of the event.
    event_id = first.json()["request_id"]
    assert event_id.startswith("m") and again.json()["request_id"] == event_id
    rows = [r for r in audit_rows(staff_stack.engine, since_id=0) if r.request_id == event_id]
    assert [(r.action, r.outcome) for r in rows] == [("event.send", "accepted")] * 2
    # The monitor takes readings in order: once the second one is stored, the repeat of the
    # first was handled, and ignored.
    for _ in range(300):
        if len(stored := _readings(staff_stack, "HS-API")) >= 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(stored) == ["2026-12-04T00:01:00+00:00", "2026-12-04T00:02:00+00:00"]


def _readings(stack: StaffStack, device: str) -> list[str]:
    with Session(stack.engine) as session:
        rows = session.exec(
            select(HealthReading.measured_at).where(HealthReading.device_id == device)
        ).all()
    return [(m if m.tzinfo else m.replace(tzinfo=UTC)).isoformat() for m in rows]
