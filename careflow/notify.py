"""Delivery of notifications from the outbox: the adapter protocol and the embedded default."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import structlog

from careflow.db.tables import Notification

__all__ = ["NotificationAdapter", "OutboxLogAdapter"]


@runtime_checkable
class NotificationAdapter(Protocol):
    """Hands one outbox row to a delivery channel (SMS gateway, app push, WeChat, a log).

    ``send`` raises when delivery fails, so the activity that calls it is retried; it is called
    at most once more after a failure and never again once the row is marked sent.
    """

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``."""
        ...


class OutboxLogAdapter:
    """The embedded default: logs that a notification went out; the outbox row is the record.

    The log line carries only opaque references (id, template, recipient ref, district), never
    the body, its parameters or any personal data.
    """

    name: str = "outbox-log"

    def __init__(self) -> None:
        """Bind the logger."""
        self._log = structlog.get_logger("careflow.notify")

    def send(self, notification: Notification) -> None:
        """Write the ``notification.sent`` log line for ``notification``."""
        self._log.info(
            "notification.sent",
            notification_id=notification.id,
            workflow_id=notification.workflow_id,
            template=notification.template,
            recipient_ref=notification.recipient_ref,
            district=notification.district,
            adapter=self.name,
        )
