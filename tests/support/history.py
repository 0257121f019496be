"""Reading what a process's history holds, decoded as the staff service would decode it."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

__all__ = ["activity_inputs"]


async def activity_inputs(client: Client, workflow_id: str, activity: str) -> list[Any]:
    """The input of every scheduled ``activity`` in the workflow's history, decrypted with the
    client's converter (payloads are encrypted) and parsed as JSON objects."""
    inputs: list[Any] = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if not event.HasField("activity_task_scheduled_event_attributes"):
            continue
        attrs = event.activity_task_scheduled_event_attributes
        if attrs.activity_type.name == activity:
            [value] = await client.data_converter.decode(attrs.input.payloads[:1], [dict[str, Any]])
            inputs.append(value)
    return inputs
