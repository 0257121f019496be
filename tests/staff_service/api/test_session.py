"""Login, logout, who am I, bad passwords and lockout, CSRF, bearer tokens."""

from __future__ import annotations

from careflow.db.seed_accounts import DEMO_PASSWORD
from tests.staff_service.conftest import (
    GRID_JIUSI,
    StaffStack,
    audit_rows,
    issue_token,
    last_audit_id,
    staff_id,
)

PROBLEM = "application/problem+json"


async def test_login_sets_a_strict_cookie_and_me_names_the_grants(
    staff_stack: StaffStack,
) -> None:
    before = last_audit_id(staff_stack.engine)
    async with staff_stack.anonymous() as http:
        answer = await http.post(
            "/api/v1/session", json={"username": GRID_JIUSI, "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200
        body = answer.json()
        assert body["csrf_token"] and body["via"] == "session"
        assert body["grants"] == [{"role": "grid_worker", "area": "wanbailin.wanghua.jiusi"}]
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("careflow_session=")
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=strict" in lowered and "path=/" in lowered
        assert "secure" not in lowered  # cookie_secure is off for http://127.0.0.1
        assert answer.headers["cache-control"] == "no-store"

        me = await http.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["staff_id"] == staff_id(staff_stack.engine, GRID_JIUSI)
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.channel, r.actor) for r in rows] == [
        ("auth.login", "accepted", "api", staff_id(staff_stack.engine, GRID_JIUSI))
    ]
    assert rows[0].request_id == answer.headers["x-request-id"]


async def test_a_bad_password_is_refused_audited_and_five_lock_the_account(
    staff_stack: StaffStack,
) -> None:
    before = last_audit_id(staff_stack.engine)
    async with staff_stack.anonymous() as http:
        for _ in range(5):
            bad = await http.post(
                "/api/v1/session", json={"username": GRID_JIUSI, "password": "wrong-password"}
            )
            assert bad.status_code == 401
            assert bad.headers["content-type"] == PROBLEM
            assert bad.json()["reason"] == "bad_password"
            assert "用户名或密码错误" in bad.json()["detail"]
            assert "set-cookie" not in bad.headers
        # Locked now: even the right password is refused for 15 minutes.
        locked = await http.post(
            "/api/v1/session", json={"username": GRID_JIUSI, "password": DEMO_PASSWORD}
        )
        assert locked.status_code == 429
        assert locked.json()["reason"] == "locked"
        unknown = await http.post(
            "/api/v1/session", json={"username": "nobody", "password": "whatever-it-is"}
        )
        assert unknown.status_code == 401 and unknown.json()["reason"] == "bad_password"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason, r.actor) for r in rows] == [
        *[("auth.login", "refused", "bad_password", GRID_JIUSI)] * 5,
        ("auth.login", "refused", "locked", GRID_JIUSI),
        ("auth.login", "refused", "bad_password", "nobody"),
    ]
    assert all("wrong-password" not in (r.message or "") for r in rows)


async def test_without_login_every_route_answers_401_with_one_audit_row(
    staff_stack: StaffStack,
) -> None:
    async with staff_stack.anonymous() as http:
        for method, path in (
            ("GET", "/api/v1/me"),
            ("GET", "/api/v1/tasks"),
            ("GET", "/api/v1/tasks/T000000000000"),
            ("POST", "/api/v1/tasks/T000000000000/claim"),
            ("GET", "/api/v1/processes"),
            ("GET", "/api/v1/processes/by-id/delivery-wanbailin-C1"),
            ("GET", "/api/v1/cases?case_ref=C1"),
            ("GET", "/api/v1/audit"),
            ("DELETE", "/api/v1/session"),
        ):
            before = last_audit_id(staff_stack.engine)
            answer = await http.request(method, path)
            assert answer.status_code == 401, (method, path, answer.text)
            problem = answer.json()
            assert problem["reason"] == "not_logged_in" and problem["status"] == 401
            assert problem["request_id"] == answer.headers["x-request-id"]
            assert answer.headers["www-authenticate"] == "Bearer"
            rows = audit_rows(staff_stack.engine, since_id=before)
            assert [(r.outcome, r.reason, r.actor) for r in rows] == [
                ("refused", "not_logged_in", "anonymous")
            ], (method, path)
        for path, payload in (
            ("/api/v1/tasks/T000000000000/complete", {"data": {}}),
            ("/api/v1/processes/delivery", {"district": "wanbailin", "request": {}}),
            ("/api/v1/events/delivery.dropoff", {"district": "wanbailin"}),
        ):
            before = last_audit_id(staff_stack.engine)
            answer = await http.post(path, json=payload)
            assert answer.status_code == 401, (path, answer.text)
            assert len(audit_rows(staff_stack.engine, since_id=before)) == 1


async def test_cookie_posts_need_the_csrf_token_and_logout_ends_the_session(
    staff_stack: StaffStack,
) -> None:
    async with staff_stack.client_for(GRID_JIUSI) as http:
        csrf = http.headers.pop("X-CSRF-Token")
        before = last_audit_id(staff_stack.engine)
        refused = await http.delete("/api/v1/session")
        assert refused.status_code == 403 and refused.json()["reason"] == "csrf"
        assert refused.json()["field"] == "X-CSRF-Token"
        wrong = await http.delete("/api/v1/session", headers={"X-CSRF-Token": csrf + "x"})
        assert wrong.status_code == 403
        rows = audit_rows(staff_stack.engine, since_id=before)
        assert [(r.action, r.outcome, r.reason) for r in rows] == [
            ("auth.logout", "refused", "csrf"),
            ("auth.logout", "refused", "csrf"),
        ]
        assert (await http.get("/api/v1/me")).status_code == 200  # still logged in

        out = await http.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
        assert (await http.get("/api/v1/me")).status_code == 401


async def test_a_bearer_token_authenticates_and_a_bad_one_is_refused_and_audited(
    staff_stack: StaffStack,
) -> None:
    token = issue_token(
        staff_stack.engine,
        staff_stack.registry,
        username="wanbailin-hospital",
        event_types=["eldercare.hospital_response"],
        districts=["wanbailin"],
    )
    async with staff_stack.token_client(token) as http:
        me = await http.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["via"] == "token"
        assert me.json()["token"]["event_types"] == ["eldercare.hospital_response"]
    before = last_audit_id(staff_stack.engine)
    async with staff_stack.token_client(token[:-2] + "xx") as http:
        bad = await http.get("/api/v1/me")
    assert bad.status_code == 401 and bad.json()["reason"] == "bad_token"
    async with staff_stack.anonymous() as http:
        basic = await http.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401 and basic.json()["reason"] == "bad_token"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("auth.token", "refused", "bad_token"),
        ("auth.token", "refused", "bad_token"),
    ]
    # The audit row names the token's public part, never its secret.
    secret = token.split("_", 2)[2]  # cft_<id>_<secret>; the secret may itself hold "_"
    assert rows[0].target == "_".join(token.split("_", 2)[:2])
    assert all(secret not in (r.target or "") + (r.message or "") for r in rows)
