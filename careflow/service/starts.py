"""Starting a process: validate the request, resolve the plan, key the case, start it.

Every function validates its input fully before it touches Temporal or the database, so bad
input raises :class:`~careflow.errors.InputError` naming the field and nothing is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from careflow.contract import StateCheck
from careflow.db.refs import check_refs
from careflow.errors import InputError
from careflow.inputs import (
    CODE_MAX,
    RegistryRef,
    case_ref_problem,
    check_case_ref,
    check_id,
    registry_refs,
    validate_external,
)
from careflow.models import (
    ProcessContext,
    ProcessInput,
    plan_memo,
    process_summary,
    process_workflow_id,
)
from careflow.privacy.pseudonyms import Pseudonyms, default_pseudonyms
from careflow.readable import Readable
from careflow.registry import PluginRegistry
from careflow.search_attributes import start_attributes
from careflow.workers import check_plan_served

__all__ = [
    "PreparedStart",
    "StartedProcess",
    "check_state",
    "new_case_ref",
    "prepare_start",
    "start_prepared",
    "start_process",
]


class StartedProcess(BaseModel):
    """A process that was started (or was already running for the same case)."""

    workflow_id: str
    run_id: str | None
    process: str
    district: str
    case_ref: str
    steps: int
    case_key: str | None = None


def new_case_ref(prefix: str = "C") -> str:
    """A fresh opaque case reference, one that events may name again as their ``case_ref``.

    Random hex digits can line up with the date into what reads as a mobile number, which
    :data:`careflow.inputs.CaseRef` refuses: such a draw is made again.
    """
    while True:
        ref = f"{prefix}{datetime.now(UTC):%y%m%d}{secrets.token_hex(3)}"
        if case_ref_problem(ref) is None:
            return ref


def check_state(
    engine: Engine | None,
    *,
    district: str,
    payload: BaseModel,
    field: str,
    check: StateCheck | None,
    community: str | None = None,
) -> None:
    """Check a validated payload's registry references and the process's own state check.

    Without an engine (tests of plans, tools with no database) nothing is looked up; every
    command and the staff service pass one.
    """
    if engine is None:
        return
    refs = list(registry_refs(payload, prefix=field))
    if community is not None:
        refs.insert(0, ("community", RegistryRef("community"), community))
    with Session(engine) as session:
        check_refs(session, refs, district=district)
        if check is None:
            return
        try:
            check(session, district, payload)
        except InputError as err:
            raise InputError(f"{field}.{err.field}", err.problem) from None


@dataclass(frozen=True, slots=True)
class PreparedStart:
    """A validated process start with its plan resolved; nothing sent to Temporal yet."""

    workflow_type: str
    workflow_id: str
    title_zh: str
    input: ProcessInput[Any]

    @property
    def context(self) -> ProcessContext:
        """Who and where the process is for."""
        return self.input.context

    def start_options(self) -> dict[str, Any]:
        """What every start of a process carries for auditing."""
        return {
            "search_attributes": start_attributes(self.context),
            # Codes, titles and the case key only: left in clear for the Web UI.
            "static_summary": Readable(process_summary(self.title_zh, self.context)),
            "static_details": Readable(self.input.plan.describe_zh()),
            "memo": plan_memo(self.input.plan),
        }


def prepare_start(
    registry: PluginRegistry,
    *,
    process: str,
    district: str,
    request: Any,
    started_by: str,
    community: str | None = None,
    case_ref: str | None = None,
    engine: Engine | None = None,
    task_queue: str | None = None,
    pseudonyms: Pseudonyms | None = None,
) -> PreparedStart:
    """Check everything about a start that needs no Temporal, and resolve its plan.

    With ``engine``, the plan is also checked against the workers running on ``task_queue``
    (any queue when None): see :func:`careflow.workers.check_plan_served`.

    The case is keyed here (``pseudonyms``, else this deployment's): the workflow id,
    ``CareCaseRef`` and the summary carry ``case_key``; the case ref itself travels only in
    the (encrypted) input.

    Raises:
        InputError: Unknown process or district; a community or actor that is not a
            well-formed id, a case ref that breaks :data:`careflow.inputs.CaseRef`'s rule; a
            request that does not validate strictly. With ``engine``: a community or
            registry id the registry does not hold in the district, or a start the process's
            own check refuses. A process not enabled in the district. No pseudonym key
            configured (``pseudonym_key``).
    """
    spec = registry.process(process)
    registry.check_district(district)
    check_id("started_by", started_by, max_length=CODE_MAX)
    if community is not None:
        check_id("community", community)
    if case_ref is not None:
        check_case_ref(case_ref)
    parsed = validate_external(spec.request_model, request, field="input")
    check_state(
        engine,
        district=district,
        payload=parsed,
        field="input",
        check=spec.check,
        community=community,
    )
    plan = registry.resolve_plan(process, district)
    if engine is not None:
        # A plugin installed while a worker runs: refuse rather than stall on its steps.
        check_plan_served(engine, plan, task_queue=task_queue)
    case_ref = case_ref or new_case_ref()
    context = ProcessContext(
        process=process,
        module=spec.module,
        district=district,
        community=community,
        case_ref=case_ref,
        case_key=(pseudonyms or default_pseudonyms()).case_key(case_ref),
        started_by=started_by,
    )
    return PreparedStart(
        workflow_type=spec.workflow_type,
        workflow_id=process_workflow_id(process, district, context.visible_ref),
        title_zh=spec.title_zh,
        input=ProcessInput[Any](context=context, plan=plan, request=parsed),
    )


async def start_prepared(
    client: Client, prepared: PreparedStart, *, task_queue: str, request_id: str | None = None
) -> StartedProcess:
    """Start a prepared process.

    Args:
        client: The Temporal client.
        prepared: What :func:`prepare_start` made.
        task_queue: The workers' task queue.
        request_id: The staff service's request id, kept in the memo so the history joins
            the audit row of the start.

    Raises:
        InputError: A process is already running for the same case.
    """
    options = prepared.start_options()
    if request_id is not None:
        options["memo"] = {**options["memo"], "request_id": request_id}
    try:
        handle = await client.start_workflow(
            prepared.workflow_type,
            prepared.input,
            id=prepared.workflow_id,
            task_queue=task_queue,
            **options,
        )
    except WorkflowAlreadyStartedError as err:
        raise InputError(
            "case_ref", f"a process is already running as {prepared.workflow_id}"
        ) from err
    return StartedProcess(
        workflow_id=handle.id,
        run_id=handle.result_run_id,
        process=prepared.context.process,
        district=prepared.context.district,
        case_ref=prepared.context.case_ref,
        steps=len(prepared.input.plan.steps),
        case_key=prepared.context.case_key,
    )


async def start_process(
    client: Client,
    registry: PluginRegistry,
    *,
    task_queue: str,
    **start: Any,
) -> StartedProcess:
    """Validate, resolve the plan and start a process (``prepare_start`` + ``start_prepared``).

    Raises:
        InputError: See :func:`prepare_start` and :func:`start_prepared`.
    """
    return await start_prepared(client, prepare_start(registry, **start), task_queue=task_queue)
