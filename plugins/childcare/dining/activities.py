"""Registry reads and the suspension write of small dining table supervision."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.tables import Guardian, Provider
from plugins.childcare.dining.models import ProvidersInput, SuspendInput, SuspendResult
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
