"""Eligibility, atomic seat reservation and the waiting list of childcare places.

Seats are never overbooked: a seat is taken only by ``UPDATE … SET taken = taken + 1 WHERE
taken < capacity`` (one statement, atomic on SQLite and PostgreSQL) and the table's check
constraint refuses any row beyond capacity. A released seat passes to the next waiting
family inside the same transaction, so no newcomer can take it in between.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.tables import Person, Provider
from plugins.childcare.places.models import (
    ApplicationRef,
    Eligibility,
    EligibilityInput,
    MatchInput,
    MatchResult,
    ReleaseInput,
    ReleaseResult,
)
from plugins.childcare.places.tables import PlacesApplication, PlacesCapacity

__all__ = ["PlacesActivities", "area_distance", "operator_kind"]

ACTIVE = ("waiting", "offered", "enrolled")


def operator_kind(provider: Provider) -> str:
    """The registry marks the district's demonstration centre by having no community."""
    return "public_centre" if provider.community_code is None else "community"


def area_distance(home: str, provider: Provider) -> int:
    """Distance in steps of the area tree: same community 0, same street 1, district 2."""
    if provider.community_code is None:
        return 2
    if provider.community_code == home:
        return 0
    same_street = provider.community_code.split(".")[:2] == home.split(".")[:2]
    return 1 if same_street else 2


