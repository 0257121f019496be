"""Activities of the aids loan: the loan row and the overdue count (all the module's I/O)."""

from __future__ import annotations

import structlog
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from careflow.db import session_scope
from careflow_aids_loan.models import (
    OPEN_STATUSES,
    ActivityNames,
    CountOverdueInput,
    OpenLoanInput,
    OverdueCount,
    SettleLoanInput,
)
from careflow_aids_loan.tables import AidLoan

__all__ = ["LoanActivities"]

_log = structlog.get_logger("careflow.aids_loan")


class LoanActivities:
    """Writes and reads of ``al_loan``.

    Args:
        engine: Engine of the app database.
    """

    def __init__(self, engine: Engine) -> None:
        """Keep the dependencies."""
        self._engine = engine

    @activity.defn(name=ActivityNames.OPEN_LOAN)
    def open_loan(self, input: OpenLoanInput) -> None:
        """Write the loan row once: a retry finds the row of (workflow id, step key)."""
        with session_scope(self._engine) as session:
            if _loan(session, input.workflow_id, input.step_key) is None:
                session.add(
                    AidLoan(
                        workflow_id=input.workflow_id,
                        step_key=input.step_key,
                        district=input.context.district,
                        case_ref=input.context.case_ref,
                        aid=input.aid.value,
                        status="on_loan",
                        due_at=input.due_at,
                    )
                )
        # The workflow id holds the case key, never the case ref or the elder's id.
        _log.info("aids_loan.opened", workflow_id=input.workflow_id, aid=input.aid.value)

    @activity.defn(name=ActivityNames.SETTLE_LOAN)
    def settle_loan(self, input: SettleLoanInput) -> None:
        """Mark the loan overdue or returned; a repeat writes the same values again.

        A returned loan stays returned: an ``overdue`` retried after the return changes nothing.
        """
        with session_scope(self._engine) as session:
            row = _loan(session, input.workflow_id, input.step_key)
            if row is None:
                # A bug, not a passing fault: retrying cannot make the row appear.
                raise ApplicationError(
                    f"no loan row {input.step_key} for {input.workflow_id}",
                    type="LoanNotFound",
                    non_retryable=True,
                )
            if row.status == "returned":
                return
            row.status = input.status
            if input.status == "returned":
                row.returned_at = input.at
                row.return_condition = input.condition
            session.add(row)
        _log.info("aids_loan.settled", workflow_id=input.workflow_id, status=input.status)

    @activity.defn(name=ActivityNames.COUNT_OVERDUE)
    def count_overdue(self, input: CountOverdueInput) -> OverdueCount:
        """Loans of the district not returned and past their due date at ``as_of``."""
        statement = (
            select(func.count())
            .select_from(AidLoan)
            .where(
                AidLoan.district == input.district,
                col(AidLoan.status).in_(OPEN_STATUSES),
                col(AidLoan.due_at) < input.as_of,
            )
        )
        with Session(self._engine) as session:
            return OverdueCount(overdue=session.exec(statement).one())


def _loan(session: Session, workflow_id: str, step_key: str) -> AidLoan | None:
    return session.exec(
        select(AidLoan).where(AidLoan.workflow_id == workflow_id, AidLoan.step_key == step_key)
    ).first()
