"""The console's consent register: record with a field error shown in place, withdraw, CSRF."""

from __future__ import annotations

from sqlmodel import Session, select

from careflow.db.seed import demo_child_without_consent
from careflow.db.tables import AuditEntry, Consent, Guardian, Person
from careflow.privacy.masking import mask_name
from tests.staff_service.console.conftest import (
    AUDITOR,
    GRID_JIUSI,
    STAFF_JIUSI,
    STAFF_XINGHUA,
    ConsoleStack,
    hidden,
)


def _family(stack: ConsoleStack) -> tuple[str, Guardian, str]:
    with Session(stack.engine) as session:
        child = demo_child_without_consent(session)
        assert child is not None
        link = session.exec(select(Guardian).where(Guardian.child_id == child)).first()
        assert link is not None
        person = session.get(Person, child)
        assert person is not None
        return child, link, person.name


def _consents(stack: ConsoleStack, child: str) -> list[Consent]:
    with Session(stack.engine) as session:
        return list(session.exec(select(Consent).where(Consent.subject_id == child)).all())


async def test_staff_record_a_consent_after_a_field_error_and_withdraw_it(
    console_stack: ConsoleStack,
) -> None:
    stack = console_stack
    child, link, name = _family(stack)
    async with stack.http() as http:
        landing = await stack.login(http, STAFF_JIUSI)
        assert 'href="/consents"' in landing.text and "同意登记" in landing.text
        page = await http.get(f"/consents?subject={child}")
        assert page.status_code == 200
        # The guardians to choose from, masked; the child has no consent yet.
        assert mask_name(name) in page.text and name not in page.text
        assert link.guardian_id in page.text and "没有同意记录" in page.text
        form = {
            "csrf_token": hidden(page.text, "csrf_token"),
            "subject_id": child,
            "purpose": "classroom",
            "granted_by": child,  # a two-year-old cannot consent alone
            "relation": "self",
            "granted_on": "2026-11-30",
            "evidence_ref": "JS-2026-0099",
        }
        refused = await http.post("/consents", data=form)
        assert refused.status_code == 422
        assert "未满14周岁" in refused.text and 'id="c-granted_by-error"' in refused.text
        assert 'value="JS-2026-0099"' in refused.text  # what was typed is kept
        assert _consents(stack, child) == []
        form |= {"granted_by": link.guardian_id, "relation": link.relation}
        recorded = await http.post("/consents", data=form)
        assert recorded.status_code == 303, recorded.text
        listing = await http.get(recorded.headers["location"])
        assert (
            "已登记同意" in listing.text and "五点半课堂" in listing.text and "有效" in listing.text
        )
        (row,) = _consents(stack, child)
        withdrawn = await http.post(
            "/consents/withdraw",
            data={
                "csrf_token": hidden(listing.text, "csrf_token"),
                "subject_id": child,
                "purpose": "classroom",
            },
        )
        assert withdrawn.status_code == 303
        after = await http.get(withdrawn.headers["location"])
        assert "已撤回同意" in after.text and "已撤回" in after.text
        forged = await http.post(
            "/consents/withdraw",
            data={"csrf_token": "forged", "subject_id": child, "purpose": "classroom"},
        )
        assert forged.status_code == 403
    with Session(stack.engine) as session:
        stored = session.get(Consent, row.id)
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.action.in_(("consent.record", "consent.withdraw")))  # type: ignore[attr-defined]
        ).all()
    assert stored is not None and stored.withdrawn_at is not None
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("consent.record", "refused", "bad_input"),
        ("consent.record", "accepted", None),
        ("consent.withdraw", "accepted", rows[2].reason),
        ("consent.withdraw", "refused", "csrf"),
    ]


async def test_other_areas_and_roles_cannot_record(console_stack: ConsoleStack) -> None:
    stack = console_stack
    child, link, _ = _family(stack)
    async with stack.http() as http:
        await stack.login(http, STAFF_XINGHUA)
        page = await http.get("/consents")
        form = {
            "csrf_token": hidden(page.text, "csrf_token"),
            "subject_id": child,
            "purpose": "microwish",
            "granted_by": link.guardian_id,
            "relation": link.relation,
            "granted_on": "2026-11-30",
        }
        outside = await http.post("/consents", data=form)
        assert outside.status_code == 403 and "不在您的负责范围" in outside.text
    async with stack.http() as http:
        landing = await stack.login(http, GRID_JIUSI)
        assert 'href="/consents"' not in landing.text
        assert (await http.get("/consents")).status_code == 403
    async with stack.http() as http:
        await stack.login(http, AUDITOR)
        read = await http.get("/consents?purpose=microwish")
        assert read.status_code == 200 and "微心愿走访" in read.text
        # Auditors read only: neither the form nor a withdraw button.
        assert 'action="/consents/withdraw"' not in read.text
        assert 'method="post" action="/consents"' not in read.text
    assert _consents(stack, child) == []
