"""Why a process is not moving: a step retrying, a stalled or failed step, a bad ending.

``careflow status`` shows this so that no process stalls silently. Everything comes from
Temporal's description of the workflow and the case record, never from a query, so it works
while no worker is running (exactly when a process is most likely to be stuck).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.api.failure.v1 import Failure
from temporalio.client import (
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.converter import DataConverter
from temporalio.exceptions import FailureError

from careflow.db import crud
from careflow.errors import CareflowError

__all__ = ["PROBLEM_KINDS", "process_problem"]

PROBLEM_KINDS = ("step_stalled", "step_failed")
"""Case-record kinds the process runtime writes for a stalled and a failed step."""

_ENDED_BADLY = {
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CANCELED: "cancelled",
}
_MESSAGE_CHARS = 300


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


def _recorded(engine: Engine, workflow_id: str) -> dict[str, Any] | None:
    """The latest stalled or failed step in the case record."""
    with Session(engine) as session:
        records = crud.list_case_records(session, workflow_id=workflow_id)
    found = [r for r in records if r.kind in PROBLEM_KINDS]
    if not found:
        return None
    latest = max(found, key=lambda r: (r.created_at, r.id or 0))
    return {"recorded": latest.kind, **latest.data}


async def _ending(handle: WorkflowHandle[Any, Any], state: str) -> dict[str, Any]:
    try:
        await handle.result(follow_runs=False)
    except WorkflowFailureError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, FailureError) else str(cause)
        error_type = getattr(cause, "type", None) or type(cause).__name__
        return {"state": state, "error_type": error_type, "message": _short(message)}
    return {"state": state, "error_type": None, "message": ""}


async def _failure_message(failure: Failure, converter: DataConverter | None) -> str:
    """A failure's message; an encrypted one (the codec encodes messages) decrypted first."""
    if converter is None or not failure.HasField("encoded_attributes"):
        return failure.message
    copy = Failure()
    copy.CopyFrom(failure)  # decoding works in place; the description stays as it came
    try:
        decoded = await converter.decode_failure(copy)
    except CareflowError:  # e.g. a key this ring lacks: say so rather than fail the status
        return "(encrypted with a key this client lacks)"
    return str(getattr(decoded, "message", decoded))


async def _retrying(
    desc: WorkflowExecutionDescription, converter: DataConverter | None
) -> dict[str, Any] | None:
    """A pending activity that has failed at least once: the step retrying right now."""
    for pending in desc.raw_description.pending_activities:
        if pending.attempt > 1 and pending.HasField("last_failure"):
            failure = pending.last_failure
            info = (
                failure.application_failure_info
                if failure.HasField("application_failure_info")
                else None
            )
            return {
                "state": "retrying",
                "activity": pending.activity_type.name,
                "attempt": pending.attempt,
                "error_type": (info.type if info is not None else None) or None,
                "message": _short(await _failure_message(failure, converter)),
            }
    return None


async def process_problem(
    handle: WorkflowHandle[Any, Any],
    desc: WorkflowExecutionDescription,
    engine: Engine,
    *,
    stage: str | None,
    converter: DataConverter | None = None,
) -> dict[str, Any] | None:
    """What keeps a process from moving, or why it ended badly; None when all is well.

    Args:
        handle: The workflow's handle (to read a failure).
        desc: Its description (status, pending activities).
        engine: The app database (the case record).
        stage: Its ``CareStage``.
        converter: The client's data converter, to decrypt a retrying step's failure
            message (encoded by careflow's codec); without it the message is read as stored.

    Returns:
        ``state`` (``retrying``, ``stalled``, ``failed``, ``terminated``, ``timed_out``,
        ``cancelled``), with the activity, error type and message where known, and the step
        the case record names.
    """
    state = _ENDED_BADLY.get(desc.status) if desc.status is not None else None
    if state is not None:
        problem = await _ending(handle, state)
        recorded = _recorded(engine, handle.id) if stage == "failed" else None
        # The case record names the step and the database's reason; the ending adds the rest.
        return {**problem, **recorded} if recorded else problem
    retrying = await _retrying(desc, converter)
    if retrying is not None:
        return retrying
    if stage == "stalled":
        return _recorded(engine, handle.id) or {"state": "stalled"}
    return None
