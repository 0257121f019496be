"""Disability aids loan 辅具租借: a whole careflow service module, distributed on its own.

An elder asks to borrow an aid (wheelchair 轮椅, walker 助行器, commode 坐便椅, hospital bed
护理床); the rehabilitation officer 康复专员, a role this module declares, assesses the
request; the aid goes out through the engine's shared Delivery; the elder is reminded before
the due date; the return comes in as the ``aids.returned`` event. Each loan is a row of the
module's own table ``al_loan`` (its own alembic branch ``aids_loan``); a daily schedule counts
the overdue ones.

Public contract (``__all__``): the process ids, the role, the event and its signal, the
assessment point and step, the request, params, event and result models, and ``plugin``.

``plugin`` is loaded on first use (PEP 562): the worker's sandbox imports this package afresh
for every workflow run (it passes through only careflow's own packages), and importing the
plugin object here would bring the activities' database libraries into it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careflow_aids_loan.forms import AssessmentForm
from careflow_aids_loan.models import (
    AID_TITLES,
    ASSESSMENT_POINT,
    ASSESSMENT_STEP,
    LOAN_POINTS,
    LOAN_PROCESS,
    OVERDUE_REPORT_PROCESS,
    OVERDUE_SCHEDULE,
    REHAB_OFFICER,
    RETURNED_EVENT,
    RETURNED_SIGNAL,
    AidKind,
    AidReturnedEvent,
    LoanParams,
    LoanRequest,
    LoanResult,
    OverdueReportResult,
)

if TYPE_CHECKING:
    from careflow_aids_loan.registration import plugin

__all__ = [
    "AID_TITLES",
    "ASSESSMENT_POINT",
    "ASSESSMENT_STEP",
    "LOAN_POINTS",
    "LOAN_PROCESS",
    "OVERDUE_REPORT_PROCESS",
    "OVERDUE_SCHEDULE",
    "REHAB_OFFICER",
    "RETURNED_EVENT",
    "RETURNED_SIGNAL",
    "AidKind",
    "AidReturnedEvent",
    "AssessmentForm",
    "LoanParams",
    "LoanRequest",
    "LoanResult",
    "OverdueReportResult",
    "plugin",
]


def __getattr__(name: str) -> Any:
    """``plugin``, imported from :mod:`careflow_aids_loan.registration` when first asked for."""
    if name == "plugin":
        from careflow_aids_loan.registration import plugin

        return plugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
