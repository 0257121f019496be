"""Activities of pension certification: list the elders, submit through the adapter."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.tables import Person
from plugins.eldercare.pension.adapters import SocialInsuranceAdapter
from plugins.eldercare.pension.models import (
    ActivityNames,
    ListPensionersInput,
    Pensioner,
    SubmitInput,
    SubmitResult,
)

__all__ = ["PensionActivities"]


class PensionActivities:
    """Registry reads and social-insurance submissions.

    Args:
        engine: Engine of the app database.
        adapter: The social-insurance system, e.g. ``EmbeddedSocialInsurance``.
    """

    def __init__(self, engine: Engine, adapter: SocialInsuranceAdapter) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._adapter = adapter

    @activity.defn(name=ActivityNames.LIST_PENSIONERS)
    def list_pensioners(self, input: ListPensionersInput) -> list[Pensioner]:
        """Home-bound pensioners of the district (or of some of its communities), by id."""
        statement = (
            select(Person.id, Person.community_code)
            .where(
                Person.kind == "elder",
                col(Person.pensioner),
                col(Person.home_bound),
                col(Person.community_code).startswith(f"{input.district}."),
            )
            .order_by(col(Person.id))
        )
        if input.communities:
            statement = statement.where(col(Person.community_code).in_(input.communities))
        with Session(self._engine) as session:
            return [
                Pensioner(elder_ref=ref, community=community)
                for ref, community in session.exec(statement).all()
            ]

    @activity.defn(name=ActivityNames.SUBMIT)
    def submit_certification(self, input: SubmitInput) -> SubmitResult:
        """Submit the certification through the adapter (idempotent on the step key)."""
        return self._adapter.submit(input)
