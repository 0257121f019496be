"""What the app database must show before an ``aids.returned`` event is sent on."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from careflow.errors import InputError
from careflow_aids_loan.models import OPEN_STATUSES, AidReturnedEvent
from careflow_aids_loan.tables import AidLoan

__all__ = ["check_returned"]


def check_returned(session: Session, district: str, event: Any) -> None:
    """Refuse a return for a case with no aid on loan in the district (naming ``case_ref``).

    The loan process would ignore it, so the sender learns it at once instead.
    """
    assert isinstance(event, AidReturnedEvent)
    on_loan = session.exec(
        select(AidLoan.id).where(
            AidLoan.district == district,
            AidLoan.case_ref == event.case_ref,
            col(AidLoan.status).in_(OPEN_STATUSES),
        )
    ).first()
    if on_loan is None:
        raise InputError("case_ref", "该案件没有在借的辅具 no aid is on loan for this case")
