"""What the classroom and dining-table enrolment processes share.

Each is one small process per child, started by an enrol or unenrol event with
signal-with-start. Changes queue as signals and are applied in order: a unit-specific activity
checks the registry and writes the row, and every change (or refusal) goes into the case record.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from temporalio import workflow

from workflows.runtime import CareProcess

__all__ = ["EnrolmentProcess"]


class EnrolmentProcess(CareProcess):
    """Apply one child's queued enrolment changes; subclasses write them.

    Attributes:
        record_prefix: Case-record kinds are ``<prefix>_enrolled``, ``<prefix>_unenrolled`` and
            ``<prefix>_enrolment_refused``.
        stage_title_zh: The stage title staff see while changes are applied.
    """

    record_prefix: str
    stage_title_zh: str

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[Any] = []

    @abstractmethod
    async def write_change(self, event: Any) -> Any:
        """Check and write one change in an activity; returns its ``accepted``/``active``."""

    async def apply_changes(self, child_ref: str, result: Any) -> Any:
        """Apply every queued change for ``child_ref`` and record each in the case record."""
        self.stage("applying", self.stage_title_zh)
        run_id = workflow.info().run_id
        while self._pending:
            event = self._pending.pop(0)
            if event.child_ref != child_ref:
                continue  # not this child's case; the route never sends one
            change = await self.write_change(event)
            result.changes.append(change)
            kind = (
                f"{self.record_prefix}_enrolment_refused"
                if not change.accepted
                else f"{self.record_prefix}_enrolled"
                if change.active
                else f"{self.record_prefix}_unenrolled"
            )
            # The workflow id outlives this run: the run id keeps each record's key unique.
            await self.record(
                f"change.{run_id}.{len(result.changes)}",
                kind,
                {**change.model_dump(mode="json"), "child_ref": event.child_ref, "by": event.actor},
            )
        self.stage("closed", "已结束 closed")
        return result
