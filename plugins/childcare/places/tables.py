"""Tables of childcare places 托育: seats per provider and the applications that hold them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime

__all__ = ["PlacesApplication", "PlacesCapacity"]


class PlacesCapacity(SQLModel, table=True):
    """Seats of a childcare provider; ``taken`` counts offered and enrolled places.

    The check constraint is the last line against overbooking: a seat is only ever taken by a
    conditional ``UPDATE … WHERE taken < capacity``, and the database refuses anything else.
    """

    __tablename__ = "cc_places_capacity"
    __table_args__ = (
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
    )

    provider_id: str = Field(foreign_key="provider.id", primary_key=True)
    capacity: int
    taken: int = 0


class PlacesApplication(SQLModel, table=True):
    """A family's application for a place, keyed by its process; the waiting list is its order."""

    __tablename__ = "cc_places_application"

    workflow_id: str = Field(primary_key=True, max_length=255)
    child_id: str = Field(foreign_key="person.id", index=True)
    district: str = Field(max_length=64, index=True)
    status: str = Field(
        max_length=16, description="waiting, offered, enrolled, declined, lapsed, withdrawn"
    )
    provider_id: str | None = Field(default=None, foreign_key="provider.id")
    queued_at: datetime = Field(sa_type=UTCDateTime, description="Place on the waiting list.")
    seat_passed_to: str | None = Field(default=None, max_length=255)
