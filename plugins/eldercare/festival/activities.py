"""Activities of festival care: list the solitary and very old elders."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.tables import Person
from plugins.eldercare.festival.models import ActivityNames, ListRecipientsInput, Recipient

__all__ = ["FestivalActivities"]


class FestivalActivities:
    """Registry reads of festival care.

    Args:
        engine: Engine of the app database.
    """

    def __init__(self, engine: Engine) -> None:
        """Keep the dependencies."""
        self._engine = engine

    @activity.defn(name=ActivityNames.LIST_RECIPIENTS)
    def list_recipients(self, input: ListRecipientsInput) -> list[Recipient]:
        """Elders of the district who live alone or are at least ``min_age``, by id."""
        day = input.as_of
        # Born on or before this day → at least min_age on as_of (29 February → 28th).
        try:
            born_by = day.replace(year=day.year - input.min_age)
        except ValueError:
            born_by = day.replace(year=day.year - input.min_age, day=28)
        old = col(Person.birth_date) <= born_by
        who = (old | col(Person.lives_alone)) if input.include_lives_alone else old
        statement = (
            select(Person.id, Person.community_code)
            .where(
                Person.kind == "elder",
                col(Person.community_code).startswith(f"{input.district}."),
                who,
            )
            .order_by(col(Person.id))
        )
        if input.communities:
            statement = statement.where(col(Person.community_code).in_(input.communities))
        with Session(self._engine) as session:
            return [
                Recipient(elder_ref=ref, community=community)
                for ref, community in session.exec(statement).all()
            ]
