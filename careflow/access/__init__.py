"""Who may do what: accounts with area-scoped grants, and the audit of every attempt.

Every channel (console, HTTP API, CLI) reaches the processes only through
:mod:`careflow.access.actions`, which checks the acting account's live grants and writes one
audit row per attempt. See ``README.md`` ("Roles and area grants").
"""

from careflow.access.audit import AUDIT_READER_ROLES, Attempt, new_request_id, record
from careflow.access.form_errors import FieldProblem, field_problems
from careflow.access.principal import Channel, Grant, Principal, TokenScope
from careflow.access.refusals import STATUS, Refused
from careflow.access.scope import CITY, covers

__all__ = [
    "AUDIT_READER_ROLES",
    "CITY",
    "STATUS",
    "Attempt",
    "Channel",
    "FieldProblem",
    "Grant",
    "Principal",
    "Refused",
    "TokenScope",
    "covers",
    "field_problems",
    "new_request_id",
    "record",
]
