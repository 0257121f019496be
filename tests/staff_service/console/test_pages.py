"""Console pages over HTTP (no browser): login, inbox, the task form, CSRF, start, audit."""

from __future__ import annotations

import asyncio
import time

from sqlmodel import Session, col, select

from careflow.db.tables import AuditEntry, Task
from careflow.settings import Settings
from staff_service.app import create_app
from tests.staff_service.console.conftest import (
    AUDITOR,
    GRID_JIUSI,
    JIUSI,
    MICROWISH,
    STAFF_JIUSI,
    STAFF_XINGHUA,
    ConsoleStack,
    hidden,
    visit_data,
)


async def _open_visits(stack: ConsoleStack, workflow_id: str) -> list[Task]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [
            t for t in stack.tasks(workflow_id, status="open") if t.step_key.startswith("visit.")
        ]
        if found:
            await asyncio.sleep(0.3)  # every visit of the campaign opens in one activity
            return [
                t
                for t in stack.tasks(workflow_id, status="open")
                if t.step_key.startswith("visit.")
            ]
        await asyncio.sleep(0.1)
    raise AssertionError("no visit task opened")


def _audit(stack: ConsoleStack, action: str) -> list[AuditEntry]:
    with Session(stack.engine) as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
            ).all()
        )


async def test_login_errors_are_chinese_and_pages_need_a_login(console_stack: ConsoleStack) -> None:
    async with console_stack.http() as http:
        home = await http.get("/")
        assert home.status_code == 303 and home.headers["location"] == "/login"
        inbox = await http.get("/tasks?status=open")
        assert inbox.status_code == 303
        assert inbox.headers["location"] == "/login?next=%2Ftasks%3Fstatus%3Dopen"
        form = await http.get("/login")
        assert 'lang="zh-CN"' in form.text and 'for="username"' in form.text
        token = hidden(form.text, "login_token")
        wrong = await http.post(
            "/login",
            data={"username": GRID_JIUSI, "password": "not-the-password", "login_token": token},
        )
        assert wrong.status_code == 401
        assert "用户名或密码错误" in wrong.text
        # Without the login form's token (another site posting the form) nothing is checked.
        forged = await http.post(
            "/login", data={"username": GRID_JIUSI, "password": "careflow-demo", "login_token": "x"}
        )
        assert forged.status_code == 403 and "登录页面已过期" in forged.text
    rows = _audit(console_stack, "auth.login")
    assert [(r.outcome, r.reason, r.channel) for r in rows[-2:]] == [
        ("refused", "bad_password", "console"),
        ("refused", "csrf", "console"),
    ]


async def test_repeated_failures_lock_the_account_with_a_message(
    console_stack: ConsoleStack,
) -> None:
    async with console_stack.http() as http:
        answer = None
        for _ in range(6):
            form = await http.get("/login")
            answer = await http.post(
                "/login",
                data={
                    "username": STAFF_XINGHUA,
                    "password": "wrong-password",
                    "login_token": hidden(form.text, "login_token"),
                },
            )
        assert answer is not None and answer.status_code == 429
        assert "账号已暂时锁定" in answer.text


async def test_grid_worker_completes_a_visit_after_a_field_error(
    console_stack: ConsoleStack,
) -> None:
    stack = console_stack
    workflow_id = await stack.start_microwish(JIUSI)
    visits = await _open_visits(stack, workflow_id)
    task = visits[0]
    async with stack.http() as http:
        inbox = await stack.login(http, GRID_JIUSI)
        assert inbox.status_code == 200 and "我的工单" in inbox.text
        assert f"/tasks/{task.task_id}" in inbox.text
        assert "网格员" in inbox.text and "九四社区" in inbox.text
        page = await http.get(f"/tasks/{task.task_id}")
        assert page.status_code == 200
        assert 'for="f-estimated_value_yuan"' in page.text and "估计价值" in page.text
        csrf, key = hidden(page.text, "csrf_token"), hidden(page.text, "idempotency_key")

        no_token = await http.post(f"/tasks/{task.task_id}", data=visit_data(idempotency_key=key))
        assert no_token.status_code == 403 and "CSRF" in no_token.text

        bad = await http.post(
            f"/tasks/{task.task_id}",
            data=visit_data(estimated_value_yuan="200000", csrf_token=csrf, idempotency_key=key),
        )
        assert bad.status_code == 422
        assert 'id="f-estimated_value_yuan-error"' in bad.text
        assert "不能大于 100000" in bad.text
        assert 'value="200000"' in bad.text  # what was entered is kept
        # The field's help line (its unit) and the error are both linked.
        assert (
            'aria-describedby="f-estimated_value_yuan-help f-estimated_value_yuan-error"'
            in bad.text
        )

        key = hidden(bad.text, "idempotency_key")
        good = visit_data(csrf_token=csrf, idempotency_key=key)
        first, again = await asyncio.gather(
            http.post(f"/tasks/{task.task_id}", data=good),
            http.post(f"/tasks/{task.task_id}", data=good),
        )
        assert first.status_code == 303 and again.status_code == 303, (first.text, again.text)
        done = await http.get(first.headers["location"])
        assert "已完成" in done.text and "心愿审核" in done.text  # the review is next
    row = next(t for t in stack.tasks(workflow_id) if t.task_id == task.task_id)
    assert row.status == "done" and row.result is not None
    assert row.result["estimated_value_yuan"] == 80
    completions = [r for r in _audit(stack, "task.complete") if r.target == task.task_id]
    assert [r.outcome for r in completions].count("accepted") >= 1
    assert ("refused", "csrf") in [(r.outcome, r.reason) for r in completions]
    assert ("refused", "bad_form") in [(r.outcome, r.reason) for r in completions]
    reviews = [
        t for t in stack.tasks(workflow_id, status="open") if t.step_key.startswith("review.")
    ]
    assert reviews and reviews[0].role == "community_staff"


