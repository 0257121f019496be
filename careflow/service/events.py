"""Routing an event (a device, a partner, a desk entry) to its process, starting it if told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from careflow.contract import CareEvent, EventRoute
from careflow.errors import InputError
from careflow.inputs import validate_external
from careflow.privacy.pseudonyms import Pseudonyms, default_pseudonyms
from careflow.registry import PluginRegistry
from careflow.service.starts import PreparedStart, check_state, prepare_start
from careflow.workers import check_plan_served

__all__ = ["PreparedEvent", "deliver_event", "prepare_event", "route_event"]


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """A validated event with where it goes; nothing sent to Temporal yet.

    Attributes:
        workflow_id: The keyed id of the event's process (``<process>-<district>-<case key>``)
            or what the route's own ``workflow_id`` names.
        fallback_workflow_id: Where the same case's process runs if it was started before
            case keys (its id holds the case ref): a signal that finds no ``workflow_id``
            tries it. None for routes that name their workflow.
    """

    event_type: str
    route: EventRoute
    event: CareEvent
    workflow_id: str
    start: PreparedStart | None
    fallback_workflow_id: str | None = None


def prepare_event(
    registry: PluginRegistry,
    *,
    event_type: str,
    data: Any,
    engine: Engine | None = None,
    pseudonyms: Pseudonyms | None = None,
) -> PreparedEvent:
    """Validate an event and find its process; resolve the plan if the route may start it.

    The event names its case by case ref (a registry id a device or person knows); the
    process is found by the case's key (``pseudonyms``, else this deployment's).

    Raises:
        InputError: Unknown event type, a payload that does not validate strictly, an unknown
            district. With ``engine``: a community or registry id the registry does not hold
            in the district, or an event the route's check shows the process would refuse.
            No pseudonym key configured (``pseudonym_key``).
    """
    route = registry.route(event_type)
    event = validate_external(route.model, data, field="data")
    registry.check_district(event.district)
    check_state(engine, district=event.district, payload=event, field="data", check=route.check)
    start = None
    if route.start_if_absent and route.to_request is not None:
        start = prepare_start(
            registry,
            process=route.process,
            district=event.district,
            community=event.community,
            case_ref=event.case_ref,
            request=route.to_request(event),
            started_by=f"event:{event_type}",
            pseudonyms=pseudonyms,
        )
        if engine is not None:
            # Events carry no task queue: any live worker that serves the plan will do.
            check_plan_served(engine, start.input.plan, task_queue=None)
    if route.workflow_id is not None:
        return PreparedEvent(
            event_type=event_type,
            route=route,
            event=event,
            workflow_id=route.workflow_id(event),
            start=start,
        )
    keyed, before_keys = (pseudonyms or default_pseudonyms()).case_workflow_ids(
        route.process, event.district, event.case_ref
    )
    return PreparedEvent(
        event_type=event_type,
        route=route,
        event=event,
        workflow_id=keyed,
        start=start,
        # A route that may start its process signals-with-start the keyed id: one started
        # before case keys is left to end (a monitor idles out) while the new one takes over.
        fallback_workflow_id=None if start is not None else before_keys,
    )


async def deliver_event(client: Client, prepared: PreparedEvent, *, task_queue: str) -> str:
    """Signal the event to its process, starting the process first if the route says so.

    Returns:
        The workflow id the event went to.
    """
    if prepared.start is not None:
        await client.start_workflow(
            prepared.start.workflow_type,
            prepared.start.input,
            id=prepared.workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=prepared.route.signal,
            start_signal_args=[prepared.event],
            **prepared.start.start_options(),
        )
        return prepared.workflow_id
    targets = [prepared.workflow_id]
    fallback = prepared.fallback_workflow_id
    if fallback is not None and fallback != prepared.workflow_id:
        targets.append(fallback)  # the case's process from before case keys, if still running
    for target in targets:
        try:
            await client.get_workflow_handle(target).signal(prepared.route.signal, prepared.event)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        return target
    raise InputError("case_ref", f"no running process {prepared.workflow_id} for this event")


async def route_event(
    client: Client,
    registry: PluginRegistry,
    *,
    event_type: str,
    data: Any,
    task_queue: str,
    engine: Engine | None = None,
) -> str:
    """Validate an event and deliver it (``prepare_event`` + ``deliver_event``)."""
    prepared = prepare_event(registry, event_type=event_type, data=data, engine=engine)
    return await deliver_event(client, prepared, task_queue=task_queue)
