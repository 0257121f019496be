"""Activities of tiered care: registry facts for grading, and applying a tier.

Applying red pairs a volunteer one to one (``Pairing`` kind ``one_to_one``) and makes sure a
curtain check 窗帘之约 watches the elder (``Pairing`` kind ``curtain``); both reuse an active
pairing if there is one, so a retry or a repeated red grade pairs nobody twice.
"""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.engine import session_scope
from careflow.db.tables import Pairing, Person, Volunteer
from careflow.db.types import utcnow
from plugins.eldercare.tiers.models import (
    ActivityNames,
    AssessmentInput,
    AssessmentResult,
    ClosePlanInput,
    ElderFacts,
    FactsInput,
    Tier,
)
from plugins.eldercare.tiers.tables import TierAssessment, TierCarePlan

__all__ = ["TiersActivities", "age_on"]

_log = structlog.get_logger("careflow.eldercare.tiers")


def age_on(birth: date, day: date) -> int:
    """Age in whole years on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class TiersActivities:
    """Registry reads and care-plan writes of tiered care.

    Args:
        engine: Engine of the app database.
    """

    def __init__(self, engine: Engine) -> None:
        """Keep the dependencies."""
        self._engine = engine

    @activity.defn(name=ActivityNames.ELDER_FACTS)
    def elder_facts(self, input: FactsInput) -> ElderFacts:
        """Age, disability and living situation of an elder; ``known=False`` if not registered."""
        with Session(self._engine) as session:
            person = session.get(Person, input.elder_ref)
            if person is None or person.kind != "elder":
                return ElderFacts(known=False)
            return ElderFacts(
                known=True,
                age=age_on(person.birth_date, input.as_of),
                disability_level=person.disability_level,
                lives_alone=person.lives_alone,
                community=person.community_code,
            )

    @activity.defn(name=ActivityNames.RECORD_ASSESSMENT)
    def record_assessment(self, input: AssessmentInput) -> AssessmentResult:
        """Store the assessment once and make the care plan, pairings and watch match it."""
        elder = input.context.case_ref
        with session_scope(self._engine) as session:
            existing = session.exec(
                select(TierAssessment).where(
                    TierAssessment.workflow_id == input.workflow_id,
                    TierAssessment.step_key == input.step_key,
                )
            ).first()
            if existing is not None and existing.id is not None:
                plan = session.get(TierCarePlan, elder)
                return AssessmentResult(
                    assessment_id=existing.id,
                    volunteer_ref=plan.volunteer_ref if plan else None,
                    watched=plan.watched if plan else False,
                )
            row = TierAssessment(
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                elder_ref=elder,
                district=input.context.district,
                tier=input.tier.value,
                previous_tier=input.previous.value if input.previous else None,
                reasons=list(input.reasons),
                source=input.source,
                assessed_at=input.assessed_at,
            )
            session.add(row)
            session.flush()
            person = session.get(Person, elder)
            community = person.community_code if person else input.context.community
            volunteer: str | None = None
            if input.tier is Tier.RED:
                volunteer = _ensure_pairing(session, elder, community, "one_to_one")
                _ensure_pairing(session, elder, community, "curtain", prefer=volunteer)
            else:
                _end_pairings(session, elder, "one_to_one")
            watched = _has_pairing(session, elder, "curtain")
            plan = session.get(TierCarePlan, elder) or TierCarePlan(
                elder_ref=elder, district=input.context.district, tier=input.tier.value
            )
            plan.district = input.context.district
            plan.community = community
            plan.tier = input.tier.value
            plan.watched = watched
            plan.volunteer_ref = volunteer
            plan.assessment_id = row.id
            plan.active = True
            plan.updated_at = utcnow()
            session.add(plan)
            session.flush()
            assert row.id is not None
            _log.info(
                "tiers.assessed",
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                tier=input.tier.value,
                watched=watched,
            )
            return AssessmentResult(assessment_id=row.id, volunteer_ref=volunteer, watched=watched)

    @activity.defn(name=ActivityNames.CLOSE_PLAN)
    def close_plan(self, input: ClosePlanInput) -> None:
        """End the elder's pairings and mark the care plan closed; a retry changes nothing."""
        elder = input.context.case_ref
        with session_scope(self._engine) as session:
            _end_pairings(session, elder, "one_to_one")
            if input.reason != "withdrawn":
                # Moved away or died: nobody should look at these curtains any more.
                _end_pairings(session, elder, "curtain")
            plan = session.get(TierCarePlan, elder)
            if plan is not None:
                plan.active = False
                plan.watched = _has_pairing(session, elder, "curtain")
                plan.volunteer_ref = None
                plan.updated_at = utcnow()
                session.add(plan)
        _log.info("tiers.closed", workflow_id=input.workflow_id, reason=input.reason)


def _has_pairing(session: Session, elder_ref: str, kind: str) -> bool:
    return _active_pairing(session, elder_ref, kind) is not None


def _active_pairing(session: Session, elder_ref: str, kind: str) -> Pairing | None:
    return session.exec(
        select(Pairing)
        .where(Pairing.elder_id == elder_ref, Pairing.kind == kind, col(Pairing.active))
        .order_by(col(Pairing.id))
    ).first()


def _ensure_pairing(
    session: Session, elder_ref: str, community: str | None, kind: str, *, prefer: str | None = None
) -> str | None:
    """The volunteer of the elder's active pairing of ``kind``, pairing one if there is none.

    A new pairing goes to ``prefer`` if given, else to the volunteer of the elder's community
    with the fewest active pairings (ties by id), so that load spreads evenly.
    """
    current = _active_pairing(session, elder_ref, kind)
    if current is not None:
        return current.volunteer_id
    chosen = prefer
    if chosen is None and community is not None:
        load = (
            select(Volunteer.id, func.count(col(Pairing.id)))
            .join(
                Pairing,
                (col(Pairing.volunteer_id) == col(Volunteer.id)) & col(Pairing.active),
                isouter=True,
            )
            .where(Volunteer.community_code == community)
            .group_by(col(Volunteer.id))
            .order_by(func.count(col(Pairing.id)), col(Volunteer.id))
        )
        first = session.exec(load).first()
        chosen = first[0] if first else None
    if chosen is None:
        return None
    session.add(Pairing(volunteer_id=chosen, elder_id=elder_ref, kind=kind, active=True))
    session.flush()
    return chosen


def _end_pairings(session: Session, elder_ref: str, kind: str) -> None:
    for pairing in session.exec(
        select(Pairing).where(
            Pairing.elder_id == elder_ref, Pairing.kind == kind, col(Pairing.active)
        )
    ).all():
        pairing.active = False
        session.add(pairing)
