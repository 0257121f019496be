"""Start a process 发起流程, the process page 流程 and case search 案件查询."""

from __future__ import annotations

import re
from functools import partial
from typing import Any, cast
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from careflow.access import actions
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.access.scope import CITY, covers, district_of
from careflow.areas import DISTRICTS
from careflow.contract import ProcessSpec
from staff_service.console.auth import checked_form, logged_in
from staff_service.console.forms import FormValues, form_fields, parse_form
from staff_service.console.render import (
    AreaNames,
    area_names,
    error_page,
    login_redirect,
    page,
    see_other,
)
from staff_service.deps import Caller, attempt_for, services

__all__ = ["router", "temporal_ui_url"]

router = APIRouter()

DISTRICT_FIELD = "start_district"
COMMUNITY_FIELD = "start_community"
CASE_REF_FIELD = "start_case_ref"
_MARKUP = re.compile(r"[*`]")


def temporal_ui_url(*, port: int, namespace: str, workflow_id: str) -> str:
    """The workflow's page in the Temporal Web UI of the dev stack."""
    return (
        f"http://127.0.0.1:{port}/namespaces/{quote(namespace, safe='')}"
        f"/workflows/{quote(workflow_id, safe='')}"
    )


def _startable(request: Request, principal: Principal) -> list[tuple[ProcessSpec, list[str]]]:
    return actions.startable(services(request).registry, principal)


@router.get("/start", include_in_schema=False, response_model=None)
def start_list(request: Request) -> Response:
    """The processes my grants let me start."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    names = area_names(services(request).engine)
    return page(
        request,
        "start_list.html",
        {"startable": _startable(request, caller.principal), "areas": names},
        caller=caller,
    )


def _places(
    areas: list[str], names: AreaNames
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Districts and communities a start may name, from the areas of the start grants."""
    districts = sorted(
        {
            code
            for area in areas
            for code in (DISTRICTS if area == CITY else [district_of(area) or ""])
            if code in DISTRICTS
        }
    )
    return [(d, DISTRICTS[d].name_zh) for d in districts], names.under(areas, "community")


def _start_page(
    request: Request,
    caller: Caller,
    spec: ProcessSpec,
    areas: list[str],
    *,
    posted: FormData | None = None,
    refusal: Refused | None = None,
    status: int = 200,
) -> HTMLResponse:
    schema = spec.request_model.model_json_schema()
    names = list((schema.get("properties") or {}).keys())
    errors: dict[str, str] = {}
    general: list[str] = []
    place_error: dict[str, str] = {}
    if refusal is not None:
        where = (refusal.field or "").removeprefix("input.").removeprefix("request.")
        head = where.split(".", 1)[0]
        if head in names:
            errors[head] = refusal.message
        elif where in ("district", "community", "case_ref"):
            place_error[where] = refusal.message
        else:
            general.append(refusal.message)
    multi = None if posted is None else {k: posted.getlist(k) for k in posted}
    districts, communities = _places(areas, area_names(services(request).engine))
    whole_district = [d for d, _ in districts if any(covers(a, d) for a in areas)]
    return page(
        request,
        "start_form.html",
        {
            "spec": spec,
            "fields": form_fields(schema, posted=cast(Any, multi), errors=errors),
            "general": general,
            "place_error": place_error,
            "districts": districts,
            "communities": communities,
            "community_optional": bool(whole_district),
            "chosen": {
                "district": "" if posted is None else str(posted.get(DISTRICT_FIELD, "")),
                "community": "" if posted is None else str(posted.get(COMMUNITY_FIELD, "")),
                "case_ref": "" if posted is None else str(posted.get(CASE_REF_FIELD, "")),
            },
        },
        caller=caller,
        status=status,
    )


def _find(
    request: Request, principal: Principal, process: str
) -> tuple[ProcessSpec, list[str]] | None:
    for spec, areas in _startable(request, principal):
        if spec.id == process:
            return spec, areas
    return None


def _not_startable(process: str) -> Refused:
    return Refused(
        "wrong_role",
        f"您的角色不能发起此流程 your grants do not let you start {process}",
        field="process",
    )


