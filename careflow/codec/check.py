"""Whether the processes open in a namespace were written with keys this ring holds.

A worker that lacks a key fails every task of the processes written under it, over and over,
so it refuses to start instead (``worker.main.run_worker``). What it checks is a sample: the
first event (the start, with the input) of a few running processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from careflow.codec.aesgcm import EncryptionCodec, key_id_of
from careflow.codec.errors import KeyConfigError
from careflow.codec.keys import KEYS_ENV, KeyRing

__all__ = [
    "MissingKeys",
    "missing_keys",
    "payload_key_ids",
    "payloads_in",
    "refuse_missing_keys",
    "ring_of",
]

_PAYLOAD = Payload.DESCRIPTOR.full_name


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every ``Payload`` anywhere inside ``message`` (fields, lists and maps, nested)."""
    if message.DESCRIPTOR.full_name == _PAYLOAD:
        yield message  # type: ignore[misc]
        return
    for descriptor, value in message.ListFields():
        kind = descriptor.message_type
        if kind is None:
            continue
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].message_type is not None:
                for item in value.values():
                    yield from payloads_in(item)
        elif descriptor.is_repeated:
            for item in value:
                yield from payloads_in(item)
        else:
            yield from payloads_in(value)


def payload_key_ids(message: Message) -> set[str]:
    """The key ids of every encrypted payload inside ``message``."""
    return {k for p in payloads_in(message) if (k := key_id_of(p)) is not None}


@dataclass(frozen=True, slots=True)
class MissingKeys:
    """Key ids open processes need and the ring lacks, each with one workflow id using it."""

    sampled: int
    missing: dict[str, str]

    def message(self, ring: KeyRing) -> str:
        """One line for the person starting the worker (key ids and workflow ids only)."""
        which = ", ".join(f"{k!r} (e.g. {wf})" for k, wf in sorted(self.missing.items()))
        return (
            f"缺少密钥，worker 未启动 worker not started: running processes were encrypted with "
            f"key {which}, which this key ring ({ring.source}: {', '.join(ring.ids)}) does not "
            "hold; add the key to CAREFLOW_CODEC_KEYS or the key file and start again"
        )


async def missing_keys(client: Client, ring: KeyRing, *, sample: int = 20) -> MissingKeys:
    """Which key ids the first events of up to ``sample`` running processes need but lack."""
    missing: dict[str, str] = {}
    sampled = 0
    async for execution in client.list_workflows('ExecutionStatus="Running"', limit=sample):
        history = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=execution.id, run_id=execution.run_id),
                maximum_page_size=1,
            )
        )
        sampled += 1
        for event in history.history.events[:1]:
            for key_id in payload_key_ids(event):
                if key_id not in ring:
                    missing.setdefault(key_id, execution.id)
    return MissingKeys(sampled=sampled, missing=missing)


def ring_of(client: Client) -> KeyRing:
    """The key ring of ``client``'s codec.

    Raises:
        KeyConfigError: The client does not encrypt (it was not made by
            :func:`careflow.temporal.connect` or with careflow's converter).
    """
    codec = client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise KeyConfigError(KEYS_ENV, "this Temporal client does not encrypt payloads")
    return codec.ring


async def refuse_missing_keys(client: Client, *, sample: int = 20) -> MissingKeys:
    """Refuse when sampled running processes need a key ``client``'s ring lacks.

    Returns:
        What was checked, when nothing is missing.

    Raises:
        KeyConfigError: A key is missing, named with a workflow id that needs it; or the
            client does not encrypt.
    """
    ring = ring_of(client)
    found = await missing_keys(client, ring, sample=sample)
    if found.missing:
        raise KeyConfigError(KEYS_ENV, found.message(ring))
    return found
