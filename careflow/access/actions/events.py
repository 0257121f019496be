"""Device and partner events, sent as an account: scoped by token or by the sender's roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from careflow.access.actions.attempts import Audited, ClientSource
from careflow.access.audit import Attempt
from careflow.access.refusals import Refused
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from careflow.service import PreparedEvent, deliver_event, prepare_event

__all__ = ["send_event"]

_RESERVED = ("sent_by", "request_id")
"""Event fields careflow sets from who sends it; a payload may not."""


async def send_event(
    client: ClientSource,
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    event_type: str,
    data: Any,
    task_queue: str,
) -> str:
    """Route a device or partner event as the attempt's principal; audited.

    A token principal may send the event types and districts its token names; a person needs
    one of the route's ``sender_roles`` over the event's area. The event's ``sent_by`` is the
    account id and its ``request_id`` the attempt's: a payload may set neither. A caller that
    knows the event's stable id (:func:`careflow.event_ids.event_id_of`: the MQTT ingress, an
    API call with a ``message_id``) makes it the attempt's request id, so a repeat of the
    event reaches the process with the same id and is ignored there.

    The event names its case by case ref; the process is found by the case's key (see
    :func:`careflow.service.prepare_event`), and the audit row's target is that workflow id.

    Returns:
        The workflow id the event went to.

    Raises:
        Refused: ``not_logged_in``, ``out_of_scope``/``wrong_role``, ``bad_input``,
            ``unknown`` (no running process for it), ``temporal_unavailable``.
    """
    audit = Audited(engine, attempt, "event.send", target=event_type)
    with audit.checks():
        principal = audit.principal
        route = registry.route(event_type)
        if isinstance(data, dict):
            district = data.get("district")
            audit.district = district if isinstance(district, str) else None
            for key in _RESERVED:
                if key in data:
                    raise InputError(f"data.{key}", "set by careflow from who sends the event")
        prepared = prepare_event(registry, event_type=event_type, data=data, engine=engine)
        event = prepared.event
        audit.district, audit.community = event.district, event.community
        token = principal.token
        if token is not None:
            if event_type not in token.event_types:
                raise Refused(
                    "out_of_scope",
                    f"令牌不允许此事件类型 the token may not send {event_type}",
                    field="event_type",
                )
            if event.district not in token.districts:
                raise Refused(
                    "out_of_scope",
                    f"令牌不允许此区 the token may not send to {event.district}",
                    field="data.district",
                )
        elif not set(principal.roles_at(event.district, event.community)) & set(route.sender_roles):
            raise Refused(
                "wrong_role",
                f"您的角色不能发送此事件 your roles cannot send {event_type} here "
                f"(needs one of: {', '.join(route.sender_roles)})",
            )
    stamped = PreparedEvent(
        event_type=prepared.event_type,
        route=prepared.route,
        event=event.model_copy(
            update={"sent_by": principal.staff_id, "request_id": attempt.request_id}
        ),
        workflow_id=prepared.workflow_id,
        start=prepared.start,
        fallback_workflow_id=prepared.fallback_workflow_id,
    )
    audit.target = stamped.workflow_id
    connected = await audit.client(client)
    with audit.checks(
        inputs="unknown", label="没有对应的流程", temporal="事件未送达 not delivered"
    ):
        workflow_id = await deliver_event(connected, stamped, task_queue=task_queue)
    audit.accepted()
    return workflow_id
