"""Consent 同意登记: ``/api/v1/consents``.

Recording and withdrawing need a community-staff or district-admin grant over the child's
community; auditors also read. Every attempt is audited by the action; a refusal is a problem
naming the field (``subject_id``, ``purpose``, ``granted_by``, ``relation``, ``granted_on``,
``evidence_ref``) and writes nothing. The values are checked by the action, not by the body's
schema, so that a malformed date or an unknown purpose is audited like any other refusal.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from careflow.access import actions
from careflow.access.actions import ConsentView, Withdrawal
from careflow.access.audit import Attempt
from careflow.privacy.consent import PURPOSES, RELATIONS
from staff_service.deps import api_attempt, services
from staff_service.problems import problem_responses
from staff_service.services import Services

__all__ = ["PurposeOut", "RecordConsentBody", "WithdrawConsentBody", "router"]

router = APIRouter(prefix="/consents", tags=["consent 同意"])

_Text = Annotated[str | None, Query(min_length=1, max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordConsentBody(_Body):
    """A signed consent form, as staff enter it."""

    subject_id: str = Field(max_length=32, description="儿童（本人）登记编号 subject's registry id")
    purpose: str = Field(max_length=64, description="用途 purpose code, e.g. ``microwish``")
    granted_by: str = Field(
        max_length=32,
        description="同意人登记编号 who consented: a registered guardian, or the subject from 14",
    )
    relation: str = Field(
        max_length=32,
        description="关系 ``self`` or the guardian's registered relation: " + ", ".join(RELATIONS),
    )
    granted_on: str = Field(max_length=32, description="签署日期 day signed, ``YYYY-MM-DD``")
    evidence_ref: str | None = Field(
        default=None,
        max_length=128,
        description="同意书编号 reference of the signed form (no name, phone or ID number)",
    )


class WithdrawConsentBody(_Body):
    """Which consent to withdraw."""

    subject_id: str = Field(max_length=32, description="登记编号 subject's registry id")
    purpose: str = Field(max_length=64, description="用途 purpose code")


class PurposeOut(BaseModel):
    """A purpose consent is recorded for."""

    code: str
    title_zh: str
    title_en: str
    subject_kinds: list[str]


@router.get(
    "/purposes",
    name="consent.purposes",
    response_model=list[PurposeOut],
    summary="同意用途 purposes",
)
def purposes() -> list[PurposeOut]:
    """Every purpose, with the person kinds it applies to (public: no personal data)."""
    return [
        PurposeOut(
            code=p.code,
            title_zh=p.title_zh,
            title_en=p.title_en,
            subject_kinds=sorted(p.subject_kinds),
        )
        for p in PURPOSES.values()
    ]


@router.get(
    "",
    name="consent.list",
    response_model=list[ConsentView],
    summary="同意记录 consents",
    responses=problem_responses(401, 403, 422, 503),
)
def list_consents(
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("consent.list"))],
    subject_id: _Text = None,
    area: _Text = None,
    purpose: _Text = None,
    live_only: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ConsentView]:
    """Consents of the people in the caller's areas, newest first (registry ids only)."""
    return actions.list_consents(
        found.engine,
        attempt,
        subject_id=subject_id,
        area=area,
        purpose=purpose,
        live_only=live_only,
        limit=limit,
    )


@router.post(
    "",
    name="consent.record",
    status_code=201,
    response_model=ConsentView,
    summary="登记同意 record a consent",
    responses=problem_responses(401, 403, 422, 503),
)
def record(
    body: RecordConsentBody,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("consent.record"))],
) -> ConsentView:
    """Record a guardian's (or, from 14, the child's own) consent for a purpose."""
    return actions.record_consent(
        found.engine,
        attempt,
        subject_id=body.subject_id,
        purpose=body.purpose,
        granted_by=body.granted_by,
        relation=body.relation,
        granted_on=body.granted_on,
        evidence_ref=body.evidence_ref,
    )


@router.post(
    "/withdraw",
    name="consent.withdraw",
    response_model=Withdrawal,
    summary="撤回同意 withdraw a consent",
    responses=problem_responses(401, 403, 422, 503),
)
async def withdraw(
    body: WithdrawConsentBody,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("consent.withdraw"))],
) -> Withdrawal:
    """Withdraw a consent: running processes of the purpose stop using the child's data
    (``told`` lists them); with Temporal unreachable the withdrawal still stands
    (``not_told``)."""
    return await actions.withdraw_consent(
        found.temporal.client,
        found.engine,
        attempt,
        subject_id=body.subject_id,
        purpose=body.purpose,
    )
