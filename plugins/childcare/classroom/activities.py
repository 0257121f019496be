"""Registry reads of the five-thirty classroom: rosters and who may collect each child."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.tables import Guardian
from plugins.childcare.classroom.models import (
    ChildPickup,
    CommunitiesInput,
    Roster,
    RosterInput,
)
from plugins.childcare.classroom.tables import ClassroomEnrolment

__all__ = ["ClassroomActivities"]


class ClassroomActivities:
    """Reads the enrolment and guardian tables; returns registry ids only."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="childcare.classroom.roster")
    def roster(self, input: RosterInput) -> Roster:
        """The active enrolments of a community, each with its guardians and authorised ones."""
        with Session(self._engine) as session:
            children = session.exec(
                select(ClassroomEnrolment.child_id)
                .where(
                    ClassroomEnrolment.community_code == input.community,
                    col(ClassroomEnrolment.active).is_(True),
                )
                .order_by(col(ClassroomEnrolment.child_id))
            ).all()
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
        return Roster(children=list(by_child.values()))

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
