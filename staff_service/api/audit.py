"""The audit trail: ``/api/v1/audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from careflow.access import actions
from careflow.access.audit import Attempt
from staff_service.api.models import AuditRow
from staff_service.deps import api_attempt, services
from staff_service.problems import problem_responses
from staff_service.services import Services

__all__ = ["router"]

router = APIRouter(tags=["audit 审计"])

_Text = Annotated[str | None, Query(min_length=1, max_length=255)]


@router.get(
    "/audit",
    name="audit.read",
    response_model=list[AuditRow],
    summary="审计记录 audit trail",
    responses=problem_responses(401, 403, 422, 503),
)
def read(
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("audit.read"))],
    actor: _Text = None,
    action: _Text = None,
    outcome: Annotated[Literal["accepted", "refused", "failed"] | None, Query()] = None,
    channel: Annotated[Literal["console", "api", "cli"] | None, Query()] = None,
    district: _Text = None,
    target: _Text = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditRow]:
    """Every attempt in the caller's areas, newest first (auditors and district admins)."""
    rows = actions.read_audit(
        found.engine,
        attempt,
        actor=actor,
        action=action,
        outcome=outcome,
        channel=channel,
        district=district,
        target=target,
        since=since,
        until=until,
        limit=limit,
    )
    return [AuditRow.of(row) for row in rows]
