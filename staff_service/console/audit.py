"""The audit page 审计: who did what, accepted or refused, for auditors and district admins."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access import actions
from careflow.access.refusals import Refused
from careflow.areas import DISTRICTS
from careflow.db.tables import Staff
from careflow.localtime import STAFF_TIMEZONE
from staff_service.console.auth import logged_in
from staff_service.console.labels import ACTIONS, CHANNELS, OUTCOMES
from staff_service.console.render import error_page, login_redirect, page
from staff_service.deps import attempt_for, services

__all__ = ["local_day_bounds", "router"]

router = APIRouter()

_TEXT_FILTERS = ("actor", "action", "outcome", "channel", "district")
_ROWS = 300


def _names(engine: Engine, ids: set[str]) -> dict[str, str]:
    """Names of the accounts among ``ids`` (an actor may be a username that was tried)."""
    if not ids:
        return {}
    with Session(engine) as session:
        rows = session.exec(select(Staff).where(col(Staff.id).in_(sorted(ids)))).all()
    return {r.id: r.name for r in rows}


def local_day_bounds(since: str | None, until: str | None) -> dict[str, datetime]:
    """UTC bounds of local (Asia/Shanghai) days: from the start of ``since`` to the end of
    ``until`` (both ``YYYY-MM-DD``, either may be missing or malformed and then ignored)."""
    bounds: dict[str, datetime] = {}
    for key, text, shift in (("since", since, 0), ("until", until, 1)):
        if not text:
            continue
        try:
            day = date.fromisoformat(text)
        except ValueError:
            continue
        bounds[key] = datetime.combine(day + timedelta(days=shift), time(), STAFF_TIMEZONE)
    return bounds


@router.get("/audit", include_in_schema=False, response_model=None)
def audit_page(request: Request) -> Response:
    """Audit rows in my areas, newest first, with filters (actor, action, outcome, channel,
    district, local date range)."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    svc = services(request)
    chosen: dict[str, str] = {}
    for key in (*_TEXT_FILTERS, "since", "until"):
        value = request.query_params.get(key, "").strip()[:64]
        if value:
            chosen[key] = value
    filters: dict[str, Any] = {k: chosen[k] for k in _TEXT_FILTERS if k in chosen}
    filters.update(local_day_bounds(chosen.get("since"), chosen.get("until")))
    try:
        rows = actions.read_audit(
            svc.engine, attempt_for(request, caller.principal, "console"), limit=_ROWS, **filters
        )
    except Refused as refusal:
        return error_page(request, refusal, caller=caller, back="/tasks")
    return page(
        request,
        "audit.html",
        {
            "rows": rows,
            "actors": _names(svc.engine, {r.actor for r in rows}),
            "filters": chosen,
            "limit": _ROWS,
            "actions": sorted(ACTIONS.items()),
            "outcomes": list(OUTCOMES.items()),
            "channels": list(CHANNELS.items()),
            "districts": [(d.code, d.name_zh) for d in DISTRICTS.values()],
        },
        caller=caller,
    )
