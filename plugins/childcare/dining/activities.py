"""Registry reads, the suspension write and enrolment writes of small dining table supervision."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.tables import Guardian, Person, Provider
from plugins.childcare.dining.models import (
    DiningEnrolmentChange,
    ProvidersInput,
    SetDiningEnrolmentInput,
    SuspendInput,
    SuspendResult,
)
from plugins.childcare.dining.tables import DiningEnrolment, DiningSuspension

__all__ = ["DiningActivities"]


class DiningActivities:
    """Reads providers and families; writes suspensions. Registry ids only leave here."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="childcare.dining.providers")
    def providers(self, input: ProvidersInput) -> list[str]:
        """The district's small dining tables that are not suspended."""
        with Session(self._engine) as session:
            suspended = select(DiningSuspension.provider_id).where(
                col(DiningSuspension.lifted_at).is_(None)
            )
            rows = session.exec(
                select(Provider.id)
                .where(
                    Provider.kind == "dining_table",
                    Provider.district_code == input.district,
                    col(Provider.id).not_in(suspended),
                )
                .order_by(col(Provider.id))
            ).all()
        return list(rows)

    @activity.defn(name="childcare.dining.suspend")
    def suspend(self, input: SuspendInput) -> SuspendResult:
        """Suspend the table once per case and return whom to tell."""
        with Session(self._engine) as session:
            if session.get(DiningSuspension, input.workflow_id) is None:
                session.add(
                    DiningSuspension(
                        workflow_id=input.workflow_id,
                        provider_id=input.provider_ref,
                        suspended_at=input.at,
                        failed_items=input.failed_items,
                    )
                )
            children = session.exec(
                select(DiningEnrolment.child_id).where(
                    DiningEnrolment.provider_id == input.provider_ref,
                    col(DiningEnrolment.active).is_(True),
                )
            ).all()
            guardians = session.exec(
                select(Guardian.guardian_id)
                .where(col(Guardian.child_id).in_(children))
                .distinct()
                .order_by(col(Guardian.guardian_id))
            ).all()
            session.commit()
        return SuspendResult(guardians=list(guardians), children=len(children))

    @activity.defn(name="childcare.dining.set_enrolment")
    def set_enrolment(self, input: SetDiningEnrolmentInput) -> DiningEnrolmentChange:
        """Record that a child eats (or no longer eats) at a table; idempotent (sets a state)."""
        said = DiningEnrolmentChange(
            accepted=False, active=input.active, provider_ref=input.provider_ref
        )
        with Session(self._engine) as session:
            child = session.get(Person, input.child_ref)
            if child is None or child.kind != "child":
                return said.model_copy(update={"reason": "not_a_registered_child"})
            if not child.community_code.startswith(f"{input.district}."):
                return said.model_copy(update={"reason": "not_in_district"})
            provider = session.get(Provider, input.provider_ref)
            if provider is None or provider.kind != "dining_table":
                return said.model_copy(update={"reason": "not_a_dining_table"})
            if provider.district_code != input.district:
                return said.model_copy(update={"reason": "table_not_in_district"})
            row = session.get(DiningEnrolment, (input.provider_ref, input.child_ref))
            if input.active:
                suspended = session.exec(
                    select(DiningSuspension.workflow_id).where(
                        DiningSuspension.provider_id == input.provider_ref,
                        col(DiningSuspension.lifted_at).is_(None),
                    )
                ).first()
                if suspended is not None:
                    return said.model_copy(update={"reason": "table_suspended"})
            current = row is not None and row.active
            if current == input.active:
                reason = "already_enrolled" if input.active else "not_enrolled"
                return said.model_copy(update={"accepted": True, "reason": reason})
            if row is None:
                row = DiningEnrolment(provider_id=input.provider_ref, child_id=input.child_ref)
            row.active = input.active
            session.add(row)
            session.commit()
        return said.model_copy(update={"accepted": True, "changed": True})
