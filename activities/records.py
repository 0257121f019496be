"""Activity that appends events to case records."""

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
from careflow.models import ActivityName, RecordCaseInput

__all__ = ["CaseRecordActivities"]

_log = structlog.get_logger("careflow.activities.records")


class CaseRecordActivities:
    """Writes case-record rows, once per (workflow id, step key).

    Args:
        engine: Engine of the app database.
        clock: Source of the current time (UTC); ``datetime.now(UTC)`` by default.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._clock = clock or utcnow

    @activity.defn(name=ActivityName.RECORD_CASE)
    def record_case(self, input: RecordCaseInput) -> None:
        """Append one event to the record of the workflow's case; a retry adds nothing."""
        context = input.context
        with session_scope(self._engine) as session:
            _row, created = crud.insert_case_record(
                session,
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                process=context.process,
                district=context.district,
                case_ref=context.case_ref,
                kind=input.kind,
                data=input.data,
                created_at=self._clock(),
            )
        _log.info(
            "case.recorded" if created else "case.record_repeated",
            workflow_id=input.workflow_id,
            step_key=input.step_key,
            kind=input.kind,
        )

    def all(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for the worker."""
        return [self.record_case]