@router.get("/start/{process}", include_in_schema=False, response_model=None)
def start_form(request: Request, process: str) -> Response:
    """The start form of one process, from its request schema."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    found = _find(request, caller.principal, process)
    if found is None:
        return error_page(request, _not_startable(process), caller=caller, back="/start")
    return _start_page(request, caller, *found)


@router.post("/start/{process}", include_in_schema=False, response_model=None)
async def start(request: Request, process: str) -> Response:
    """Start the process (the action checks the grants again and audits the attempt)."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    form, refused = await checked_form(request, caller, action="process.start", target=process)
    if refused is not None:
        return refused
    svc = services(request)
    found = _find(request, caller.principal, process)
    district = str(form.get(DISTRICT_FIELD, "")).strip()
    community = str(form.get(COMMUNITY_FIELD, "")).strip() or None
    case_ref = str(form.get(CASE_REF_FIELD, "")).strip() or None
    schema = found[0].request_model.model_json_schema() if found is not None else {"properties": {}}
    values: FormValues = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    request_data = parse_form(schema, values)
    attempt = attempt_for(request, caller.principal, "console")
    try:
        started = await actions.start_process(
            svc.temporal.client,
            svc.engine,
            svc.registry,
            attempt,
            process=process,
            district=district,
            community=community,
            case_ref=case_ref,
            request=request_data,
            task_queue=svc.task_queue,
        )
    except Refused as refusal:
        if found is not None and refusal.reason in ("bad_input", "already_started"):
            return _start_page(
                request, caller, *found, posted=form, refusal=refusal, status=refusal.status
            )
        return error_page(request, refusal, caller=caller, back="/start")
    return see_other("/processes/" + quote(started.workflow_id, safe=""))


def _plan_lines(plan: Any) -> list[str]:
    """The steps of the plan's markdown (its title and plugin line are shown apart)."""
    if not isinstance(plan, str):
        return []
    lines = [_MARKUP.sub("", line).removeprefix("- ").strip() for line in plan.splitlines()]
    return [line for line in lines[1:] if line and not line.startswith("插件 plugins")]


@router.get("/processes/{workflow_id}", include_in_schema=False, response_model=None)
async def process_page(request: Request, workflow_id: str) -> Response:
    """Stage, status, the person it is about (masked), timeline, the frozen plan and the
    link to the Temporal Web UI."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    return await _process_page(request, caller, workflow_id)


@router.post("/processes/{workflow_id}/unmask", include_in_schema=False, response_model=None)
async def process_unmask(request: Request, workflow_id: str) -> Response:
    """The process page with its person in full (显示完整信息), on this answer only.

    The process is read first (its own audited view, as for the page); then the unmask, which
    needs a reason and is audited on its own. A later visit is masked again.
    """
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    form, refused = await checked_form(request, caller, action="process.unmask", target=workflow_id)
    if refused is not None:
        return refused
    posted = form.get("reason")
    return await _process_page(
        request, caller, workflow_id, reason=posted if isinstance(posted, str) else ""
    )


async def _process_page(
    request: Request, caller: Caller, workflow_id: str, *, reason: str | None = None
) -> Response:
    """The process page; with ``reason`` (an unmask's post), its person in clear if allowed."""
    svc = services(request)
    attempt = attempt_for(request, caller.principal, "console")
    back = "/processes/" + quote(workflow_id, safe="")
    try:
        view = await actions.process_view(
            svc.temporal.client, svc.engine, svc.registry, attempt, workflow_id=workflow_id
        )
    except Refused as refusal:
        return error_page(request, refusal, caller=caller, back="/tasks")
    unmask_error: str | None = None
    subject: actions.RecordView | None
    try:
        if reason is None:
            subject = await run_in_threadpool(
                partial(
                    actions.subject_of_process,
                    svc.engine,
                    caller.principal,
                    workflow_id=workflow_id,
                )
            )
        else:
            subject = await run_in_threadpool(
                partial(
                    actions.unmask_process,
                    svc.engine,
                    attempt,
                    workflow_id=workflow_id,
                    reason=reason,
                )
            )
    except Refused as refusal:
        if refusal.field != "reason":
            return error_page(request, refusal, caller=caller, back=back)
        unmask_error = refusal.message
        subject = await run_in_threadpool(
            partial(
                actions.subject_of_process, svc.engine, caller.principal, workflow_id=workflow_id
            )
        )
    title = None
    try:
        title = svc.registry.process(str(view.get("process"))).title_zh
    except (KeyError, LookupError, ValueError):
        title = None
    except Exception:  # an unknown process id of an old plugin: show the id
        title = None
    return page(
        request,
        "process.html",
        {
            "view": view,
            "title": title or view.get("process") or workflow_id,
            "plan_lines": _plan_lines(view.get("plan")),
            "areas": await run_in_threadpool(area_names, svc.engine),
            "ui_url": temporal_ui_url(
                port=svc.settings.ui_port,
                namespace=svc.settings.temporal_namespace,
                workflow_id=workflow_id,
            ),
            "subject": subject,
            "unmask_error": unmask_error,
            "unmask_reason": (reason or "")[:200] if unmask_error else "",
            "request_id": attempt.request_id,
        },
        caller=caller,
        status=422 if unmask_error else 200,
    )


@router.get("/cases", include_in_schema=False, response_model=None)
def cases(request: Request, case_ref: str = "") -> Response:
    """Find the processes of a case ref in my areas."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    svc = services(request)
    wanted = case_ref.strip()[:64]
    found = actions.find_cases(svc.engine, caller.principal, case_ref=wanted) if wanted else []
    return page(
        request,
        "cases.html",
        {
            "case_ref": wanted,
            "cases": found,
            "areas": area_names(svc.engine),
            "searched": bool(wanted),
        },
        caller=caller,
    )