def take_seat(session: Session, provider_id: str) -> bool:
    """Take one seat if one is free; atomic, so two families never get the last one."""
    result = session.execute(
        update(PlacesCapacity)
        .where(
            col(PlacesCapacity.provider_id) == provider_id,
            col(PlacesCapacity.taken) < col(PlacesCapacity.capacity),
        )
        .values(taken=col(PlacesCapacity.taken) + 1)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


class PlacesActivities:
    """Registry reads and the seat/waiting-list writes; registry ids only leave here."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="childcare.places.check_eligibility")
    def check_eligibility(self, input: EligibilityInput) -> Eligibility:
        """A fresh application number; a child of the district, under the age limit, with no
        other open application."""
        with Session(self._engine) as session:
            if session.get(PlacesApplication, input.workflow_id) is not None:
                # Only matching, after this check, writes the row: this is a new run under an
                # earlier application's id (an event reusing its application number).
                return Eligibility(eligible=False, reason="application_number_used")
            child = session.get(Person, input.child_ref)
            if child is None or child.kind != "child":
                return Eligibility(eligible=False, reason="not_a_registered_child")
            if not child.community_code.startswith(f"{input.district}."):
                return Eligibility(eligible=False, reason="not_in_district")
            on = input.on.date()
            age = (
                on.year
                - child.birth_date.year
                - ((on.month, on.day) < (child.birth_date.month, child.birth_date.day))
            )
            if age >= input.max_age_years:
                return Eligibility(eligible=False, reason="too_old")
            other = session.exec(
                select(PlacesApplication.workflow_id).where(
                    PlacesApplication.child_id == input.child_ref,
                    col(PlacesApplication.status).in_(ACTIVE),
                    PlacesApplication.workflow_id != input.workflow_id,
                )
            ).first()
            if other is not None:
                return Eligibility(eligible=False, reason="already_applied")
            return Eligibility(eligible=True, community=child.community_code)

    def _ensure_capacity(self, session: Session, providers: list[Provider]) -> None:
        for provider in providers:
            if session.get(PlacesCapacity, provider.id) is not None:
                continue
            try:
                with session.begin_nested():
                    session.add(
                        PlacesCapacity(provider_id=provider.id, capacity=provider.capacity or 0)
                    )
            except IntegrityError:
                pass  # another application created it first

    @activity.defn(name="childcare.places.match")
    def match(self, input: MatchInput) -> MatchResult:
        """Hold a seat at the best provider with one free, else join the waiting list."""
        with Session(self._engine) as session:
            existing = session.get(PlacesApplication, input.workflow_id)
            if existing is not None and existing.status == "offered":
                return MatchResult(provider_ref=existing.provider_id)
            providers = list(
                session.exec(
                    select(Provider).where(
                        Provider.kind == "childcare", Provider.district_code == input.district
                    )
                ).all()
            )
            self._ensure_capacity(session, providers)
            kinds = input.preferred_kinds

            def rank(p: Provider) -> tuple[int, int, int, str]:
                kind = operator_kind(p)
                return (
                    0 if p.id in input.preferred_providers else 1,
                    kinds.index(kind) if kind in kinds else len(kinds),
                    area_distance(input.community, p),
                    p.id,
                )

            chosen = next(
                (p.id for p in sorted(providers, key=rank) if take_seat(session, p.id)), None
            )
            row = existing or PlacesApplication(
                workflow_id=input.workflow_id,
                child_id=input.child_ref,
                district=input.district,
                status="waiting",
                queued_at=input.at,
            )
            row.status = "offered" if chosen else "waiting"
            row.provider_id = chosen
            row.seat_passed_to = None
            session.add(row)
            session.flush()
            position = None
            if chosen is None:
                position = len(self._waiting(session, input.district))
            session.commit()
        return MatchResult(provider_ref=chosen, waiting_position=position)

    @staticmethod
    def _waiting(session: Session, district: str) -> list[PlacesApplication]:
        return list(
            session.exec(
                select(PlacesApplication)
                .where(
                    PlacesApplication.district == district, PlacesApplication.status == "waiting"
                )
                .order_by(col(PlacesApplication.queued_at), col(PlacesApplication.workflow_id))
            ).all()
        )

    @activity.defn(name="childcare.places.release")
    def release(self, input: ReleaseInput) -> ReleaseResult:
        """Give up an offered seat: it goes to the next waiting family, or back to the pool."""
        with Session(self._engine) as session:
            row = session.get(PlacesApplication, input.workflow_id, with_for_update=True)
            if row is None:
                return ReleaseResult()
            if row.status != "offered":
                # Already released (a retry): answer what the first attempt did.
                passed = row.seat_passed_to
                nxt = session.get(PlacesApplication, passed) if passed else None
                return ReleaseResult(
                    passed_to=passed, provider_ref=nxt.provider_id if nxt else None
                )
            seat = row.provider_id
            waiting = [
                w for w in self._waiting(session, row.district) if w.workflow_id != row.workflow_id
            ]
            result = ReleaseResult()
            if seat is not None and waiting:
                nxt = waiting[0]
                nxt.status, nxt.provider_id, nxt.seat_passed_to = "offered", seat, None
                session.add(nxt)
                row.seat_passed_to = nxt.workflow_id
                result = ReleaseResult(passed_to=nxt.workflow_id, provider_ref=seat)
            elif seat is not None:
                session.execute(
                    update(PlacesCapacity)
                    .where(col(PlacesCapacity.provider_id) == seat)
                    .values(taken=col(PlacesCapacity.taken) - 1)
                )
            row.status = input.status
            row.provider_id = None
            if input.status == "waiting":
                row.queued_at = input.at  # back of the queue
            session.add(row)
            session.commit()
        return result

    @activity.defn(name="childcare.places.enrol")
    def enrol(self, input: ApplicationRef) -> None:
        """Turn the held seat into an enrolment (idempotent)."""
        with Session(self._engine) as session:
            row = session.get(PlacesApplication, input.workflow_id, with_for_update=True)
            if row is not None and row.status == "offered":
                row.status = "enrolled"
                session.add(row)
                session.commit()

    @activity.defn(name="childcare.places.lapse")
    def lapse(self, input: ApplicationRef) -> ReleaseResult:
        """The waiting list expired; a seat handed over meanwhile passes on."""
        with Session(self._engine) as session:
            row = session.get(PlacesApplication, input.workflow_id)
            status = row.status if row else None
        if status == "offered":
            return self.release(
                ReleaseInput(workflow_id=input.workflow_id, status="lapsed", at=input.at)
            )
        with Session(self._engine) as session:
            row = session.get(PlacesApplication, input.workflow_id, with_for_update=True)
            if row is not None and row.status == "waiting":
                row.status = "lapsed"
                session.add(row)
                session.commit()
        return ReleaseResult()

    @activity.defn(name="childcare.places.withdraw")
    def withdraw(self, input: ApplicationRef) -> ReleaseResult:
        """Consent was withdrawn: a held seat passes on, a waiting place in the queue is given
        up (status ``withdrawn``); an application not yet queued has no row. Idempotent."""
        with Session(self._engine) as session:
            row = session.get(PlacesApplication, input.workflow_id)
            status = row.status if row else None
        if status == "offered":
            return self.release(
                ReleaseInput(workflow_id=input.workflow_id, status="withdrawn", at=input.at)
            )
        with Session(self._engine) as session:
            row = session.get(PlacesApplication, input.workflow_id, with_for_update=True)
            if row is not None and row.status == "waiting":
                row.status = "withdrawn"
                session.add(row)
                session.commit()
        return ReleaseResult()
