"""Consent over the API: recording, refusals naming the field, reading, withdrawing, audited."""

from __future__ import annotations

from sqlmodel import Session, select

from careflow.db.seed import demo_child_without_consent
from careflow.db.tables import Consent, Guardian
from tests.staff_service.conftest import (
    ADMIN_WANBAILIN,
    AUDITOR_WANBAILIN,
    GRID_JIUSI,
    STAFF_JIUSI,
    STAFF_XINGHUA,
    StaffStack,
    audit_rows,
    last_audit_id,
)


def _family(stack: StaffStack) -> tuple[str, str, str]:
    with Session(stack.engine) as session:
        child = demo_child_without_consent(session)
        assert child is not None
        link = session.exec(select(Guardian).where(Guardian.child_id == child)).first()
        assert link is not None
        return child, link.guardian_id, link.relation


def _consents(stack: StaffStack, child: str) -> list[Consent]:
    with Session(stack.engine) as session:
        return list(session.exec(select(Consent).where(Consent.subject_id == child)).all())


async def test_community_staff_record_read_and_withdraw_a_consent(staff_stack: StaffStack) -> None:
    child, guardian, relation = _family(staff_stack)
    body = {
        "subject_id": child,
        "purpose": "childcare_place",
        "granted_by": guardian,
        "relation": relation,
        "granted_on": "2026-11-30",
        "evidence_ref": "JS-2026-0042",
    }
    async with staff_stack.client_for(STAFF_JIUSI) as http:
        recorded = await http.post("/api/v1/consents", json=body)
        assert recorded.status_code == 201, recorded.text
        consent = recorded.json()
        assert consent["live"] and consent["purpose_zh"] == "托育服务"
        listed = await http.get("/api/v1/consents", params={"subject_id": child})
        assert [c["id"] for c in listed.json()] == [consent["id"]]
        before = last_audit_id(staff_stack.engine)
        withdrawn = await http.post(
            "/api/v1/consents/withdraw",
            json={"subject_id": child, "purpose": "childcare_place"},
        )
        again = await http.post(
            "/api/v1/consents/withdraw",
            json={"subject_id": child, "purpose": "childcare_place"},
        )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["consent"]["live"] is False
    assert again.status_code == 422 and again.json()["field"] == "purpose"
    rows = audit_rows(staff_stack.engine, since_id=before)
    assert [(r.action, r.outcome) for r in rows] == [
        ("consent.withdraw", "accepted"),
        ("consent.withdraw", "refused"),
    ]
    assert rows[0].target == f"consent:{consent['id']}"
    async with staff_stack.client_for(AUDITOR_WANBAILIN) as http:
        read = await http.get("/api/v1/consents", params={"subject_id": child})
    assert read.status_code == 200 and read.json()[0]["live"] is False


async def test_refusals_name_the_field_write_nothing_and_are_audited(
    staff_stack: StaffStack,
) -> None:
    child, guardian, relation = _family(staff_stack)
    good = {
        "subject_id": child,
        "purpose": "microwish",
        "granted_by": guardian,
        "relation": relation,
        "granted_on": "2026-11-30",
    }
    cases = [
        ({"granted_on": "yesterday"}, 422, "granted_on"),
        ({"purpose": "advertising"}, 422, "purpose"),
        ({"subject_id": "P99999"}, 422, "subject_id"),
        ({"granted_by": child, "relation": "self"}, 422, "granted_by"),
        ({"evidence_ref": "身份证140100201801010011"}, 422, "evidence_ref"),
    ]
    before = last_audit_id(staff_stack.engine)
    async with staff_stack.client_for(STAFF_JIUSI) as http:
        for change, status, field in cases:
            answer = await http.post("/api/v1/consents", json={**good, **change})
            assert answer.status_code == status, answer.text
            assert answer.json()["field"] == field
    async with staff_stack.client_for(STAFF_XINGHUA) as http:
        elsewhere = await http.post("/api/v1/consents", json=good)
    async with staff_stack.client_for(GRID_JIUSI) as http:
        grid = await http.post("/api/v1/consents", json=good)
    async with staff_stack.anonymous() as http:
        anonymous = await http.post("/api/v1/consents", json=good)
    assert elsewhere.status_code == 403 and elsewhere.json()["reason"] == "out_of_scope"
    assert grid.status_code == 403 and grid.json()["reason"] == "wrong_role"
    assert anonymous.status_code == 401
    assert _consents(staff_stack, child) == []
    rows = [r for r in audit_rows(staff_stack.engine, since_id=before) if r.action != "auth.login"]
    assert [(r.action, r.outcome) for r in rows] == [("consent.record", "refused")] * 8
    assert [r.reason for r in rows][-3:] == ["out_of_scope", "wrong_role", "not_logged_in"]


async def test_purposes_are_listed_and_an_admin_reads_the_district(
    staff_stack: StaffStack,
) -> None:
    async with staff_stack.anonymous() as http:
        purposes = await http.get("/api/v1/consents/purposes")
    assert purposes.status_code == 200
    assert {p["code"]: p["title_zh"] for p in purposes.json()}["microwish"] == "微心愿走访"
    async with staff_stack.client_for(ADMIN_WANBAILIN) as http:
        listed = await http.get(
            "/api/v1/consents", params={"area": "wanbailin", "purpose": "classroom"}
        )
        outside = await http.get("/api/v1/consents", params={"area": "yingze"})
    assert listed.status_code == 200 and listed.json()
    assert {c["community"].split(".")[0] for c in listed.json()} == {"wanbailin"}
    assert outside.status_code == 403 and outside.json()["reason"] == "out_of_scope"
