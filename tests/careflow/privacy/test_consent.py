"""Consent rules: who may consent for whom, the exact age boundary of 14, and what counts when."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from careflow.db.engine import session_scope
from careflow.db.seed import REFERENCE_DATE, demo_child_without_consent, seed_demo
from careflow.db.tables import Consent, Guardian, Person
from careflow.errors import InputError
from careflow.privacy import consent as rules

TODAY = date(2026, 12, 3)


def _child(session: Session, birth: date) -> tuple[str, Guardian]:
    """The demo child without consent, born on ``birth``, and one of its guardians."""
    child_id = demo_child_without_consent(session)
    assert child_id is not None
    child = session.get(Person, child_id)
    assert child is not None
    child.birth_date = birth
    session.add(child)
    link = session.exec(select(Guardian).where(Guardian.child_id == child_id)).first()
    assert link is not None
    return child_id, link


def _record(session: Session, **overrides: object) -> Consent:
    values: dict[str, object] = {
        "purpose": "microwish",
        "recorded_by": "S0001",
        "request_id": "rtest",
        "today": TODAY,
    }
    values.update(overrides)
    return rules.record_consent(session, **values)  # type: ignore[arg-type]


def test_age_in_whole_years_by_calendar_date() -> None:
    assert rules.age_on(date(2012, 6, 15), date(2026, 6, 14)) == 13  # 13 years 364 days
    assert rules.age_on(date(2012, 6, 15), date(2026, 6, 15)) == 14
    # Born on 29 February: the birthday comes on 1 March in a year without one.
    assert rules.age_on(date(2012, 2, 29), date(2026, 2, 28)) == 13
    assert rules.age_on(date(2012, 2, 29), date(2026, 3, 1)) == 14
    assert rules.age_on(date(2008, 2, 29), date(2022, 2, 28)) == 13
    assert rules.age_on(date(2012, 2, 29), date(2024, 2, 29)) == 12  # a leap year: that day


def test_a_child_of_13_years_364_days_needs_a_guardian(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        child, _ = _child(session, date(2012, 6, 15))
        with pytest.raises(InputError) as refused:
            _record(
                session,
                subject_id=child,
                granted_by=child,
                relation="self",
                granted_on=date(2026, 6, 14),
            )
        assert refused.value.field == "granted_by"
        assert "未满14周岁" in refused.value.problem
        assert session.exec(select(Consent).where(Consent.subject_id == child)).all() == []


def test_from_the_14th_birthday_the_childs_own_consent_counts(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        child, _ = _child(session, date(2012, 6, 15))
        row = _record(
            session,
            subject_id=child,
            granted_by=child,
            relation="self",
            granted_on=date(2026, 6, 15),
        )
        assert row.id is not None and row.relation == "self"
        assert rules.has_consent(session, subject_id=child, purpose="microwish", on=TODAY)


def test_a_29_february_birthday_turns_14_on_1_march(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        child, _ = _child(session, date(2012, 2, 29))
        with pytest.raises(InputError, match="under 14"):
            _record(
                session,
                subject_id=child,
                granted_by=child,
                relation="self",
                granted_on=date(2026, 2, 28),
            )
        _record(
            session,
            subject_id=child,
            granted_by=child,
            relation="self",
            granted_on=date(2026, 3, 1),
        )


def test_a_registered_guardian_consents_in_the_registered_relation(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        child, link = _child(session, date(2020, 1, 1))
        wrong = "father" if link.relation != "father" else "mother"
        with pytest.raises(InputError) as refused:
            _record(
                session,
                subject_id=child,
                granted_by=link.guardian_id,
                relation=wrong,
                granted_on=TODAY,
            )
        assert refused.value.field == "relation"
        row = _record(
            session,
            subject_id=child,
            granted_by=link.guardian_id,
            relation=link.relation,
            granted_on=TODAY,
            evidence_ref="CF-2026-0042",
        )
        assert row.granted_by_id == link.guardian_id and row.evidence_ref == "CF-2026-0042"


def test_someone_who_is_not_a_guardian_cannot_consent(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        child, link = _child(session, date(2020, 1, 1))
        stranger = session.exec(
            select(Person.id).where(Person.kind == "adult", Person.id != link.guardian_id)
        ).first()
        assert stranger is not None
        for granter, field in ((stranger, "granted_by"), ("P99999", "granted_by")):
            with pytest.raises(InputError) as refused:
                _record(
                    session,
                    subject_id=child,
                    granted_by=granter,
                    relation="mother",
                    granted_on=TODAY,
                )
            assert refused.value.field == field


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subject_id": "P99999"}, "subject_id"),
        ({"purpose": "marketing"}, "purpose"),
        ({"purpose": "health_monitoring"}, "purpose"),  # a child's data, an elder's purpose
        ({"granted_on": TODAY + timedelta(days=1)}, "granted_on"),
        ({"granted_on": date(2019, 12, 31)}, "granted_on"),  # before the child was born
        ({"evidence_ref": "张三的同意书"}, "evidence_ref"),
        ({"evidence_ref": "phone-13912345678"}, "evidence_ref"),
        ({"evidence_ref": "X" * 65}, "evidence_ref"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    seeded_engine: Engine, overrides: dict[str, object], field: str
) -> None:
    with session_scope(seeded_engine) as session:
        child, link = _child(session, date(2020, 1, 1))
        values: dict[str, object] = {
            "subject_id": child,
            "granted_by": link.guardian_id,
            "relation": link.relation,
            "granted_on": TODAY,
        }
        values.update(overrides)
        with pytest.raises(InputError) as refused:
            _record(session, **values)
        assert refused.value.field == field
    with Session(seeded_engine) as session:
        assert session.exec(select(Consent).where(Consent.subject_id == child)).all() == []


def test_one_live_consent_per_purpose_and_withdrawal_keeps_the_row(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        child, link = _child(session, date(2020, 1, 1))
        granted = {
            "subject_id": child,
            "granted_by": link.guardian_id,
            "relation": link.relation,
            "granted_on": date(2026, 11, 1),
        }
        _record(session, **granted)
        with pytest.raises(InputError, match="already on record") as refused:
            _record(session, **granted)
        assert refused.value.field == "purpose"
        at = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 11:00 in Taiyuan on 2 December
        row = rules.withdraw_consent(
            session, subject_id=child, purpose="microwish", withdrawn_by="S0002", at=at
        )
        assert row.withdrawn_at == at and row.withdrawn_by == "S0002"
        # It counted before the day of the withdrawal, not on it nor after.
        on = rules.has_consent
        assert on(session, subject_id=child, purpose="microwish", on=date(2026, 12, 1))
        assert not on(session, subject_id=child, purpose="microwish", on=date(2026, 12, 2))
        assert not on(session, subject_id=child, purpose="microwish", on=date(2026, 10, 31))
        # A new consent may be recorded once the old one is withdrawn.
        _record(session, **granted)
        assert len(session.exec(select(Consent).where(Consent.subject_id == child)).all()) == 2


def test_withdrawing_what_was_never_granted_or_already_withdrawn(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        child, link = _child(session, date(2020, 1, 1))
        with pytest.raises(InputError, match="was ever recorded") as never:
            rules.withdraw_consent(
                session, subject_id=child, purpose="classroom", withdrawn_by="S1"
            )
        assert never.value.field == "purpose"
        _record(
            session,
            subject_id=child,
            purpose="classroom",
            granted_by=link.guardian_id,
            relation=link.relation,
            granted_on=TODAY,
        )
        rules.withdraw_consent(session, subject_id=child, purpose="classroom", withdrawn_by="S1")
        with pytest.raises(InputError, match="already withdrawn") as again:
            rules.withdraw_consent(
                session, subject_id=child, purpose="classroom", withdrawn_by="S1"
            )
        assert again.value.field == "purpose"
        with pytest.raises(InputError) as nobody:
            rules.withdraw_consent(
                session, subject_id="P99999", purpose="classroom", withdrawn_by="S1"
            )
        assert nobody.value.field == "subject_id"


def test_withdrawn_subjects_are_those_without_a_live_consent_since(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        child, _ = _child(session, date(2020, 1, 1))
        others = session.exec(
            select(Consent.subject_id)
            .where(Consent.purpose == "childcare_place")
            .order_by(Consent.subject_id)
            .limit(2)
        ).all()
        first, second = others
        at = datetime(2026, 12, 1, tzinfo=UTC)
        for subject in (first, second):
            rules.withdraw_consent(
                session, subject_id=subject, purpose="childcare_place", withdrawn_by="S1", at=at
            )
        guardian = session.exec(select(Guardian).where(Guardian.child_id == second)).first()
        assert guardian is not None
        _record(  # the second family consented again afterwards
            session,
            subject_id=second,
            purpose="childcare_place",
            granted_by=guardian.guardian_id,
            relation=guardian.relation,
            granted_on=TODAY,
        )
        later = at + timedelta(days=1)
        assert rules.withdrawn_subjects(session, purpose="childcare_place", before=later) == [first]
        assert rules.withdrawn_subjects(session, purpose="childcare_place", before=at) == []
        assert child not in rules.consenting(
            session, subject_ids=[child, first], purpose="childcare_place", on=TODAY
        )


def test_the_demo_seed_records_a_guardians_consent_for_every_other_child(
    seeded_engine: Engine,
) -> None:
    with Session(seeded_engine) as session:
        missing = demo_child_without_consent(session)
        children = session.exec(select(Person.id).where(Person.kind == "child")).all()
        for purpose in ("microwish", "classroom", "childcare_place"):
            have = rules.consenting(session, subject_ids=children, purpose=purpose, on=TODAY)
            assert set(children) - have == {missing}
        row = session.exec(select(Consent).where(Consent.purpose == "microwish")).first()
        assert row is not None and row.granted_on == REFERENCE_DATE
        assert session.get(Guardian, (row.subject_id, row.granted_by_id)) is not None


def test_the_database_keeps_one_live_consent_per_purpose(any_engine: Engine) -> None:
    """The partial unique index, on SQLite and PostgreSQL: a second live row is refused, a
    withdrawn one is not."""
    with session_scope(any_engine) as session:
        seed_demo(session)
    with session_scope(any_engine) as session:
        live = session.exec(select(Consent).where(Consent.purpose == "microwish")).first()
        assert live is not None
        copy = {k: v for k, v in live.model_dump().items() if k not in ("id", "withdrawn_at")}
    with pytest.raises(IntegrityError), session_scope(any_engine) as session:
        session.add(Consent(**copy))
    with session_scope(any_engine) as session:
        session.add(Consent(**copy, withdrawn_at=datetime(2026, 2, 1, tzinfo=UTC)))
    with Session(any_engine) as session:
        rows = session.exec(
            select(Consent).where(
                Consent.subject_id == live.subject_id, Consent.purpose == "microwish"
            )
        ).all()
    assert sorted(r.withdrawn_at is None for r in rows) == [False, True]


def test_a_demo_registry_seeded_before_consents_gets_them_a_real_one_never(
    seeded_engine: Engine,
) -> None:
    def forget_consents() -> None:
        with session_scope(seeded_engine) as session:
            for row in session.exec(select(Consent)).all():
                session.delete(row)

    forget_consents()
    with session_scope(seeded_engine) as session:
        summary = seed_demo(session)
    assert summary.skipped and summary.counts["consent"] > 0
    with Session(seeded_engine) as session:
        children = session.exec(select(Person.id).where(Person.kind == "child")).all()
        have = rules.consenting(session, subject_ids=children, purpose="microwish", on=TODAY)
    assert len(have) == len(children)  # every demo child has guardians
    forget_consents()
    with session_scope(seeded_engine) as session:
        someone = session.exec(select(Person)).first()
        assert someone is not None
        someone.id_number = "140105201001010011"  # a person who is not invented
        session.add(someone)
    with session_scope(seeded_engine) as session:
        again = seed_demo(session)
    assert again.skipped and again.counts == {}
    with Session(seeded_engine) as session:
        assert session.exec(select(Consent)).first() is None
