"""The audit trail over the API: readers, scope and filters."""

from __future__ import annotations

from tests.staff_service.conftest import (
    ADMIN_YINGZE,
    AUDITOR_CITY,
    AUDITOR_WANBAILIN,
    STAFF_JIUSI,
    STAFF_XINGHUA,
    StaffStack,
    audit_rows,
    last_audit_id,
)


async def test_auditors_read_the_rows_of_their_area_with_filters(staff_stack: StaffStack) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_JIUSI) as http:
        refused = await http.get(f"/api/v1/tasks/{task.task_id}")
        assert refused.status_code == 403
    for reader in (AUDITOR_CITY, AUDITOR_WANBAILIN):
        async with staff_stack.client_for(reader) as http:
            answer = await http.get(
                "/api/v1/audit", params={"target": task.task_id, "outcome": "refused"}
            )
        assert answer.status_code == 200, answer.text
        rows = answer.json()
        assert [(r["action"], r["reason"], r["request_id"]) for r in rows] == [
            ("task.view", "out_of_scope", refused.json()["request_id"])
        ]
    async with staff_stack.client_for(ADMIN_YINGZE) as http:
        other_district = await http.get("/api/v1/audit", params={"target": task.task_id})
    assert other_district.status_code == 200 and other_district.json() == []


async def test_staff_without_a_reader_grant_cannot_read_the_audit(
    staff_stack: StaffStack,
) -> None:
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        before = last_audit_id(staff_stack.engine)
        answer = await http.get("/api/v1/audit")
        bad_filter = await http.get("/api/v1/audit", params={"since": "yesterday"})
    assert answer.status_code == 403 and answer.json()["reason"] == "wrong_role"
    assert bad_filter.status_code == 422 and bad_filter.json()["field"] == "since"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("audit.read", "refused", "wrong_role"),
        ("audit.read", "refused", "bad_input"),
    ]
