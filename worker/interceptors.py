"""Worker interceptors: log context for activities, and database refusals made final.

A value the database refuses (too long for its column, a broken constraint) fails the same way
on every retry. Left as it is, such an error is retried forever and the process stalls
silently; here it becomes a non-retryable ``ApplicationError`` of type ``DatabaseRefused``,
which the process runtime turns into a visible failure (stage, ``CareOverdue``, case record).
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

__all__ = ["DATABASE_REFUSED", "LogContextInterceptor", "database_refusal"]

DATABASE_REFUSED = "DatabaseRefused"
"""``ApplicationError.type`` of an activity whose write the database refused for good."""

_log = structlog.get_logger("careflow.worker")


def database_refusal(err: StatementError) -> ApplicationError:
    """The non-retryable failure for a write the database refused.

    The message holds the driver's first line only (``value too long for type character
    varying(128)``): SQLAlchemy's own text carries the statement's parameters, which may be
    personal data, and PostgreSQL's ``DETAIL`` line repeats the refused values.
    """
    orig = err.orig if err.orig is not None else err
    first_line = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return ApplicationError(
        f"数据库拒绝写入 database refused the write ({type(err).__name__}): {first_line}",
        type=DATABASE_REFUSED,
        non_retryable=True,
    )


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        # Ids and names only: never the activity's arguments, which may carry personal data.
        # A workflow id ends in its case key (careflow.privacy.pseudonyms), not a registry id;
        # only processes started before case keys still have the case ref there.
        with structlog.contextvars.bound_contextvars(
            workflow_id=info.workflow_id,
            workflow_type=info.workflow_type,
            activity=info.activity_type,
            attempt=info.attempt,
        ):
            try:
                return await self.next.execute_activity(input)
            except (DataError, IntegrityError) as err:
                # Idempotency-key conflicts are resolved inside crud (the row is read back);
                # one that reaches here is a real refusal, and a retry meets the same one.
                failure = database_refusal(err)
                _log.warning("activity.database_refused", error=failure.message)
                raise failure from None


class LogContextInterceptor(Interceptor):
    """Worker interceptor: structlog context for activities, database refusals made final."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next)
