"""The inbox, task detail, claims and completions: every rule, each refusal one audit row."""

from __future__ import annotations

import asyncio

import httpx
from sqlmodel import Session

from careflow.access import accounts
from careflow.db.seed_accounts import DEMO_PASSWORD
from careflow.settings import Settings
from staff_service.app import create_app
from tests.staff_service.conftest import (
    ADMIN_WANBAILIN,
    ADMIN_YINGZE,
    AUDITOR_CITY,
    BASE,
    GRID_JIUSI,
    GRID_XINGHUA,
    STAFF_JIUSI,
    STAFF_XINGHUA,
    XINGHUA,
    StaffStack,
    audit_rows,
    last_audit_id,
    login,
    staff_id,
    task_row,
)
from tests.support.inbox import tasks_of, wait_for_task

PROBLEM = "application/problem+json"


def _second_xinghua_staff(stack: StaffStack) -> str:
    """Another community staff account of 兴华社区 (the demo seed has one per community)."""
    with Session(stack.engine) as session:
        accounts.add_account(
            session,
            staff_id="S9001",
            username="xinghua-staff-2",
            name="第二位社工",
            role="community_staff",
            district="wanbailin",
            community=XINGHUA,
            password=DEMO_PASSWORD,
        )
        accounts.grant_role(
            session, staff_id="S9001", role="community_staff", area=XINGHUA, by="test"
        )
        session.commit()
    return "xinghua-staff-2"


async def _inbox(stack: StaffStack, username: str, **params: str) -> list[str]:
    async with stack.client_for(username) as http:
        answer = await http.get("/api/v1/tasks", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == len(body["tasks"])
    return [t["task_id"] for t in body["tasks"]]


async def test_the_inbox_shows_a_task_to_its_community_and_district_only(
    staff_stack: StaffStack,
) -> None:
    task = await staff_stack.dropoff_task()
    assert task.community == XINGHUA and task.role == "community_staff"

    assert task.task_id in await _inbox(staff_stack, STAFF_XINGHUA)
    assert task.task_id in await _inbox(staff_stack, STAFF_XINGHUA, process="delivery")
    assert task.task_id in await _inbox(staff_stack, STAFF_XINGHUA, street="wanbailin.xinghua")
    assert task.task_id not in await _inbox(staff_stack, STAFF_XINGHUA, street="wanbailin.wanghua")
    assert task.task_id not in await _inbox(staff_stack, STAFF_XINGHUA, status="done")
    # Another community's staff, and a grid worker of the same community, never see it.
    assert task.task_id not in await _inbox(staff_stack, STAFF_JIUSI)
    assert task.task_id not in await _inbox(staff_stack, GRID_XINGHUA)
    # The district admin sees the whole district; another district's admin does not.
    assert task.task_id in await _inbox(staff_stack, ADMIN_WANBAILIN)
    assert task.task_id in await _inbox(staff_stack, ADMIN_WANBAILIN, community=XINGHUA)
    assert task.task_id not in await _inbox(staff_stack, ADMIN_YINGZE)
    assert task.task_id in await _inbox(staff_stack, AUDITOR_CITY)


async def test_another_communitys_task_is_refused_403_with_an_audit_row_and_stays_open(
    staff_stack: StaffStack,
) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_JIUSI) as http:
        for method, path, body in (
            ("GET", f"/api/v1/tasks/{task.task_id}", None),
            ("POST", f"/api/v1/tasks/{task.task_id}/claim", None),
            ("POST", f"/api/v1/tasks/{task.task_id}/complete", {"data": {"items_match": True}}),
        ):
            before = last_audit_id(staff_stack.engine)
            answer = await http.request(method, path, json=body)
            assert answer.status_code == 403, answer.text
            assert answer.headers["content-type"] == PROBLEM
            problem = answer.json()
            assert problem["reason"] == "out_of_scope" and problem["field"] == "task_id"
            assert "不在您的负责范围" in problem["detail"]
            rows = audit_rows(staff_stack.engine, since_id=before)
            assert [(r.outcome, r.reason, r.actor, r.target, r.community) for r in rows] == [
                (
                    "refused",
                    "out_of_scope",
                    staff_id(staff_stack.engine, STAFF_JIUSI),
                    task.task_id,
                    XINGHUA,
                )
            ]
            assert rows[0].request_id == problem["request_id"]
    after = task_row(staff_stack.engine, task.task_id)
    assert after.status == "open" and after.assignee is None


