"""Tracing a staff action from the CLI: ``careflow task complete`` is one trace across processes.

A real ``careflow`` process sends its spans to a local OTLP/HTTP collector; the worker runs in
this process and traces into an in-memory exporter, its client from
:func:`careflow.temporal.connect` as production's. The chain is proven by span ids carried
across the two: the command's root span → its ``StartWorkflowUpdate`` → the worker's
``HandleUpdate`` → the activity that closes the task row.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow import service, tracing
from careflow.db.tables import Staff
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from careflow.temporal import connect
from plugins.engine import plugin as engine_plugin
from tests.support.inbox import wait_for_task
from tests.support.tracing import by_name, otlp_collector, traced
from worker.testing import cli_environment, running_worker

JIUSI = "wanbailin.wanghua.jiusi"
CLOSE = "careflow.task.close"
REGISTRY_ID = re.compile(r"(?<![A-Za-z0-9])[PD]\d{4,5}(?![0-9])")


def _spans(received: list[tuple[str, str, bytes]]) -> dict[str, OtlpSpan]:
    """The spans a collector received, by name."""
    found: dict[str, OtlpSpan] = {}
    for _, _, body in received:
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans:
            for scope in resource.scope_spans:
                found.update((span.name, span) for span in scope.spans)
    return found


def _int(span_id: bytes) -> int:
    return int.from_bytes(span_id, "big")


async def test_a_task_completed_from_the_cli_is_one_trace_through_the_worker(
    dev_env: WorkflowEnvironment, seeded_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    registry = PluginRegistry.build([engine_plugin])
    address = dev_env.client.service_client.config.target_host
    with otlp_collector() as (url, received), traced(tracing.SERVICE_WORKER) as exporter:
        client = await connect(Settings(temporal_address=address))
        async with running_worker(client, registry, engine=seeded_engine) as worker:
            started = await service.start_process(
                client,
                registry,
                process="delivery",
                district="wanbailin",
                community=JIUSI,
                request={
                    "recipient_ref": "P00012",
                    "donor_ref": "D0003",
                    "items": [{"category": "school_bag", "quantity": 1}],
                },
                started_by="staff:S0001",
                task_queue=worker.task_queue,
            )
            task = await wait_for_task(seeded_engine, started.workflow_id, "dropoff")
            with Session(seeded_engine) as session:
                staff = session.exec(
                    select(Staff.id).where(Staff.username == f"{JIUSI}-community_staff")
                ).one()
            exporter.clear()
            env = cli_environment(
                registry.plugins,
                CAREFLOW_TEMPORAL_ADDRESS=address,
                CAREFLOW_DATABASE_URL=database_url,
                CAREFLOW_TASK_QUEUE=worker.task_queue,
                CAREFLOW_DATA_DIR=str(tmp_path),
                CAREFLOW_OTLP_ENDPOINT=url,
            )
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "cli", "task", "complete", task.task_id, "--actor", staff, "--data", "-"),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            _, err = await asyncio.wait_for(
                proc.communicate(json.dumps({"items_match": True}).encode()), timeout=120
            )
            assert proc.returncode == 0, err.decode()
            worker_spans = by_name(exporter.get_finished_spans())
        await client.get_workflow_handle(started.workflow_id).terminate("test over")

    cli = _spans(received)
    root = cli["careflow.cli task complete"]
    update = cli["StartWorkflowUpdate:complete_task"]
    assert not root.parent_span_id
    assert update.parent_span_id == root.span_id
    assert update.trace_id == root.trace_id
    # In the worker: the Update's handler under the CLI's call, the activity under the handler.
    chain = ["HandleUpdate:complete_task", f"StartActivity:{CLOSE}", f"RunActivity:{CLOSE}"]
    assert set(chain) <= worker_spans.keys(), sorted(worker_spans)
    handle = worker_spans[chain[0]]
    assert handle.parent is not None and handle.parent.span_id == _int(update.span_id)
    for parent, child in itertools.pairwise(chain):
        parent_context, child_span = worker_spans[parent].context, worker_spans[child]
        assert parent_context is not None and child_span.parent is not None
        assert child_span.parent.span_id == parent_context.span_id, (child, parent)
    for name in chain:
        context = worker_spans[name].context
        assert context is not None and context.trace_id == _int(root.trace_id), name
    # The command's spans name the command and its exit, never the task's people.
    attributes = {a.key: a.value for a in root.attributes}
    assert attributes["careflow.command"].string_value == "task complete"
    assert attributes["process.exit.code"].int_value == 0
    exported = repr([str(span) for span in cli.values()])
    assert REGISTRY_ID.search(exported) is None, exported
