"""The plugin object: everything this module declares to careflow, checked when it loads.

Imported only when careflow loads the plugin (its entry point ``careflow_aids_loan:plugin``),
never inside a workflow's sandbox: it brings in the activities, the table and the route's
check, which use the database.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from careflow.contract import (
    ActivitySet,
    CarePlugin,
    EventRoute,
    HumanTaskStep,
    ProcessSpec,
    RoleSpec,
)
from careflow.plan import EscalationLevel
from careflow_aids_loan.activities import LoanActivities
from careflow_aids_loan.checks import check_returned
from careflow_aids_loan.forms import AssessmentForm
from careflow_aids_loan.models import (
    ASSESSMENT_POINT,
    ASSESSMENT_STEP,
    LOAN_POINTS,
    LOAN_PROCESS,
    OVERDUE_REPORT_PROCESS,
    REHAB_OFFICER,
    RETURNED_EVENT,
    RETURNED_SIGNAL,
    AidReturnedEvent,
    LoanParams,
    LoanRequest,
    OverdueReportParams,
    OverdueReportRequest,
)
from careflow_aids_loan.schedules import OVERDUE_SWEEP
from careflow_aids_loan.workflows import AidLoanWorkflow, OverdueReportWorkflow

__all__ = ["ASSESSMENT", "LOAN", "OVERDUE_REPORT", "REHAB_OFFICER_ROLE", "RETURNED", "plugin"]

VERSION = "1.0.0"
"""Kept equal to the distribution's version in ``pyproject.toml`` (a test checks)."""

REHAB_OFFICER_ROLE = RoleSpec(
    name=REHAB_OFFICER, title_zh="康复专员", title_en="Rehabilitation officer"
)

LOAN = ProcessSpec(
    id=LOAN_PROCESS,
    module="aids_loan",
    title_zh="辅具租借",
    title_en="Disability aids loan",
    workflow=AidLoanWorkflow,
    request_model=LoanRequest,
    params_model=LoanParams,
    extension_points=LOAN_POINTS,
    start_roles=(REHAB_OFFICER, "community_staff", "district_admin"),
)

OVERDUE_REPORT = ProcessSpec(
    id=OVERDUE_REPORT_PROCESS,
    module="aids_loan",
    title_zh="逾期辅具日报",
    title_en="Daily report of overdue aids",
    workflow=OverdueReportWorkflow,
    request_model=OverdueReportRequest,
    params_model=OverdueReportParams,
    start_roles=(REHAB_OFFICER, "district_admin"),
)

ASSESSMENT = HumanTaskStep(
    key=ASSESSMENT_STEP,
    process=LOAN_PROCESS,
    point=ASSESSMENT_POINT,
    summary_zh="康复专员评估辅具需求",
    role=REHAB_OFFICER,
    title_zh="辅具租借评估",
    title_en="Aid loan assessment",
    form=AssessmentForm,
    due=timedelta(days=3),
    escalation=(EscalationLevel(role="district_admin", due=timedelta(days=2)),),
)
"""The assessment is a plan step, so ``careflow plan aids_loan.loan`` shows it and a
district may add its own steps beside it at the same point."""

RETURNED = EventRoute(
    event_type=RETURNED_EVENT,
    model=AidReturnedEvent,
    process=LOAN_PROCESS,
    signal=RETURNED_SIGNAL,
    check=check_returned,
    sender_roles=(REHAB_OFFICER, "community_staff"),
)

plugin = CarePlugin(
    name="aids_loan",
    version=VERSION,
    title_zh="辅具租借",
    title_en="Disability aids loan",
    order=10,  # a service module: after the engine (0), before districts (50)
    roles=(REHAB_OFFICER_ROLE,),
    processes=(LOAN, OVERDUE_REPORT),
    steps=(ASSESSMENT,),
    routes=(RETURNED,),
    schedules=(OVERDUE_SWEEP,),
    activities=(ActivitySet(cls=LoanActivities, build=lambda deps: LoanActivities(deps.engine)),),
    migrations=Path(__file__).resolve().parent / "migrations",
    # Pure at import (its activities import the database code, but open nothing), so the
    # sandbox shares the package instead of importing it again for every loan.
    sandbox_passthrough=("careflow_aids_loan",),
)
