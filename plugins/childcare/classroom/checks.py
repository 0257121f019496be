"""State checks of the five-thirty classroom: hand-overs the registry shows would be refused.

The service runs them before a desk hand-over is sent (``careflow event`` exits 2 naming the
field, nothing is signalled): a guardian the registry does not authorise to collect the child,
or a child not enrolled in any classroom. What only the session knows (the child is not
checked in today, was already collected, the session is closed) the process decides, and it
records every refusal (``pickup_refused``; staff are alerted to an unauthorised pickup).
"""

from __future__ import annotations

from sqlmodel import Session

from careflow.db.tables import Guardian
from careflow.errors import InputError
from plugins.childcare.classroom.models import HandoverEvent
from plugins.childcare.classroom.tables import ClassroomEnrolment

__all__ = ["check_handover"]


def check_handover(session: Session, district: str, event: HandoverEvent) -> None:
    """Refuse a hand-over to someone not authorised, or of a child not enrolled.

    Raises:
        InputError: On ``guardian_ref`` or ``child_ref``.
    """
    enrolment = session.get(ClassroomEnrolment, event.child_ref)
    if enrolment is None or not enrolment.active:
        raise InputError(
            "child_ref",
            f"{event.child_ref} is not enrolled in a five-thirty classroom "
            "· 该儿童未报名五点半课堂",
        )
    link = session.get(Guardian, (event.child_ref, event.guardian_ref))
    if link is None or not link.authorised_pickup:
        raise InputError(
            "guardian_ref",
            f"{event.guardian_ref} is not an authorised guardian of {event.child_ref}; the "
            "child is not handed over · 非授权接送人，不予交接",
        )
