"""The ids staff need to address a running process's events, for ``careflow status``.

Events find their process by district and case ref; some also name an id the process created
on the way (the hospital's ``booking_ref`` of a green channel). A process declares those in
``ProcessSpec.status_refs``; their latest values are read from its case records. The event
routes of the process say which fields each event needs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.db import crud
from careflow.registry import PluginRegistry

__all__ = ["event_ids", "events_of"]


def events_of(registry: PluginRegistry, process: str) -> list[dict[str, Any]]:
    """The event types routed to ``process``, each with the fields it requires."""
    return [
        {
            "event_type": event_type,
            "needs": [n for n, field in route.model.model_fields.items() if field.is_required()],
        }
        for event_type, route in sorted(registry.routes.items())
        if route.process == process
    ]


def event_ids(
    registry: PluginRegistry,
    engine: Engine,
    *,
    workflow_id: str,
    process: str | None,
    district: str | None,
    case_ref: str | None,
) -> dict[str, Any]:
    """District, case ref and the process's ``status_refs`` with their latest recorded values.

    Ids the process has not recorded yet are left out; an unknown process (a plugin since
    removed) shows only district and case ref.
    """
    ids: dict[str, Any] = {"district": district, "case_ref": case_ref}
    spec = registry.processes.get(process or "")
    if spec is None or not spec.status_refs:
        return ids
    wanted = set(spec.status_refs)
    with Session(engine) as session:
        records = crud.list_case_records(session, workflow_id=workflow_id)
    latest: dict[str, Any] = {}
    for record in records:  # oldest first: a later booking replaces an earlier one
        latest.update({k: v for k, v in (record.data or {}).items() if k in wanted})
    ids.update({key: latest[key] for key in spec.status_refs if key in latest})
    return ids
