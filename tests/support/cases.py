"""Case refs and case keys in tests: workflow ids hold keys, events name case refs.

A process's workflow id ends in its case *key* (``careflow.privacy.pseudonyms``), so a test can
no longer cut the case ref out of it; it reads the ref from the process's start input (decoded
by the client's converter, as the staff service would) and builds expected ids with
:func:`keyed_id`.
"""

from __future__ import annotations

import re
from typing import Any

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from careflow.privacy.pseudonyms import case_key, case_workflow_id

__all__ = ["REGISTRY_ID", "case_ref_of", "history_summaries", "keyed_id", "readable_parts"]

REGISTRY_ID = re.compile(r"P\d{5}")
"""A person's registry id: what no readable part of a keyed process may hold."""


def keyed_id(process: str, district: str, case_ref: str) -> str:
    """The workflow id of a process of ``case_ref`` started since case keys."""
    return case_workflow_id(process, district, case_ref)


async def case_ref_of(client: Client, workflow_id: str) -> str:
    """The case ref a process was started with (its start input's ``context.case_ref``)."""
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        started = event.workflow_execution_started_event_attributes
        [value] = await client.data_converter.decode(started.input.payloads, [dict[str, Any]])
        return str(value["context"]["case_ref"])
    raise AssertionError(f"{workflow_id} has no history")


async def readable_parts(client: Client, workflow_id: str) -> dict[str, Any]:
    """What stays readable of a workflow without the codec: id, search attributes, summary,
    current details (the metadata query: a worker must be running)."""
    handle = client.get_workflow_handle(workflow_id)
    desc = await handle.describe()
    attrs = {key.name: value for key, value in desc.typed_search_attributes}
    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return {
        "workflow_id": workflow_id,
        "search_attributes": attrs,
        "summary": await desc.static_summary(),
        "details": meta.current_details,
        "case_key": case_key(await case_ref_of(client, workflow_id)),
    }


async def history_summaries(client: Client, workflow_id: str) -> list[str]:
    """The summaries of a workflow's activities, timers and children, as the Web UI lists them
    (decoded by the client's converter, should user metadata be encoded)."""
    converter = client.data_converter
    found: list[str] = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
            continue
        [summary] = await converter.decode([event.user_metadata.summary], [str])
        found.append(str(summary))
    return found
