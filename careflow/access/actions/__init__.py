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
from careflow.access.actions.events import send_event
from careflow.access.actions.processes import find_cases, process_view, start_process, startable
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

__all__ = [
    "ACCEPT_WITHIN",
    "READ_ALL_ROLES",
    "ClientSource",
    "Completion",
    "InboxFilter",
    "TaskDetail",
    "claim_task",
    "complete_task",
    "find_cases",
    "inbox",
    "login",
    "logout",
    "process_view",
    "read_audit",
    "send_event",
    "start_process",
    "startable",
    "view_task",
]