async def test_task_detail_has_the_form_schema_and_context(staff_stack: StaffStack) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        answer = await http.get(f"/api/v1/tasks/{task.task_id}")
        missing = await http.get("/api/v1/tasks/T000000000000")
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert detail["form_schema"]["properties"]["items_match"]["type"] == "boolean"
    # The person who acts on it may complete it, and sees its context masked until they
    # ask to see it in full (tests/staff_service/api/test_unmask.py).
    assert detail["may_complete"] is True and detail["unmasked"] is False
    assert detail["may_unmask"] is True
    assert isinstance(detail["context"], list)
    assert missing.status_code == 404 and missing.json()["reason"] == "unknown"


async def test_an_auditor_reads_but_cannot_complete(staff_stack: StaffStack) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(AUDITOR_CITY) as http:
        seen = await http.get(f"/api/v1/tasks/{task.task_id}")
        assert seen.status_code == 200
        assert seen.json()["may_complete"] is False and seen.json()["unmasked"] is False
        assert seen.json()["may_unmask"] is False
        before = last_audit_id(staff_stack.engine)
        refused = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
    assert refused.status_code == 403 and refused.json()["reason"] == "read_only"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("task.complete", "refused", "read_only")
    ]
    assert task_row(staff_stack.engine, task.task_id).status == "open"


async def test_a_role_the_task_is_not_with_is_refused_403(staff_stack: StaffStack) -> None:
    task = await staff_stack.dropoff_task()
    # The district admin sees every task of the district but holds no community-staff role.
    async with staff_stack.client_for(ADMIN_WANBAILIN) as http:
        before = last_audit_id(staff_stack.engine)
        refused = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
    assert refused.status_code == 403 and refused.json()["reason"] == "wrong_role"
    assert refused.json()["field"] == "role"
    # Claiming a role one does not hold there is refused the same way.
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        claimed = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete",
            json={"data": {"items_match": True}, "role": "grid_worker"},
        )
    assert claimed.status_code == 403 and claimed.json()["reason"] == "wrong_role"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("task.complete", "refused", "wrong_role"),
        ("auth.login", "accepted", None),
        ("task.complete", "refused", "wrong_role"),
    ]
    assert task_row(staff_stack.engine, task.task_id).status == "open"


async def test_a_bad_form_is_422_naming_the_field_in_chinese_and_writes_nothing(
    staff_stack: StaffStack,
) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        before = last_audit_id(staff_stack.engine)
        bad = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete",
            json={"data": {"items_match": "maybe", "storage_ref": "x" * 65, "colour": "red"}},
        )
    assert bad.status_code == 422, bad.text
    problem = bad.json()
    assert problem["reason"] == "bad_form" and problem["field"] == "data.items_match"
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert fields["data.items_match"].startswith("应为是或否")
    assert fields["data.storage_ref"].startswith("过长")
    assert fields["data.colour"].startswith("不允许的字段")
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.outcome, r.reason) for r in rows] == [("refused", "bad_form")]
    assert [t.status for t in tasks_of(staff_stack.engine, task.workflow_id)] == ["open"]


async def test_a_body_that_is_not_a_form_is_422_naming_data(staff_stack: StaffStack) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        before = last_audit_id(staff_stack.engine)
        bad = await http.post(f"/api/v1/tasks/{task.task_id}/complete", json={"data": [1, 2]})
        not_json = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
    assert bad.status_code == 422 and bad.json()["field"] == "data"
    assert bad.json()["errors"][0]["message"].startswith("应为对象")
    assert not_json.status_code == 422 and not_json.json()["reason"] == "bad_input"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("task.complete", "refused", "bad_input"),
        ("task.complete", "refused", "bad_input"),
    ]
    assert task_row(staff_stack.engine, task.task_id).status == "open"


async def test_a_good_form_completes_the_task_and_the_process_moves_on(
    staff_stack: StaffStack,
) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        before = last_audit_id(staff_stack.engine)
        done = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["recorded"] is True and body["outcome"]["actor"] == staff_id(
        staff_stack.engine, STAFF_XINGHUA
    )
    assert body["request_id"] == done.headers["x-request-id"]
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.target) for r in rows] == [
        ("task.complete", "accepted", task.task_id)
    ]
    closed = task_row(staff_stack.engine, task.task_id)
    assert closed.status == "done" and closed.completed_role == "community_staff"
    # The hand-over goes to the grid worker of the same community.
    handover = await wait_for_task(staff_stack.engine, task.workflow_id, "handover")
    assert handover.role == "grid_worker" and handover.community == XINGHUA
    assert handover.task_id in await _inbox(staff_stack, GRID_XINGHUA)
    assert handover.task_id not in await _inbox(staff_stack, GRID_JIUSI)
    assert task.task_id in await _inbox(staff_stack, STAFF_XINGHUA, status="done")


