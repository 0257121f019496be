"""How a booking reaches a hospital's emergency department.

``HospitalAdapter`` is the interface a hospital integration implements. The embedded adapter
writes the booking row that the hospital's staff (or the demo) answer through
``careflow event eldercare.hospital_response`` and logs one line with opaque references.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy import Engine
from sqlmodel import select

from careflow.db.engine import session_scope
from careflow.db.types import utcnow
from plugins.eldercare.green_channel.models import BookingInput, BookingReceipt
from plugins.eldercare.green_channel.tables import GreenChannelBooking

__all__ = ["EmbeddedHospitalAdapter", "HospitalAdapter", "booking_ref_for"]


def booking_ref_for(workflow_id: str, step_key: str) -> str:
    """A stable booking reference for one booking step, so a retried request reuses it."""
    digest = hashlib.sha256(f"{workflow_id}|{step_key}".encode()).hexdigest()
    return f"GB{digest[:12].upper()}"


class HospitalAdapter(Protocol):
    """A channel to hospitals' emergency departments."""

    name: str

    def request_booking(self, request: BookingInput) -> BookingReceipt:
        """Send a booking request; idempotent on (workflow id, step key)."""
        ...


class EmbeddedHospitalAdapter:
    """The embedded default: a booking row in the app database and a log line.

    Args:
        engine: Engine of the app database.
    """

    name = "embedded"

    def __init__(self, engine: Engine) -> None:
        """Keep the engine and bind the logger."""
        self._engine = engine
        self._log = structlog.get_logger("careflow.eldercare.hospital")

    def request_booking(
        self, request: BookingInput, *, now: datetime | None = None
    ) -> BookingReceipt:
        """Write the booking row once per (workflow id, step key) and log it."""
        ref = booking_ref_for(request.workflow_id, request.step_key)
        with session_scope(self._engine) as session:
            existing = session.exec(
                select(GreenChannelBooking).where(GreenChannelBooking.booking_ref == ref)
            ).first()
            if existing is None:
                stamp = now or utcnow()
                session.add(
                    GreenChannelBooking(
                        booking_ref=ref,
                        workflow_id=request.workflow_id,
                        step_key=request.step_key,
                        district=request.district,
                        case_ref=request.case_ref,
                        hospital_ref=request.hospital_ref,
                        elder_ref=request.elder_ref,
                        triage_level=request.triage_level.value,
                        adapter=self.name,
                        requested_at=stamp,
                        updated_at=stamp,
                    )
                )
        self._log.info(
            "hospital.booking_requested" if existing is None else "hospital.booking_repeated",
            booking_ref=ref,
            hospital_ref=request.hospital_ref,
            workflow_id=request.workflow_id,
            triage_level=request.triage_level.value,
        )
        return BookingReceipt(booking_ref=ref, hospital_ref=request.hospital_ref, adapter=self.name)
