"""What Temporal stores is ciphertext: a raw history, read without the codec, holds no input.

Two processes on the time-skipping server: careflow's Delivery, started as the CLI and the
staff service start it, and a small workflow whose activity fails with a message that quotes
its input (failure messages and stack traces are encrypted too). Their histories are fetched
as raw protobuf (no data converter at all) and as JSON through a client that has no codec.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from temporalio import activity, workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    QueryWorkflowRequest,
)
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from careflow import service
from careflow.codec import key_id_of, plain_data_converter
from careflow.codec.check import payloads_in
from careflow.privacy.pseudonyms import case_key
from careflow.readable import READABLE_KEY
from careflow.registry import PluginRegistry
from tests.support.inbox import wait_for_task

# This module defines workflows, so the sandbox re-imports it: the test support (composition,
# with I/O at import) comes in passed through, as the SDK wants for non-workflow code.
with workflow.unsafe.imports_passed_through():
    from worker.testing import running_worker

NAME = "张晓明"
PHONE = "13812345678"


class VisitInput(BaseModel):
    elder_name: str
    phone: str


@activity.defn(name="codec_test.call_elder")
async def call_elder(visit: VisitInput) -> str:
    raise ApplicationError(f"no answer from {visit.elder_name} at {visit.phone}", type="NoAnswer")


@workflow.defn(name="CodecTestVisit")
class VisitWorkflow:
    @workflow.run
    async def run(self, visit: VisitInput) -> str:
        try:
            await workflow.execute_activity(
                call_elder,
                visit,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as err:
            assert isinstance(err.cause, ApplicationError)
            return f"visited {visit.elder_name}: {err.cause.message}"
        return "answered"


async def _raw_history(client: Client, workflow_id: str) -> bytes:
    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    for event in history.history.events:
        for payload in payloads_in(event):
            if "type" not in payload.metadata and READABLE_KEY not in payload.metadata:
                # Every payload but the search attributes' (typed) and the summaries is
                # encrypted.
                assert key_id_of(payload) == "test-only-k2", event
    return history.SerializeToString()


def _readable_texts(history: Any) -> list[str]:
    """The payloads of a history left in clear as summaries, decoded."""
    return [
        json.loads(payload.data)
        for event in history.history.events
        for payload in payloads_in(event)
        if payload.metadata.get(READABLE_KEY) == b"1"
    ]


async def _json_without_codec(env: WorkflowEnvironment, workflow_id: str) -> str:
    plain = Client(
        env.client.service_client,
        namespace=env.client.namespace,
        data_converter=plain_data_converter(),
    )
    return (await plain.get_workflow_handle(workflow_id).fetch_history()).to_json()


async def test_a_failed_activity_quoting_its_input_leaves_no_plaintext_in_history(
    ts_env: WorkflowEnvironment,
) -> None:
    queue = f"codec-{uuid.uuid4()}"
    workflow_id = f"codec-visit-{uuid.uuid4()}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[VisitWorkflow],
        activities=[call_elder],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        result = await ts_env.client.execute_workflow(
            VisitWorkflow.run,
            VisitInput(elder_name=NAME, phone=PHONE),
            id=workflow_id,
            task_queue=queue,
        )
    # Through the codec everything is there, the failure message included.
    assert result == f"visited {NAME}: no answer from {NAME} at {PHONE}"
    raw = await _raw_history(ts_env.client, workflow_id)
    as_json = await _json_without_codec(ts_env, workflow_id)
    for needle in (NAME, PHONE, "no answer", "elder_name"):
        assert needle.encode() not in raw, needle
        assert needle not in as_json, needle
    assert "Encoded failure" in as_json  # the failure is there, its message encrypted


async def test_a_delivery_started_like_the_cli_stores_no_input_in_clear(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    request: dict[str, Any] = {
        "recipient_ref": "P00012",
        "donor_ref": "D0003",
        "items": [{"category": "school_bag", "quantity": 1}],
        "purpose": "micro_wish",
    }
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district="wanbailin",
            request=request,
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        try:
            raw = await _raw_history(ts_env.client, started.workflow_id)
            as_json = await _json_without_codec(ts_env, started.workflow_id)
        finally:
            await handle.terminate(reason="test over")
    for needle in ("P00012", "D0003", "school_bag", "recipient_ref", "staff:S0001"):
        assert needle.encode() not in raw, needle
        assert needle not in as_json, needle
    # Search attributes stay readable (they hold area codes, no personal data).
    assert b"wanbailin" in raw


async def test_summaries_stay_readable_and_carry_only_codes_titles_and_the_case_key(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    request: dict[str, Any] = {
        "recipient_ref": "P00012",
        "items": [{"category": "school_bag", "quantity": 1}],
        "purpose": "micro_wish",
    }
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district="wanbailin",
            case_ref="P00012",
            request=request,
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        try:
            await wait_for_task(engine, started.workflow_id, "dropoff")
            history = await ts_env.client.workflow_service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace=ts_env.client.namespace,
                    execution=WorkflowExecution(workflow_id=started.workflow_id),
                )
            )
            # What the Web UI reads for the current details, asked without any codec.
            answer = await ts_env.client.workflow_service.query_workflow(
                QueryWorkflowRequest(
                    namespace=ts_env.client.namespace,
                    execution=WorkflowExecution(workflow_id=started.workflow_id),
                    query=WorkflowQuery(query_type="__temporal_workflow_metadata"),
                )
            )
        finally:
            await handle.terminate(reason="test over")
    texts = _readable_texts(history)
    # The start's summary (title, district, case key), the plan, and each activity's summary.
    assert texts[0] == f"物资配送 · wanbailin · 案件 {case_key('P00012')}", texts
    assert any("开工单 open task" in text for text in texts), texts
    assert all("P00012" not in text and "school_bag" not in text for text in texts)
    (metadata,) = answer.query_result.payloads
    assert metadata.metadata[READABLE_KEY] == b"1"
    assert "待办工单 Open tasks" in json.loads(metadata.data)["currentDetails"]
    assert b"P00012" not in metadata.data
