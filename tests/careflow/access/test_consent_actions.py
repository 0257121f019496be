"""Consent actions: who may record and withdraw, refusals naming the field, one audit row each."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from careflow.access import Attempt, Refused, accounts, actions, new_request_id
from careflow.db.seed import demo_child_without_consent
from careflow.db.tables import AuditEntry, Consent, Guardian, Person

JIUSI = "wanbailin.wanghua.jiusi"
TODAY = date(2026, 12, 3)


def _attempt(engine: Engine, username: str | None) -> Attempt:
    if username is None:
        return Attempt(principal=None, channel="api", request_id=new_request_id())
    with Session(engine) as session:
        principal = accounts.load_principal(session, accounts.account_id(session, username))
    return Attempt(principal=principal, channel="console", request_id=new_request_id())


def _child(engine: Engine) -> tuple[str, Guardian]:
    with Session(engine) as session:
        child = demo_child_without_consent(session)
        assert child is not None
        link = session.exec(select(Guardian).where(Guardian.child_id == child)).first()
        assert link is not None
        return child, link


def _rows(engine: Engine, request_id: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.request_id == request_id)).all()
        )


def _consents(engine: Engine, child: str) -> list[Consent]:
    with Session(engine) as session:
        return list(session.exec(select(Consent).where(Consent.subject_id == child)).all())


def test_community_staff_record_a_guardians_consent_audited(seeded_engine: Engine) -> None:
    child, link = _child(seeded_engine)
    attempt = _attempt(seeded_engine, f"{JIUSI}-community_staff")
    view = actions.record_consent(
        seeded_engine,
        attempt,
        subject_id=child,
        purpose="childcare_place",
        granted_by=link.guardian_id,
        relation=link.relation,
        granted_on=TODAY,
        evidence_ref="JS-2026-117",
        today=TODAY,
    )
    assert view.live and view.purpose_zh == "托育服务" and view.community == JIUSI
    assert attempt.principal is not None and view.recorded_by == attempt.principal.staff_id
    (row,) = _rows(seeded_engine, attempt.request_id)
    assert (row.action, row.outcome, row.target) == (
        "consent.record",
        "accepted",
        f"consent:{view.id}",
    )
    assert (row.district, row.community) == ("wanbailin", JIUSI)
    (stored,) = _consents(seeded_engine, child)
    assert stored.request_id == attempt.request_id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject_id": "P99999"}, "subject_id"),
        ({"purpose": "advertising"}, "purpose"),
        ({"granted_by": "stranger"}, "granted_by"),
        ({"granted_by": "child", "relation": "self"}, "granted_by"),  # a 2-year-old alone
        ({"relation": "grandfather"}, "relation"),
        ({"evidence_ref": "13912345678"}, "evidence_ref"),
    ],
)
def test_refusals_name_the_field_write_nothing_and_are_audited(
    seeded_engine: Engine, change: dict[str, str], field: str
) -> None:
    child, link = _child(seeded_engine)
    with Session(seeded_engine) as session:
        stranger = session.exec(
            select(Person.id).where(Person.kind == "adult", col(Person.id) != link.guardian_id)
        ).first()
    values: dict[str, object] = {
        "subject_id": child,
        "purpose": "microwish",
        "granted_by": link.guardian_id,
        "relation": link.relation,
        "granted_on": TODAY,
        "today": TODAY,
    }
    values.update(change)
    if values["granted_by"] == "stranger":
        values["granted_by"] = stranger
    if values["granted_by"] == "child":
        values["granted_by"] = child
    attempt = _attempt(seeded_engine, f"{JIUSI}-community_staff")
    with pytest.raises(Refused) as refused:
        actions.record_consent(seeded_engine, attempt, **values)  # type: ignore[arg-type]
    assert refused.value.reason == "bad_input" and refused.value.field == field
    assert refused.value.message.startswith("同意未登记 consent not recorded:")
    (row,) = _rows(seeded_engine, attempt.request_id)
    assert (row.action, row.outcome, row.reason) == ("consent.record", "refused", "bad_input")
    assert _consents(seeded_engine, child) == []


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        (None, "not_logged_in"),
        (f"{JIUSI}-grid_worker", "wrong_role"),
        ("yingze.qiaodong.shuangta-community_staff", "out_of_scope"),
        ("wanbailin-auditor", "wrong_role"),
    ],
)
def test_only_staff_over_the_childs_community_record_consent(
    seeded_engine: Engine, username: str | None, reason: str
) -> None:
    child, link = _child(seeded_engine)
    attempt = _attempt(seeded_engine, username)
    with pytest.raises(Refused) as refused:
        actions.record_consent(
            seeded_engine,
            attempt,
            subject_id=child,
            purpose="classroom",
            granted_by=link.guardian_id,
            relation=link.relation,
            granted_on=TODAY,
            today=TODAY,
        )
    assert refused.value.reason == reason
    (row,) = _rows(seeded_engine, attempt.request_id)
    assert row.outcome == "refused" and row.reason == reason
    assert _consents(seeded_engine, child) == []


async def _unreachable() -> Client:
    raise RuntimeError("Failed client connect: connection refused")


async def test_a_withdrawal_stands_while_temporal_is_down(seeded_engine: Engine) -> None:
    with Session(seeded_engine) as session:
        row = session.exec(
            select(Consent, Person)
            .join(Person, col(Person.id) == col(Consent.subject_id))
            .where(Consent.purpose == "classroom", Person.community_code == JIUSI)
        ).first()
        assert row is not None
        subject = row[0].subject_id
    attempt = _attempt(seeded_engine, "wanbailin-district_admin")
    withdrawal = await actions.withdraw_consent(
        _unreachable, seeded_engine, attempt, subject_id=subject, purpose="classroom"
    )
    assert not withdrawal.consent.live and withdrawal.told == []
    assert withdrawal.not_told == "RuntimeError" and "暂不可用" in withdrawal.message
    (audit,) = _rows(seeded_engine, attempt.request_id)
    assert (audit.action, audit.outcome, audit.reason) == (
        "consent.withdraw",
        "accepted",
        "processes_not_told",
    )
    # Again: already withdrawn, refused on purpose and audited; nothing changes.
    again = _attempt(seeded_engine, "wanbailin-district_admin")
    with pytest.raises(Refused) as refused:
        await actions.withdraw_consent(
            _unreachable, seeded_engine, again, subject_id=subject, purpose="classroom"
        )
    assert refused.value.field == "purpose" and "already withdrawn" in refused.value.message
    (audit,) = _rows(seeded_engine, again.request_id)
    assert audit.outcome == "refused"


async def test_withdrawing_a_consent_never_granted_is_refused(seeded_engine: Engine) -> None:
    child, _ = _child(seeded_engine)
    for subject, field in ((child, "purpose"), ("P99999", "subject_id")):
        attempt = _attempt(seeded_engine, f"{JIUSI}-community_staff")
        with pytest.raises(Refused) as refused:
            await actions.withdraw_consent(
                _unreachable, seeded_engine, attempt, subject_id=subject, purpose="microwish"
            )
        assert refused.value.reason == "bad_input" and refused.value.field == field
        (audit,) = _rows(seeded_engine, attempt.request_id)
        assert (audit.action, audit.outcome) == ("consent.withdraw", "refused")


def test_readers_list_the_consents_of_their_areas_only(seeded_engine: Engine) -> None:
    staff = _attempt(seeded_engine, f"{JIUSI}-community_staff")
    mine = actions.list_consents(seeded_engine, staff, purpose="microwish", limit=1000)
    assert mine and {v.community for v in mine} == {JIUSI}
    auditor = _attempt(seeded_engine, "wanbailin-auditor")
    district = actions.list_consents(seeded_engine, auditor, area="wanbailin", limit=1000)
    assert {v.community.split(".")[0] for v in district} == {"wanbailin"}
    assert len(district) > len(mine)
    with pytest.raises(Refused) as outside:
        actions.list_consents(
            seeded_engine, _attempt(seeded_engine, f"{JIUSI}-community_staff"), area="yingze"
        )
    assert outside.value.reason == "out_of_scope"
    grid = _attempt(seeded_engine, f"{JIUSI}-grid_worker")
    with pytest.raises(Refused) as role:
        actions.list_consents(seeded_engine, grid)
    assert role.value.reason == "wrong_role"
    (row,) = _rows(seeded_engine, staff.request_id)
    assert (row.action, row.outcome) == ("consent.list", "accepted")
