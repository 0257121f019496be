"""Events from partner systems and devices: ``/api/v1/events/{event_type}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path

from careflow.access import actions
from careflow.access.audit import Attempt
from staff_service.api.models import EventAccepted
from staff_service.deps import api_attempt, services
from staff_service.problems import problem_responses
from staff_service.services import Services

__all__ = ["router"]

router = APIRouter(tags=["events 事件"])


@router.post(
    "/events/{event_type}",
    name="event.send",
    status_code=202,
    response_model=EventAccepted,
    summary="发送事件 send an event",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def send(
    event_type: Annotated[str, Path(min_length=1, max_length=128)],
    data: Annotated[dict[str, Any], Body(description="The event, as its type's model says.")],
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("event.send"))],
) -> EventAccepted:
    """Deliver an event to its process (starting it where the route says so).

    A partner's token must name the event type and the event's district. The event's actor
    (``sent_by``) is the token's owner, never a payload field.
    """
    workflow_id = await actions.send_event(
        found.temporal.client,
        found.engine,
        found.registry,
        attempt,
        event_type=event_type,
        data=data,
        task_queue=found.task_queue,
    )
    return EventAccepted(
        event_type=event_type, workflow_id=workflow_id, request_id=attempt.request_id
    )
