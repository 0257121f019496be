"""Bind workflow and activity context to every structlog line an activity writes."""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

__all__ = ["LogContextInterceptor"]


class _ActivityLogContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        # Ids and names only: never the activity's arguments, which may carry personal data.
        with structlog.contextvars.bound_contextvars(
            workflow_id=info.workflow_id,
            workflow_type=info.workflow_type,
            activity=info.activity_type,
            attempt=info.attempt,
        ):
            return await self.next.execute_activity(input)


class LogContextInterceptor(Interceptor):
    """Worker interceptor adding activity context to structlog's contextvars."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityLogContext(next)
