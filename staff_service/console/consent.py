"""The consent register 同意登记: record a signed consent, read and withdraw consents.

Community staff and district admins record and withdraw consents of the people in their areas;
auditors read. Every post carries the session's CSRF token and goes through
:mod:`careflow.access.actions.consent`, which checks the grants and audits the attempt; a
refusal shows the form again with the message beside the field it names. Names are shown
masked (张*明), ids in full: staff match the form on paper by both.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access import actions
from careflow.access.actions import ConsentView
from careflow.access.actions.consent import CONSENT_ROLES
from careflow.access.refusals import Refused
from careflow.db.tables import Guardian, Person
from careflow.privacy.consent import PURPOSES, RELATIONS, SELF
from careflow.privacy.masking import mask_name
from staff_service.console.auth import checked_form, logged_in
from staff_service.console.render import area_names, error_page, login_redirect, page, see_other
from staff_service.deps import Caller, attempt_for, services

__all__ = ["FORM_FIELDS", "router"]

router = APIRouter()

FORM_FIELDS = ("subject_id", "purpose", "granted_by", "relation", "granted_on", "evidence_ref")
"""The record form's fields, named as the action names them in a refusal."""
_ROWS = 300
_MAX = 64
_REFUSED_LABEL = "同意未登记 consent not recorded:"
"""How the record action's refusals start (``careflow.access.actions.consent``)."""


def _masked_names(engine: Engine, ids: set[str]) -> dict[str, str]:
    """Masked names of the people among ``ids``."""
    if not ids:
        return {}
    with Session(engine) as session:
        rows = session.exec(select(Person).where(col(Person.id).in_(sorted(ids)))).all()
    return {p.id: mask_name(p.name) for p in rows}


def _guardians(engine: Engine, subject: str) -> list[dict[str, str]]:
    """The registered guardians of ``subject`` (ids, relations, masked names)."""
    with Session(engine) as session:
        links = session.exec(
            select(Guardian, Person)
            .join(Person, col(Person.id) == col(Guardian.guardian_id))
            .where(Guardian.child_id == subject)
            .order_by(col(Guardian.guardian_id))
        ).all()
    return [
        {
            "id": g.guardian_id,
            "relation": g.relation,
            "relation_zh": RELATIONS.get(g.relation, g.relation),
            "name": mask_name(p.name),
        }
        for g, p in links
    ]


def _may_act(caller: Caller, view: ConsentView) -> bool:
    district = view.community.split(".", 1)[0]
    return bool(set(caller.principal.roles_at(district, view.community)) & CONSENT_ROLES)


def _render(
    request: Request,
    caller: Caller,
    *,
    subject: str = "",
    purpose: str = "",
    show: str = "live",
    posted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    svc = services(request)
    attempt = attempt_for(request, caller.principal, "console")
    filter_error: str | None = None
    views: list[ConsentView] = []
    try:
        views = actions.list_consents(
            svc.engine,
            attempt,
            subject_id=subject or None,
            purpose=purpose or None,
            live_only=show == "live",
            limit=_ROWS,
        )
    except Refused as refusal:
        if refusal.reason not in ("bad_input", "out_of_scope"):
            raise
        filter_error = refusal.message
    people = {v.subject_id for v in views} | {v.granted_by for v in views}
    if subject:
        people.add(subject)
    names = _masked_names(svc.engine, people)
    form = {name: "" for name in FORM_FIELDS} | {"subject_id": subject, "purpose": purpose}
    form.update(posted or {})
    guardian_of = form["subject_id"] if form["subject_id"] in names else ""
    return page(
        request,
        "consent.html",
        {
            "views": views,
            "names": names,
            "areas": area_names(svc.engine),
            "may_act": {v.id: v.live and _may_act(caller, v) for v in views},
            "may_record": bool(set(caller.principal.roles) & CONSENT_ROLES),
            "filters": {"subject": subject, "purpose": purpose, "show": show},
            "filter_error": filter_error,
            "form": form,
            "errors": errors or {},
            "general": general or [],
            "purposes": [(p.code, p.title_zh, p.title_en) for p in PURPOSES.values()],
            "relations": list(RELATIONS.items()),
            "guardians": _guardians(svc.engine, guardian_of) if guardian_of else [],
            "self_relation": SELF,
            "done": request.query_params.get("done", "")[:16],
            "told": request.query_params.get("told", "")[:8],
            "limit": _ROWS,
        },
        caller=caller,
        status=status,
    )


def _query(request: Request, key: str) -> str:
    return request.query_params.get(key, "").strip()[:_MAX]


@router.get("/consents", include_in_schema=False, response_model=None)
def consent_page(request: Request) -> Response:
    """The register: consents of my areas (filters), and the form to record one."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    show = "all" if _query(request, "show") == "all" else "live"
    try:
        return _render(
            request,
            caller,
            subject=_query(request, "subject"),
            purpose=_query(request, "purpose"),
            show=show,
        )
    except Refused as refusal:
        return error_page(request, refusal, caller=caller, back="/tasks")


def _text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip()[: _MAX * 2] if isinstance(value, str) else ""


@router.post("/consents", include_in_schema=False, response_model=None)
async def record(request: Request) -> Response:
    """Record a consent; a refusal shows the form again with the field marked."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    form, refused = await checked_form(request, caller, action="consent.record", target=None)
    if refused is not None:
        return refused
    posted = {name: _text(form, name) for name in FORM_FIELDS}
    svc = services(request)
    try:
        view = actions.record_consent(
            svc.engine,
            attempt_for(request, caller.principal, "console"),
            subject_id=posted["subject_id"],
            purpose=posted["purpose"],
            granted_by=posted["granted_by"],
            relation=posted["relation"],
            granted_on=posted["granted_on"],
            evidence_ref=posted["evidence_ref"] or None,
        )
    except Refused as refusal:
        if refusal.reason != "bad_input":
            return error_page(request, refusal, caller=caller, back="/consents")
        field = refusal.field if refusal.field in FORM_FIELDS else None
        # Beside its field the message needs neither the form's name nor the field's.
        beside = refusal.message.removeprefix(_REFUSED_LABEL).strip()
        beside = beside.removeprefix(f"{field}:").strip() if field else beside
        return _render(
            request,
            caller,
            subject=posted["subject_id"] if field != "subject_id" else "",
            posted=posted,
            errors={field: beside} if field else {},
            general=[] if field else [refusal.message],
            status=refusal.status,
        )
    return see_other("/consents?" + urlencode({"subject": view.subject_id, "done": "recorded"}))


@router.post("/consents/withdraw", include_in_schema=False, response_model=None)
async def withdraw(request: Request) -> Response:
    """Withdraw a consent: running processes of its purpose stop using the person's data."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    form, refused = await checked_form(request, caller, action="consent.withdraw", target=None)
    if refused is not None:
        return refused
    subject, purpose = _text(form, "subject_id"), _text(form, "purpose")
    svc = services(request)
    try:
        done = await actions.withdraw_consent(
            svc.temporal.client,
            svc.engine,
            attempt_for(request, caller.principal, "console"),
            subject_id=subject,
            purpose=purpose,
        )
    except Refused as refusal:
        return error_page(request, refusal, caller=caller, back="/consents")
    outcome = "withdrawn" if done.not_told is None else "withdrawn_untold"
    return see_other(
        "/consents?"
        + urlencode(
            {"subject": subject, "show": "all", "done": outcome, "told": str(len(done.told))}
        )
    )
