"""What a person or partner system may do, checked and audited the same way on every channel.

Console, HTTP API and CLI call these functions and nothing below them. Each one:

1. takes an :class:`~careflow.access.audit.Attempt` (who, through which channel, request id);
2. refuses, with a :class:`~careflow.access.refusals.Refused` naming the rule or field, what the
   account's live grants do not cover (the account must exist and be active; roles are never
   taken from the caller);
3. writes exactly one audit row for the attempt, accepted or refused, before it returns;
4. for accepted actions, hands the request id to the Update, Signal or start memo, so the
   Temporal history joins to the audit row.

The workflow's own ``complete_task`` validator stays the last word on a completion.
"""

from careflow.access.actions.attempts import ACCEPT_WITHIN, ClientSource
from careflow.access.actions.audit import read_audit
from careflow.access.actions.consent import (
    ConsentView,
    Withdrawal,
    list_consents,
    record_consent,
    withdraw_consent,
)
from careflow.access.actions.events import send_event
from careflow.access.actions.processes import (
    find_cases,
    lookup_case,
    process_view,
    start_process,
    startable,
)
from careflow.access.actions.reports import (
    REPORT_FORMATS,
    REPORT_ROLES,
    district_report,
    report_districts,
)
from careflow.access.actions.sessions import login, logout
from careflow.access.actions.tasks import (
    READ_ALL_ROLES,
    Completion,
    InboxFilter,
    TaskDetail,
    claim_task,
    complete_task,
    inbox,
    view_task,
)
from careflow.access.actions.unmask import (
    UNMASK_ROLES,
    RecordView,
    subject_of_process,
    unmask_process,
    unmask_task,
)

__all__ = [
    "ACCEPT_WITHIN",
    "READ_ALL_ROLES",
    "REPORT_FORMATS",
    "REPORT_ROLES",
    "UNMASK_ROLES",
    "ClientSource",
    "Completion",
    "ConsentView",
    "InboxFilter",
    "RecordView",
    "TaskDetail",
    "Withdrawal",
    "claim_task",
    "complete_task",
    "district_report",
    "find_cases",
    "inbox",
    "list_consents",
    "login",
    "logout",
    "lookup_case",
    "process_view",
    "read_audit",
    "record_consent",
    "report_districts",
    "send_event",
    "start_process",
    "startable",
    "subject_of_process",
    "unmask_process",
    "unmask_task",
    "view_task",
    "withdraw_consent",
]