async def test_other_community_is_refused_and_auditor_reads_only(
    console_stack: ConsoleStack,
) -> None:
    stack = console_stack
    workflow_id = await stack.start_microwish(JIUSI)
    task = (await _open_visits(stack, workflow_id))[0]
    async with stack.http() as http:
        inbox = await stack.login(http, STAFF_XINGHUA)
        assert task.task_id not in inbox.text
        page = await http.get(f"/tasks/{task.task_id}")
        assert page.status_code == 403 and "该工单不在您的负责范围" in page.text
    async with stack.http() as http:
        await stack.login(http, AUDITOR)
        page = await http.get(f"/tasks/{task.task_id}")
        assert page.status_code == 200 and "只读" in page.text
        assert 'name="idempotency_key"' not in page.text
        audit = await http.get("/audit?outcome=refused&action=task.view")
        assert audit.status_code == 200 and task.task_id in audit.text
        process = await http.get(f"/processes/{workflow_id}")
        assert process.status_code == 200
        assert "http://127.0.0.1:8233/namespaces/default/workflows/" in process.text
        assert "childcare" in process.text  # the frozen plan names its plugins
    async with stack.http() as http:
        await stack.login(http, GRID_JIUSI)
        assert (await http.get("/audit")).status_code == 403


async def test_community_staff_starts_a_campaign_from_the_console(
    console_stack: ConsoleStack,
) -> None:
    async with console_stack.http() as http:
        await console_stack.login(http, STAFF_JIUSI)
        listing = await http.get("/start")
        assert f"/start/{MICROWISH}" in listing.text
        form = await http.get(f"/start/{MICROWISH}")
        assert form.status_code == 200 and 'name="start_community"' in form.text
        assert "xinghua" not in form.text  # only the communities my grants cover
        csrf = hidden(form.text, "csrf_token")
        started = await http.post(
            f"/start/{MICROWISH}",
            data={
                "csrf_token": csrf,
                "start_district": "wanbailin",
                "start_community": JIUSI,
                "communities": JIUSI,
            },
        )
        assert started.status_code == 303, started.text
        assert started.headers["location"].startswith("/processes/childcare.microwish-wanbailin-")
        cases = await http.get("/cases?case_ref=nothing-like-this")
        assert "没有找到" in cases.text


async def test_logout_needs_the_csrf_token_and_ends_the_session(
    console_stack: ConsoleStack,
) -> None:
    async with console_stack.http() as http:
        inbox = await console_stack.login(http, GRID_JIUSI)
        csrf = hidden(inbox.text, "csrf_token")
        refused = await http.post("/logout", data={})
        assert refused.status_code == 403
        assert (await http.get("/tasks")).status_code == 200  # still logged in
        out = await http.post("/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert (await http.get("/tasks")).status_code == 303
    assert [(r.outcome, r.reason) for r in _audit(console_stack, "auth.logout")] == [
        ("refused", "csrf"),
        ("accepted", None),
    ]


async def test_temporal_down_refuses_bad_forms_as_such_and_says_nothing_was_done(
    console_stack: ConsoleStack,
) -> None:
    workflow_id = await console_stack.start_microwish(JIUSI)
    task = (await _open_visits(console_stack, workflow_id))[0]
    down = ConsoleStack(
        app=create_app(
            settings=Settings(task_queue=console_stack.task_queue),
            registry=console_stack.registry,
            engine=console_stack.engine,
        ),
        engine=console_stack.engine,
        registry=console_stack.registry,
        client=console_stack.client,
        task_queue=console_stack.task_queue,
    )
    async with down.http() as http:
        await down.login(http, GRID_JIUSI)
        page = await http.get(f"/tasks/{task.task_id}")
        csrf, key = hidden(page.text, "csrf_token"), hidden(page.text, "idempotency_key")
        bad = await http.post(
            f"/tasks/{task.task_id}",
            data=visit_data(estimated_value_yuan="-1", csrf_token=csrf, idempotency_key=key),
        )
        assert bad.status_code == 422 and "不能小于 0" in bad.text
        good = await http.post(
            f"/tasks/{task.task_id}", data=visit_data(csrf_token=csrf, idempotency_key=key)
        )
        assert good.status_code == 503 and "流程引擎暂不可用" in good.text
    assert next(t for t in down.tasks(workflow_id) if t.task_id == task.task_id).status == "open"
