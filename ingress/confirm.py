"""Did an earlier attempt already deliver this event? Asked of the workflow's history.

Temporal does not deduplicate signals across separate requests, and a crash (or a lost
answer while Temporal was unreachable) can leave the ingress not knowing whether its signal
landed. Before delivering such an event again, the ingress reads the receiving workflow's
history: every delivered event carries its event id as ``request_id``, so a signal of the
route's name with that ``request_id`` means it was delivered. Only recovered messages are
checked (rare: after a crash or an outage), never the normal path.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from careflow.errors import InputError
from careflow.registry import PluginRegistry
from careflow.service import prepare_event

__all__ = ["RUNS_BACK", "already_delivered"]

RUNS_BACK = 3
"""Runs of a workflow looked at: the latest and those it continued from (a continue-as-new
between the signal and the check moves the signal into the run before)."""


async def _signalled_in(client: Client, workflow_id: str, *, signal: str, event_id: str) -> bool:
    run_id: str | None = None
    for _ in range(RUNS_BACK):
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        previous: str | None = None
        try:
            async for event in handle.fetch_history_events():
                if event.HasField("workflow_execution_started_event_attributes"):
                    started = event.workflow_execution_started_event_attributes
                    previous = started.continued_execution_run_id or None
                elif event.HasField("workflow_execution_signaled_event_attributes"):
                    signalled = event.workflow_execution_signaled_event_attributes
                    if signalled.signal_name != signal or not signalled.input.payloads:
                        continue
                    values: list[Any] = await client.data_converter.decode(
                        list(signalled.input.payloads)
                    )
                    if any(isinstance(v, dict) and v.get("request_id") == event_id for v in values):
                        return True
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        if previous is None:
            return False
        run_id = previous
    return False


async def already_delivered(
    client: Client,
    registry: PluginRegistry,
    *,
    event_type: str,
    data: dict[str, Any],
    event_id: str,
) -> str | None:
    """The workflow id an earlier attempt delivered this event to, or None.

    Raises:
        RPCError: Temporal is unavailable (the caller waits and asks again).
    """
    try:
        prepared = prepare_event(registry, event_type=event_type, data=data)
    except InputError:
        return None  # it cannot have been delivered: it does not even validate
    signal = prepared.route.signal
    targets = [prepared.workflow_id]
    if prepared.fallback_workflow_id not in (None, prepared.workflow_id):
        targets.append(prepared.fallback_workflow_id)  # type: ignore[arg-type]
    for workflow_id in targets:
        if await _signalled_in(client, workflow_id, signal=signal, event_id=event_id):
            return workflow_id
    return None
