"""State checks of the green channel: what the app database shows the process would refuse.

The service runs them before a start or a hospital event is sent (``careflow start`` and
``careflow event`` exit 2 naming the field, and nothing is started or signalled):

- a start for an elder the registry shows with no disability level: the process would open
  and at once reject it (it still does, and records it, for channels other processes start);
- a hospital event whose ``booking_ref`` is not a booking of this case, or a response to a
  booking already answered: the process would ignore it.
"""

from __future__ import annotations

from sqlmodel import Session

from careflow.db.tables import Person
from careflow.errors import InputError
from careflow.privacy.pseudonyms import case_workflow_ids
from plugins.eldercare.green_channel.models import (
    GREEN_CHANNEL_PROCESS,
    GreenChannelRequest,
    HospitalArrivalEvent,
    HospitalDischargeEvent,
    HospitalResponseEvent,
)
from plugins.eldercare.green_channel.tables import GreenChannelBooking

__all__ = ["check_booking_event", "check_start"]

_MIN_DISABILITY_LEVEL = 1
"""The lowest level any district may set (``GreenChannelParams.min_disability_level``)."""


def check_start(session: Session, district: str, request: GreenChannelRequest) -> None:
    """Refuse a green channel for an elder the registry shows with no disability level.

    A district that sets a higher ``min_disability_level`` has the rest decided (and recorded)
    by the process.

    Raises:
        InputError: On ``elder_ref``.
    """
    person = session.get(Person, request.elder_ref)
    if person is not None and person.disability_level < _MIN_DISABILITY_LEVEL:
        raise InputError(
            "elder_ref",
            f"{request.elder_ref} has no disability level in the registry; the green channel "
            "is for disabled elders · 登记信息中该老人无失能等级，急诊绿色通道仅面向失能老人",
        )


def check_booking_event(
    session: Session,
    district: str,
    event: HospitalResponseEvent | HospitalArrivalEvent | HospitalDischargeEvent,
) -> None:
    """Refuse a hospital event that names no booking of its case (or an answered one).

    Raises:
        InputError: On ``booking_ref``.
    """
    row = session.get(GreenChannelBooking, event.booking_ref)
    # The case's keyed workflow id, or the one a green channel started before case keys has.
    workflow_ids = case_workflow_ids(GREEN_CHANNEL_PROCESS, district, event.case_ref)
    if row is None or row.workflow_id not in workflow_ids:
        raise InputError(
            "booking_ref",
            f"{event.booking_ref!r} is not a booking of green channel case {event.case_ref!r} "
            "(see careflow status) · 该预约号不属于此绿色通道案件",
        )
    if isinstance(event, HospitalResponseEvent) and row.status != "requested":
        raise InputError(
            "booking_ref",
            f"booking {event.booking_ref!r} is already {row.status}; the answer is not used "
            "· 该预约已有答复",
        )