async def test_a_closed_task_is_409_for_anyone_else(staff_stack: StaffStack) -> None:
    other = _second_xinghua_staff(staff_stack)
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        first = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
        assert first.status_code == 200
        # The same person again (a retried post) gets the recorded answer, not a second run.
        again = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": False}}
        )
        assert again.status_code == 200 and again.json()["recorded"] is True
    async with staff_stack.client_for(other) as http:
        before = last_audit_id(staff_stack.engine)
        late = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
        claim = await http.post(f"/api/v1/tasks/{task.task_id}/claim")
    assert late.status_code == 409 and late.json()["reason"] == "closed_task"
    assert claim.status_code == 409 and claim.json()["reason"] == "closed_task"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.reason) for r in rows] == [
        ("task.complete", "closed_task"),
        ("task.claim", "closed_task"),
    ]
    # The first submission stands: the retry with other data changed nothing.
    result = task_row(staff_stack.engine, task.task_id).result
    assert result is not None and result["items_match"] is True


async def test_a_double_submit_completes_the_task_once(staff_stack: StaffStack) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        url = f"/api/v1/tasks/{task.task_id}/complete"
        headers = {"Idempotency-Key": "form-post-1"}
        answers = await asyncio.gather(
            *(
                http.post(url, json={"data": {"items_match": True}}, headers=headers)
                for _ in range(3)
            )
        )
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    outcomes = {a.json()["outcome"]["completed_at"] for a in answers if a.json()["outcome"]}
    assert len(outcomes) == 1
    handle = staff_stack.client.get_workflow_handle(task.workflow_id)
    history = await handle.fetch_history()
    completed_updates = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_completed_event_attributes")
    ]
    assert len(completed_updates) == 1
    await wait_for_task(staff_stack.engine, task.workflow_id, "handover")
    assert sorted(t.step_key for t in tasks_of(staff_stack.engine, task.workflow_id)) == [
        "dropoff",
        "handover",
    ]


async def test_a_claimed_task_is_for_its_claimant_only(staff_stack: StaffStack) -> None:
    other = _second_xinghua_staff(staff_stack)
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        claimed = await http.post(f"/api/v1/tasks/{task.task_id}/claim")
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["assignee"] == staff_id(staff_stack.engine, STAFF_XINGHUA)
        mine = await http.get("/api/v1/tasks", params={"assigned": "me"})
        assert [t["task_id"] for t in mine.json()["tasks"]] == [task.task_id]
    assert task.task_id not in await _inbox(staff_stack, other, assigned="unassigned")
    async with staff_stack.client_for(other) as http:
        taken = await http.post(f"/api/v1/tasks/{task.task_id}/claim")
        assert taken.status_code == 409 and taken.json()["reason"] == "claimed_by_other"
        blocked = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
        assert blocked.status_code == 409 and blocked.json()["reason"] == "claimed_by_other"
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        released = await http.delete(f"/api/v1/tasks/{task.task_id}/claim")
    assert released.status_code == 200 and released.json()["assignee"] is None
    assert task_row(staff_stack.engine, task.task_id).status == "open"


async def test_bad_query_parameters_are_422_naming_the_field(staff_stack: StaffStack) -> None:
    async with staff_stack.client_for(GRID_JIUSI) as http:
        before = last_audit_id(staff_stack.engine)
        answer = await http.get("/api/v1/tasks", params={"limit": "0", "status": "later"})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["reason"] == "bad_input"
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert fields["limit"].startswith("不能小于 1")
    assert fields["status"].startswith("不是可选值")
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.reason) for r in rows] == [("task.list", "bad_input")]


async def test_a_completion_not_recorded_in_time_is_202_and_is_recorded_later(
    staff_stack: StaffStack,
) -> None:
    task = await staff_stack.dropoff_task()
    hurried = create_app(
        settings=Settings(task_queue=staff_stack.task_queue, reply_within=0.001),
        registry=staff_stack.registry,
        engine=staff_stack.engine,
        client=staff_stack.client,
        console=False,
    )
    transport = httpx.ASGITransport(app=hurried)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        await login(http, STAFF_XINGHUA)
        before = last_audit_id(staff_stack.engine)
        answer = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
    assert answer.status_code == 202, answer.text
    assert answer.json()["recorded"] is False and "正在记录" in answer.json()["message"]
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("task.complete", "accepted", "still_recording")
    ]
    done = await wait_for_task(staff_stack.engine, task.workflow_id, "dropoff", status="done")
    assert done.completed_by == staff_id(staff_stack.engine, STAFF_XINGHUA)


async def test_prefer_respond_async_answers_202_once_the_process_accepted(
    staff_stack: StaffStack,
) -> None:
    task = await staff_stack.dropoff_task()
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        answer = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete",
            json={"data": {"items_match": True}},
            headers={"Prefer": "respond-async"},
        )
    assert answer.status_code == 202, answer.text
    assert answer.json()["recorded"] is False
    await wait_for_task(staff_stack.engine, task.workflow_id, "dropoff", status="done")
