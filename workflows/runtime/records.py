"""Case records and notifications: what a process writes down and whom it tells.

Both are engine activities, idempotent on (workflow id, step key), run in bounded rounds.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from careflow.models import ActivityName, NotifyInput, RecordCaseInput
from workflows.runtime.retries import BoundedActivities

__all__ = ["CaseRecords"]


class CaseRecords(BoundedActivities):
    """Append to the case record and send notifications through the outbox."""

    async def record(self, key: str, kind: str, data: dict[str, Any] | None = None) -> None:
        """Append an event to the case record (idempotent on the step key)."""
        await self._engine(
            ActivityName.RECORD_CASE,
            RecordCaseInput(
                workflow_id=workflow.info().workflow_id,
                step_key=key,
                context=self.context,
                kind=kind,
                data=data or {},
            ),
            summary=f"记录 record: {kind}",
            key=key,
        )

    async def notify(
        self,
        key: str,
        *,
        recipient_ref: str,
        template: str,
        body_zh: str,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Send a notification through the outbox (idempotent on the step key)."""
        await self._engine(
            ActivityName.NOTIFY,
            NotifyInput(
                workflow_id=workflow.info().workflow_id,
                step_key=key,
                context=self.context,
                recipient_ref=recipient_ref,
                template=template,
                body_zh=body_zh,
                params=params or {},
            ),
            summary=f"通知 notify: {template} → {self._recipient_shown(recipient_ref)}",
            key=key,
        )

    def _recipient_shown(self, recipient_ref: str) -> str:
        # A person's recipient ref is a registry id: the summary stays readable, so it names
        # the kind of recipient only; a role is not personal data.
        if not self._keyed or recipient_ref.startswith("role:"):
            return recipient_ref
        return "个人 person"
