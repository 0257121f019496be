"""Tracing a staff action through the API: one trace from the request to the activity it causes.

The process traces into an in-memory exporter (:func:`tests.support.tracing.traced`), its
Temporal client comes from :func:`careflow.temporal.connect` (so it carries the tracing plugin
as production's does) and a real worker on the time-skipping server runs the Delivery whose
drop-off task a community staff member completes through ``POST /api/v1/tasks/{id}/complete``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import tracing
from careflow.db.tables import Person
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from careflow.temporal import connect
from staff_service.app import create_app
from tests.staff_service.conftest import STAFF_XINGHUA, StaffStack, task_row
from tests.support.cleanup import terminate_started
from tests.support.tracing import by_name, traced
from worker.testing import running_worker

COMPLETE = "careflow.api POST /api/v1/tasks/{task_id}/complete"
# As tests/privacy/test_pii_canary.py makes and finds them.
CANARY = re.compile(r"金丝雀|1390000\d{4}|14010519500101\d{3}X")
REGISTRY_ID = re.compile(r"(?<![A-Za-z0-9])P\d{5}(?![0-9])")
CLOSE = "careflow.task.close"


@pytest.fixture
async def traced_stack(
    ts_env: WorkflowEnvironment, staff_engine: Engine, full_registry: PluginRegistry
) -> AsyncIterator[tuple[StaffStack, InMemorySpanExporter]]:
    """The staff stack of the conftest, in a process that traces (service careflow-serve)."""
    with traced(tracing.SERVICE_SERVE) as exporter:
        client = await connect(
            Settings(temporal_address=ts_env.client.service_client.config.target_host)
        )
        async with running_worker(client, full_registry, engine=staff_engine) as worker:
            settings = Settings(task_queue=worker.task_queue, reply_within=5.0)
            app = create_app(
                settings=settings,
                registry=full_registry,
                engine=staff_engine,
                client=client,
                console=False,
            )
            yield (
                StaffStack(
                    app=app,
                    engine=staff_engine,
                    registry=full_registry,
                    client=client,
                    task_queue=worker.task_queue,
                ),
                exporter,
            )
        await terminate_started(client, staff_engine)


async def test_a_task_completion_is_one_trace_from_the_api_call_to_the_activity_it_causes(
    traced_stack: tuple[StaffStack, InMemorySpanExporter],
) -> None:
    stack, exporter = traced_stack
    task = await stack.dropoff_task()
    exporter.clear()
    async with stack.client_for(STAFF_XINGHUA) as http:
        answer = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
    assert answer.status_code == 200, answer.text
    assert task_row(stack.engine, task.task_id).status == "done"

    spans = by_name(exporter.get_finished_spans())
    chain = [
        COMPLETE,
        "StartWorkflowUpdate:complete_task",
        "HandleUpdate:complete_task",
        f"StartActivity:{CLOSE}",
        f"RunActivity:{CLOSE}",
    ]
    assert set(chain) <= spans.keys(), sorted(spans)
    root = spans[COMPLETE]
    assert root.parent is None and root.kind is SpanKind.SERVER
    assert root.context is not None
    for parent, child in itertools.pairwise(chain):
        parent_context, child_span = spans[parent].context, spans[child]
        assert parent_context is not None and child_span.parent is not None
        assert child_span.parent.span_id == parent_context.span_id, (child, parent)
        assert child_span.context is not None
        assert child_span.context.trace_id == root.context.trace_id, child
    # The validator runs in the same trace, beside the handler.
    validate = spans["ValidateUpdate:complete_task"]
    assert validate.parent is not None
    assert validate.parent.span_id == spans["StartWorkflowUpdate:complete_task"].context.span_id  # type: ignore[union-attr]

    # The root names the route's template and action, never the task id in the path.
    assert root.attributes is not None
    assert dict(root.attributes) == {
        "http.request.method": "POST",
        "http.route": "/api/v1/tasks/{task_id}/complete",
        "http.response.status_code": 200,
        "careflow.action": "task.complete",
        "careflow.request_id": answer.headers["X-Request-ID"],
    }
    assert task.task_id not in root.name
    assert root.resource.attributes["service.name"] == "careflow-serve"
    # The workflow-side spans name the process by its workflow id (built from case keys).
    handle = spans["HandleUpdate:complete_task"]
    assert handle.attributes is not None
    assert handle.attributes["temporalWorkflowID"] == task.workflow_id


async def test_a_refused_completion_is_a_traced_4xx_without_temporal_spans(
    traced_stack: tuple[StaffStack, InMemorySpanExporter],
) -> None:
    stack, exporter = traced_stack
    task = await stack.dropoff_task()
    exporter.clear()
    async with stack.client_for(STAFF_XINGHUA) as http:
        answer = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": "yes?"}}
        )
    assert answer.status_code == 422, answer.text
    spans = by_name(exporter.get_finished_spans())
    root = spans[COMPLETE]
    assert root.attributes is not None
    assert root.attributes["http.response.status_code"] == 422
    # A 4xx is the caller's mistake, not the service's: no error status.
    assert root.status.status_code is StatusCode.UNSET
    assert not any(name.startswith("HandleUpdate") for name in spans)


def _everything_exported(span: ReadableSpan) -> str:
    """All a collector receives of a span: name, attributes, events, links, status, resource."""
    return json.dumps(
        {
            "name": span.name,
            "attributes": dict(span.attributes or {}),
            "events": [(e.name, dict(e.attributes or {})) for e in span.events],
            "links": [dict(link.attributes or {}) for link in span.links],
            "status": span.status.description,
            "resource": dict(span.resource.attributes),
        },
        ensure_ascii=False,
        default=str,
    )


async def test_the_spans_of_a_staff_action_on_a_canary_person_hold_no_personal_data(
    traced_stack: tuple[StaffStack, InMemorySpanExporter],
) -> None:
    stack, exporter = traced_stack
    with Session(stack.engine) as session:
        for n, person in enumerate(session.exec(select(Person).order_by(col(Person.id))).all()):
            person.name = f"金丝雀{n:03d}"
            person.phone = f"1390000{n:04d}"
            person.id_number = f"14010519500101{n:03d}X"
            person.address = f"金丝雀路{n}号"
            session.add(person)
        session.commit()
    exporter.clear()
    # Started through the API on registry id P00012, then its drop-off task completed.
    task = await stack.dropoff_task()
    async with stack.client_for(STAFF_XINGHUA) as http:
        answer = await http.post(
            f"/api/v1/tasks/{task.task_id}/complete", json={"data": {"items_match": True}}
        )
    assert answer.status_code == 200, answer.text
    spans = exporter.get_finished_spans()
    names = {span.name for span in spans}
    assert {"careflow.api POST /api/v1/processes/{process}", COMPLETE} <= names, sorted(names)
    assert any(name.startswith("StartWorkflow:") for name in names)
    assert any(name.startswith("RunActivity:") for name in names)
    for span in spans:
        exported = _everything_exported(span)
        assert not CANARY.search(exported), exported
        assert not REGISTRY_ID.search(exported), exported
