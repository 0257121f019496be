"""Registry reads and enrolment writes of the five-thirty classroom."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.tables import Area, Guardian, Person
from careflow.localtime import STAFF_TIMEZONE
from careflow.privacy.consent import consenting, has_consent
from plugins.childcare.classroom.models import (
    ChildPickup,
    CommunitiesInput,
    EnrolmentChange,
    Roster,
    RosterInput,
    SetEnrolmentInput,
)
from plugins.childcare.classroom.tables import ClassroomEnrolment

__all__ = ["CONSENT_PURPOSE", "NO_CONSENT_ZH", "ClassroomActivities"]

CONSENT_PURPOSE = "classroom"
"""The consent purpose of the classroom (``careflow.privacy.consent``)."""
NO_CONSENT_ZH = "未登记监护人同意（五点半课堂）"


class ClassroomActivities:
    """Reads the enrolment and guardian tables, writes enrolments; returns registry ids only."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="childcare.classroom.roster")
    def roster(self, input: RosterInput) -> Roster:
        """The active enrolments of a community, each with its guardians and authorised ones.

        A child whose guardian's consent for the classroom does not count today (never given,
        or withdrawn) is left out and listed in ``without_consent``: the session does not use
        their data.
        """
        on = input.on or datetime.now(UTC).astimezone(STAFF_TIMEZONE).date()
        with Session(self._engine) as session:
            enrolled = session.exec(
                select(ClassroomEnrolment.child_id)
                .where(
                    ClassroomEnrolment.community_code == input.community,
                    col(ClassroomEnrolment.active).is_(True),
                )
                .order_by(col(ClassroomEnrolment.child_id))
            ).all()
            allowed = consenting(session, subject_ids=enrolled, purpose=CONSENT_PURPOSE, on=on)
            children = [c for c in enrolled if c in allowed]
            guardians = session.exec(
                select(Guardian)
                .where(col(Guardian.child_id).in_(children))
                .order_by(col(Guardian.guardian_id))
            ).all()
        by_child: dict[str, ChildPickup] = {c: ChildPickup(child_ref=c) for c in children}
        for g in guardians:
            by_child[g.child_id].guardians.append(g.guardian_id)
            if g.authorised_pickup:
                by_child[g.child_id].authorised.append(g.guardian_id)
        return Roster(
            children=list(by_child.values()),
            without_consent=[c for c in enrolled if c not in allowed],
        )

    @activity.defn(name="childcare.classroom.communities")
    def communities(self, input: CommunitiesInput) -> list[str]:
        """Communities of a district with at least one child enrolled."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(ClassroomEnrolment.community_code)
                .where(
                    col(ClassroomEnrolment.community_code).startswith(f"{input.district}."),
                    col(ClassroomEnrolment.active).is_(True),
                )
                .distinct()
                .order_by(col(ClassroomEnrolment.community_code))
            ).all()
        return list(rows)

    @activity.defn(name="childcare.classroom.set_enrolment")
    def set_enrolment(self, input: SetEnrolmentInput) -> EnrolmentChange:
        """Enrol or withdraw a child after checking the registry; idempotent (sets a state).

        A child is enrolled in the classroom of the community the registry says they live in.
        """
        refused = EnrolmentChange(accepted=False, active=input.active, community=input.community)
        with Session(self._engine) as session:
            child = session.get(Person, input.child_ref)
            if child is None or child.kind != "child":
                return refused.model_copy(update={"reason": "not_a_registered_child"})
            if not child.community_code.startswith(f"{input.district}."):
                return refused.model_copy(update={"reason": "not_in_district"})
            if input.active and not has_consent(
                session, subject_id=child.id, purpose=CONSENT_PURPOSE, on=input.on
            ):
                return refused.model_copy(
                    update={"reason": "no_consent", "reason_zh": NO_CONSENT_ZH}
                )
            row = session.get(ClassroomEnrolment, input.child_ref)
            if not input.active:
                if row is None or not row.active:
                    return EnrolmentChange(accepted=True, reason="not_enrolled", active=False)
                row.active = False
                session.add(row)
                session.commit()
                return EnrolmentChange(
                    accepted=True, changed=True, active=False, community=row.community_code
                )
            area = session.get(Area, input.community) if input.community else None
            if area is None or area.level != "community":
                return refused.model_copy(update={"reason": "unknown_community"})
            community = area.code
            if child.community_code != community:
                return refused.model_copy(update={"reason": "not_in_community"})
            if row is not None and row.active and row.community_code == community:
                return EnrolmentChange(
                    accepted=True, reason="already_enrolled", active=True, community=community
                )
            if row is None:
                row = ClassroomEnrolment(
                    child_id=input.child_ref, community_code=community, enrolled_on=input.on
                )
            row.community_code, row.active, row.enrolled_on = community, True, input.on
            session.add(row)
            session.commit()
        return EnrolmentChange(accepted=True, changed=True, active=True, community=community)
