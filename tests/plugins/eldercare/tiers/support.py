"""Helpers for tiered-care tests of any district."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.db.tables import Person
from plugins.eldercare.tiers.activities import age_on

__all__ = ["young_elders"]


def young_elders(engine: Engine, district: str, count: int, *, offset: int = 0) -> list[str]:
    """Elders of ``district`` who grade green from the registry alone, for years to come."""
    today = datetime.now(UTC).date()
    with Session(engine) as session:
        people = session.exec(
            select(Person)
            .where(
                Person.kind == "elder",
                col(Person.community_code).startswith(f"{district}."),
                Person.disability_level == 0,
                col(Person.lives_alone).is_(False),
            )
            .order_by(col(Person.id))
        ).all()
    young = [p.id for p in people if age_on(p.birth_date, today) <= 70]
    return young[offset : offset + count]
