"""The process catalogue, starts, status and timeline, case search."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError

from careflow.privacy.pseudonyms import case_key
from tests.staff_service.conftest import (
    AUDITOR_CITY,
    DELIVERY_REQUEST,
    GRID_JIUSI,
    STAFF_JIUSI,
    STAFF_XINGHUA,
    XINGHUA,
    StaffStack,
    audit_rows,
    last_audit_id,
)
from tests.support.cases import keyed_id
from tests.support.inbox import wait_for_task


async def test_the_catalogue_lists_only_what_the_caller_may_start(
    staff_stack: StaffStack,
) -> None:
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        staff = (await http.get("/api/v1/processes")).json()
    delivery = next(p for p in staff if p["process"] == "delivery")
    assert delivery["areas"] == [XINGHUA]
    assert "recipient_ref" in delivery["request_schema"]["properties"]
    assert delivery["title_zh"]
    async with staff_stack.client_for(GRID_JIUSI) as http:
        grid = (await http.get("/api/v1/processes")).json()
    assert {p["process"] for p in grid} == {"eldercare.green_channel"}
    async with staff_stack.client_for(AUDITOR_CITY) as http:
        assert (await http.get("/api/v1/processes")).json() == []


async def _not_started(stack: StaffStack, workflow_id: str) -> None:
    with pytest.raises(RPCError):
        await stack.client.get_workflow_handle(workflow_id).describe()


async def test_a_start_outside_the_callers_area_or_roles_is_refused_and_starts_nothing(
    staff_stack: StaffStack,
) -> None:
    body = {
        "district": "wanbailin",
        "community": XINGHUA,
        "case_ref": "Cstafftest1",
        "request": DELIVERY_REQUEST,
    }
    for username, status, reason in (
        (STAFF_JIUSI, 403, "out_of_scope"),
        (AUDITOR_CITY, 403, "wrong_role"),
    ):
        async with staff_stack.client_for(username) as http:
            before = last_audit_id(staff_stack.engine)
            answer = await http.post("/api/v1/processes/delivery", json=body)
        assert answer.status_code == status, answer.text
        assert answer.json()["reason"] == reason
        rows = audit_rows(staff_stack.engine, since_id=before)
        assert [(r.action, r.outcome, r.reason) for r in rows] == [
            ("process.start", "refused", reason)
        ]
    await _not_started(staff_stack, keyed_id("delivery", "wanbailin", "Cstafftest1"))


async def test_a_bad_request_names_the_field_and_starts_nothing(staff_stack: StaffStack) -> None:
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        before = last_audit_id(staff_stack.engine)
        missing = await http.post(
            "/api/v1/processes/delivery",
            json={
                "district": "wanbailin",
                "community": XINGHUA,
                "case_ref": "Cstafftest2",
                "request": {"donor_ref": "D0003"},
            },
        )
        unknown = await http.post(
            "/api/v1/processes/no.such.process",
            json={"district": "wanbailin", "request": {}},
        )
        extra = await http.post(
            "/api/v1/processes/delivery", json={"district": "wanbailin", "request": {}, "x": 1}
        )
    assert missing.status_code == 422, missing.text
    assert missing.json()["reason"] == "bad_input"
    assert missing.json()["field"].startswith("request")
    assert unknown.status_code in (404, 422) and unknown.json()["field"] == "process"
    assert extra.status_code == 422 and extra.json()["field"] == "x"
    assert extra.json()["errors"][0]["message"].startswith("不允许的字段")
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome) for r in rows] == [("process.start", "refused")] * 3
    await _not_started(staff_stack, keyed_id("delivery", "wanbailin", "Cstafftest2"))


async def test_a_second_start_for_the_same_case_is_409(staff_stack: StaffStack) -> None:
    body = {
        "district": "wanbailin",
        "community": XINGHUA,
        "case_ref": "Cstafftest3",
        "request": DELIVERY_REQUEST,
    }
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        first = await http.post("/api/v1/processes/delivery", json=body)
        assert first.status_code == 201, first.text
        assert first.json()["workflow_id"] == keyed_id("delivery", "wanbailin", "Cstafftest3")
        before = last_audit_id(staff_stack.engine)
        second = await http.post("/api/v1/processes/delivery", json=body)
    assert second.status_code == 409, second.text
    assert second.json()["reason"] == "already_started"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.outcome, r.reason) for r in rows] == [("refused", "already_started")]


async def test_the_process_page_shows_status_and_timeline_in_scope_only(
    staff_stack: StaffStack,
) -> None:
    workflow_id = await staff_stack.start_delivery()
    task = await wait_for_task(staff_stack.engine, workflow_id, "dropoff")
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        seen = await http.get(f"/api/v1/processes/by-id/{workflow_id}")
        cases = await http.get("/api/v1/cases", params={"case_ref": task.case_ref})
        missing = await http.get("/api/v1/processes/by-id/delivery-wanbailin-Cnone")
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["status"] == "RUNNING" and view["district"] == "wanbailin"
    assert view["community"] == XINGHUA and view["plan_plugins"]
    assert [t["task_id"] for t in view["tasks"]] == [task.task_id]
    assert ("task_opened", task.task_id) in [(e["kind"], e["task_id"]) for e in view["timeline"]]
    assert cases.json() == [
        {
            "workflow_id": workflow_id,
            "process": "delivery",
            "district": "wanbailin",
            "community": XINGHUA,
            "case_ref": task.case_ref,
            "case_key": case_key(task.case_ref),  # what the workflow id ends in
        }
    ]
    assert workflow_id.endswith(case_key(task.case_ref))
    assert view["case_ref"] == task.case_ref and view["case_key"] == case_key(task.case_ref)
    assert missing.status_code == 404 and missing.json()["reason"] == "unknown"
    async with staff_stack.client_for(STAFF_JIUSI) as http:
        before = last_audit_id(staff_stack.engine)
        refused = await http.get(f"/api/v1/processes/by-id/{workflow_id}")
        none = await http.get("/api/v1/cases", params={"case_ref": task.case_ref})
    assert refused.status_code == 403 and refused.json()["reason"] == "out_of_scope"
    assert none.json() == []
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("process.view", "refused", "out_of_scope")
    ]
