"""What a district step at a green-channel extension point may read about its channel."""

from __future__ import annotations

from sqlmodel import Session

from careflow.db import crud
from careflow.models import StepInput

__all__ = ["channel_elder_ref"]


def channel_elder_ref(session: Session, input: StepInput) -> str | None:
    """The registry id of the elder a green-channel step runs for; None if none is known.

    For a district activity at a green-channel extension point (its :class:`StepInput`). The
    extension points pass ``elder_ref`` in their data; channels started before they did
    have it only in their ``green_channel_opened`` case record, which is read then.
    """
    passed = input.data.get("elder_ref")
    if passed:
        return str(passed)
    for row in crud.list_case_records(session, workflow_id=input.workflow_id):
        if row.kind == "green_channel_opened":
            ref = row.data.get("elder_ref")
            return str(ref) if ref else None
    return None
