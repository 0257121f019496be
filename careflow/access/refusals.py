"""Why an attempt was refused: a code for the audit row, a status for HTTP, a Chinese message."""

from __future__ import annotations

from typing import Any

from careflow.errors import CareflowError

__all__ = ["STATUS", "Refused"]

STATUS: dict[str, int] = {
    "not_logged_in": 401,
    "bad_password": 401,
    "locked": 429,
    "bad_token": 401,
    "inactive": 403,
    "wrong_role": 403,
    "out_of_scope": 403,
    "read_only": 403,
    "claimed_by_other": 409,
    "unknown": 404,
    "closed_task": 409,
    "already_started": 409,
    "bad_form": 422,
    "bad_input": 422,
    "csrf": 403,
    "temporal_unavailable": 503,
    "database_unavailable": 503,
}
"""HTTP status of each refusal reason (the API's problem+json uses it)."""


class Refused(CareflowError):
    """An attempt careflow will not carry out; nothing was started or written but its audit row.

    Args:
        reason: A key of :data:`STATUS` (``wrong_role``, ``out_of_scope``, ``closed_task`` …).
        message: One line for the person, Chinese first, English beside it.
        field: The input field at fault, if one (``data.quantity``, ``role``, ``task_id``).
        problems: Field-level problems of a form or request
            (:class:`~careflow.access.form_errors.FieldProblem`).
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        field: str | None = None,
        problems: list[Any] | None = None,
    ) -> None:
        if reason not in STATUS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field
        self.problems = list(problems or [])

    @property
    def status(self) -> int:
        """The HTTP status of this refusal."""
        return STATUS[self.reason]

    @property
    def unavailable(self) -> bool:
        """The environment failed (Temporal or the database), not the request."""
        return self.status == 503
