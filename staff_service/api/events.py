"""Events from partner systems and devices: ``/api/v1/events/{event_type}``."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path

from careflow.access import actions
from careflow.access.audit import Attempt
from careflow.event_ids import event_id_of, message_id_problem
from staff_service.api.models import EventAccepted
from staff_service.deps import api_attempt, services
from staff_service.problems import problem_responses
from staff_service.services import Services

__all__ = ["router"]


def _with_event_id(attempt: Attempt, event_type: str, data: dict[str, Any]) -> Attempt:
    """The attempt under the event's stable id when the sender gave one (or a measurement).

    ``message_id`` leaves the payload here (it is no field of the event). A bad one is left
    in, so the event's own validation refuses it with the field named and an audit row.
    """
    district = data.get("district")
    if not isinstance(district, str):
        return attempt
    message_id = data.get("message_id")
    if message_id is not None:
        if message_id_problem(message_id) is not None:
            return attempt
        del data["message_id"]
    elif not (isinstance(data.get("device_id"), str) and "measured_at" in data):
        return attempt
    event_id = event_id_of(district, event_type, data, message_id)
    return replace(attempt, request_id=event_id)


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
    (``sent_by``) is the token's owner, never a payload field. A ``message_id`` (the sender's
    own id of this message, up to 128 characters) makes a retry safe: the event gets the id
    the MQTT ingress would give it (also derived from ``device_id`` and ``measured_at`` when
    those are sent), it is the request id of the audit row and of the delivered event, and
    the process ignores the event the second time.
    """
    attempt = _with_event_id(attempt, event_type, data)
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
