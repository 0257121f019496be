"""Activity that puts notifications in the outbox and hands them to the delivery adapter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine
from temporalio import activity

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.types import utcnow
from careflow.models import ActivityName, NotifyInput
from careflow.notify import NotificationAdapter, deliver

__all__ = ["NotificationActivities"]

_log = structlog.get_logger("careflow.activities.notifications")


class NotificationActivities:
    """Outbox writes and delivery: each (workflow id, step key) is sent at most once when sent.

    The row is committed before the adapter is called and marked sent after, so a crash between
    the two may deliver twice (at-least-once); a retry after the row is marked never does.

    Args:
        engine: Engine of the app database.
        adapter: Delivery channel, e.g. ``careflow.notify.OutboxLogAdapter``.
        clock: Source of the current time (UTC); ``datetime.now(UTC)`` by default.
    """

    def __init__(
        self,
        engine: Engine,
        adapter: NotificationAdapter,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._adapter = adapter
        self._clock = clock or utcnow

    @activity.defn(name=ActivityName.NOTIFY)
    def notify(self, input: NotifyInput) -> None:
        """Insert the outbox row once and deliver it unless it was already sent.

        Raises:
            Exception: Whatever the adapter raises; the row is marked failed and the activity
                is retried by Temporal.
        """
        context = input.context
        with session_scope(self._engine) as session:
            row, _created = crud.insert_notification(
                session,
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                district=context.district,
                community=context.community,
                recipient_ref=input.recipient_ref,
                template=input.template,
                body_zh=input.body_zh,
                params=input.params,
                created_at=self._clock(),
            )
        if not deliver(self._engine, self._adapter, row, sent_at=self._clock()):
            _log.info(
                "notification.already_sent", notification_id=row.id, workflow_id=row.workflow_id
            )

    def all(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for the worker."""
        return [self.notify]
