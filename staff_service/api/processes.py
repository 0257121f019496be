"""The process catalogue, starts, status and case search: ``/api/v1/processes``, ``/cases``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from careflow.access import actions
from careflow.access.audit import Attempt
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.service import StartedProcess
from staff_service.api.models import (
    CaseEntry,
    PersonRecordOut,
    ProcessEntry,
    ProcessStatus,
    StartBody,
    UnmaskBody,
)
from staff_service.deps import api_attempt, current_principal, services
from staff_service.problems import problem_responses
from staff_service.services import Services

__all__ = ["router"]

router = APIRouter(tags=["processes 流程"])


@router.get(
    "/processes",
    name="process.list",
    response_model=list[ProcessEntry],
    summary="可发起的流程 processes I may start",
    responses=problem_responses(401, 503),
)
def catalogue(
    principal: Annotated[Principal, Depends(current_principal)],
    found: Annotated[Services, Depends(services)],
) -> list[ProcessEntry]:
    """The processes the caller's grants let it start, with where and the request schema."""
    return [
        ProcessEntry(
            process=spec.id,
            module=spec.module,
            title_zh=spec.title_zh,
            title_en=spec.title_en,
            start_roles=list(spec.start_roles),
            areas=areas,
            request_schema=spec.request_model.model_json_schema(),
        )
        for spec, areas in actions.startable(found.registry, principal)
    ]


@router.post(
    "/processes/{process}",
    name="process.start",
    status_code=201,
    response_model=StartedProcess,
    summary="发起流程 start a process",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def start(
    process: Annotated[str, Path(min_length=1, max_length=128)],
    body: StartBody,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("process.start"))],
) -> StartedProcess:
    """Start ``process`` for a case in the caller's area (``start_roles`` of the process)."""
    try:
        return await actions.start_process(
            found.temporal.client,
            found.engine,
            found.registry,
            attempt,
            process=process,
            district=body.district,
            community=body.community,
            case_ref=body.case_ref,
            request=body.request,
            task_queue=found.task_queue,
        )
    except Refused as refusal:
        raise _in_body_terms(refusal) from None


def _in_body_terms(refusal: Refused) -> Refused:
    """Name fields as the API body does: the service calls the request ``input``."""
    if refusal.field is not None and refusal.field.split(".", 1)[0] == "input":
        refusal.field = "request" + refusal.field[len("input") :]
    for problem in refusal.problems:
        if problem.field.split(".", 1)[0] == "input":
            problem.field = "request" + problem.field[len("input") :]
    return refusal


@router.get(
    "/processes/by-id/{workflow_id}",
    name="process.view",
    response_model=ProcessStatus,
    summary="流程状态 process status and timeline",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def view(
    workflow_id: Annotated[str, Path(min_length=1, max_length=255)],
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("process.view"))],
) -> ProcessStatus:
    """Status, stage, plan (plugins and versions) and timeline of a process in the caller's
    areas; a partner system sees only the cases it sent events to."""
    status = await actions.process_view(
        found.temporal.client,
        found.engine,
        found.registry,
        attempt,
        workflow_id=workflow_id,
    )
    out = ProcessStatus.model_validate(status)
    if attempt.principal is not None:  # always, once the view was allowed
        subject = await run_in_threadpool(
            actions.subject_of_process, found.engine, attempt.principal, workflow_id=workflow_id
        )
        out.subject = None if subject is None else PersonRecordOut.of(subject)
    return out


@router.post(
    "/processes/by-id/{workflow_id}/unmask",
    name="process.unmask",
    response_model=PersonRecordOut,
    summary="显示完整信息 see the person of a process in full",
    responses=problem_responses(401, 403, 404, 422, 503),
)
def unmask(
    workflow_id: Annotated[str, Path(min_length=1, max_length=255)],
    body: UnmaskBody,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("process.unmask"))],
) -> PersonRecordOut:
    """The person the process is about (name, ID number, phone, address) in clear, for this
    answer only; the reason is required and the request is an audit row
    (``process.unmask``).

    Community staff, district admins and doctors whose grants cover the person's community
    may; auditors and API tokens are refused (403). 404 when the process is not about one
    person; 422 naming ``reason`` when it is missing or blank.
    """
    view = actions.unmask_process(
        found.engine, attempt, workflow_id=workflow_id, reason=body.reason
    )
    return PersonRecordOut.of(view)


@router.get(
    "/cases",
    name="case.find",
    response_model=list[CaseEntry],
    summary="按案例号查找 find a case",
    responses=problem_responses(401, 422, 503),
)
def cases(
    case_ref: Annotated[str, Query(min_length=1, max_length=128)],
    principal: Annotated[Principal, Depends(current_principal)],
    found: Annotated[Services, Depends(services)],
) -> list[CaseEntry]:
    """The processes of a case ref, or of a case key (the ``k…`` pseudonym the Temporal Web UI
    shows), in the caller's areas."""
    found_cases = actions.find_cases(found.engine, principal, case_ref=case_ref)
    return [CaseEntry.model_validate(c) for c in found_cases]
