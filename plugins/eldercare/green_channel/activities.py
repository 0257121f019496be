"""Activities of the green channel: the registry check and the hospital bookings."""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from careflow.db.engine import session_scope
from careflow.db.tables import Person, Provider
from careflow.db.types import utcnow
from plugins.eldercare.family import family_refs
from plugins.eldercare.green_channel.adapters import EmbeddedHospitalAdapter, HospitalAdapter
from plugins.eldercare.green_channel.models import (
    BookingInput,
    BookingReceipt,
    BookingUpdateInput,
    ElderCheck,
    ElderCheckInput,
    GreenChannelActivity,
)
from plugins.eldercare.green_channel.tables import GreenChannelBooking

__all__ = ["GreenChannelActivities"]

_log = structlog.get_logger("careflow.eldercare.green_channel")


class GreenChannelActivities:
    """Registry reads and hospital bookings for the green channel.

    Args:
        engine: Engine of the app database.
        hospitals: The hospital channel; the embedded adapter by default.
    """

    def __init__(self, engine: Engine, hospitals: HospitalAdapter | None = None) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._hospitals = hospitals or EmbeddedHospitalAdapter(engine)

    @activity.defn(name=GreenChannelActivity.CHECK_ELDER)
    def check_elder(self, input: ElderCheckInput) -> ElderCheck:
        """Whether the registry shows the elder as disabled, with hospitals and family refs."""
        with Session(self._engine) as session:
            person = session.get(Person, input.elder_ref)
            if person is None or person.kind != "elder":
                return ElderCheck(eligible=False, reason="not_an_elder_in_registry")
            if person.disability_level < input.min_disability_level:
                return ElderCheck(
                    eligible=False,
                    reason="no_disability_level",
                    disability_level=person.disability_level,
                    community=person.community_code,
                )
            district = person.community_code.split(".", 1)[0]
            hospitals = session.exec(
                select(Provider)
                .where(Provider.kind == "hospital", Provider.district_code == district)
                .order_by(col(Provider.partner).desc(), col(Provider.id))
            ).all()
            partner = next((h.id for h in hospitals if h.partner), None)
            fallback = next((h.id for h in hospitals if h.id != partner), None)
            family = family_refs(session, person.id)
        # Log lines stay readable: the worker binds the workflow id (a case key); never the
        # elder's registry id here.
        _log.info("green_channel.elder_checked", disability_level=person.disability_level)
        return ElderCheck(
            eligible=True,
            disability_level=person.disability_level,
            community=person.community_code,
            partner_hospital=partner,
            fallback_hospital=fallback,
            family_refs=family,
        )

    @activity.defn(name=GreenChannelActivity.BOOK_HOSPITAL)
    def book_hospital(self, input: BookingInput) -> BookingReceipt:
        """Send the booking request through the hospital adapter."""
        return self._hospitals.request_booking(input)

    @activity.defn(name=GreenChannelActivity.UPDATE_BOOKING)
    def update_booking(self, input: BookingUpdateInput) -> None:
        """Record a hospital's answer, the arrival or the discharge on the booking row.

        Raises:
            ApplicationError: ``UnknownBooking`` (non-retryable) when no row has the reference.
        """
        with session_scope(self._engine) as session:
            row = session.get(GreenChannelBooking, input.booking_ref, with_for_update=True)
            if row is None:
                raise ApplicationError(
                    f"unknown booking {input.booking_ref!r}",
                    type="UnknownBooking",
                    non_retryable=True,
                )
            row.status = input.status
            row.reason_code = input.reason_code or row.reason_code
            row.updated_at = utcnow()
            session.add(row)
        _log.info("hospital.booking_updated", booking_ref=input.booking_ref, status=input.status)
