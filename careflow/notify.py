"""Delivery of notifications from the outbox: the adapter protocol and the embedded default."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

import structlog
from sqlalchemy.engine import Engine

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.tables import Notification
from careflow.privacy.pseudonyms import Pseudonyms, default_pseudonyms

__all__ = ["NotificationAdapter", "OutboxLogAdapter", "deliver"]


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

    The log line carries only opaque references (id, template, district, and the recipient as
    a role or as its keyed pseudonym: a registry id is personal data), never the body, its
    parameters or any personal data.
    """

    name: str = "outbox-log"

    def __init__(self) -> None:
        """Bind the logger."""
        self._log = structlog.get_logger("careflow.notify")
        # Loaded on the first person recipient and kept: ``default_pseudonyms()`` reads the
        # settings from the environment on every call (~3 ms), which dominated a curtain
        # round's notices.
        self._pseudonyms: Pseudonyms | None = None

    def send(self, notification: Notification) -> None:
        """Write the ``notification.sent`` log line for ``notification``."""
        self._log.info(
            "notification.sent",
            notification_id=notification.id,
            workflow_id=notification.workflow_id,
            template=notification.template,
            recipient=self._loggable(notification.recipient_ref),
            district=notification.district,
            adapter=self.name,
        )

    def _loggable(self, recipient_ref: str) -> str:
        """A role recipient as it is; a person's registry id as its case key."""
        if recipient_ref.startswith("role:"):
            return recipient_ref
        if self._pseudonyms is None:
            self._pseudonyms = default_pseudonyms()
        return self._pseudonyms.case_key(recipient_ref)


def deliver(
    engine: Engine,
    adapter: NotificationAdapter,
    row: Notification,
    *,
    sent_at: datetime | None = None,
) -> bool:
    """Hand an outbox row to ``adapter`` unless it was sent already, and mark how it went.

    Call it once the transaction that inserted the row has committed. A crash in between
    leaves a pending row that the retried activity delivers; a row marked sent is never handed
    over again, so a retry does not send twice.

    Returns:
        Whether the adapter was called.

    Raises:
        Exception: Whatever the adapter raises, once the row is marked failed (the activity is
            retried by Temporal).
    """
    if row.id is None:
        raise ValueError("deliver() needs an outbox row that was inserted")
    if row.status == "sent":
        return False
    try:
        adapter.send(row)
    except Exception:
        with session_scope(engine) as session:
            crud.mark_notification_failed(session, notification_id=row.id, adapter=adapter.name)
        raise
    with session_scope(engine) as session:
        crud.mark_notification_sent(
            session, notification_id=row.id, adapter=adapter.name, sent_at=sent_at
        )
    return True
