"""Yingze's activities: the free-clinic invitation 义诊邀请 after a certification visit."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine
from temporalio import activity

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.models import StepInput, StepOutput
from careflow.notify import NotificationAdapter, OutboxLogAdapter, deliver

__all__ = ["INVITE_FREE_CLINIC", "YingzeActivities"]

INVITE_FREE_CLINIC = "yingze.invite_free_clinic"

# A visit started by the yearly campaign has the case ref ``<elder_ref>.Y<year>``.
_CAMPAIGN_CASE_REF = re.compile(r"^(?P<elder_ref>[A-Z][0-9]+)\.Y[0-9]{4}$")


def _elder_of(data: dict[str, object], case_ref: str) -> str | None:
    """The elder's registry id: from the point's data, else from a campaign visit's case ref.

    Visits started before the point passed ``elder_ref`` only have their case ref; a visit
    started on its own (case ref ``C…``) then has no elder to name.
    """
    passed = str(data.get("elder_ref") or "")
    if passed:
        return passed
    match = _CAMPAIGN_CASE_REF.match(case_ref)
    return match.group("elder_ref") if match else None


class YingzeActivities:
    """Writes Yingze's step records and notices; idempotent on (workflow id, step key)."""

    def __init__(self, engine: Engine, *, notifications: NotificationAdapter | None = None) -> None:
        self._engine = engine
        self._notifications = notifications or OutboxLogAdapter()

    @activity.defn(name=INVITE_FREE_CLINIC)
    def invite_free_clinic(self, input: StepInput) -> StepOutput:
        """Invite the elder just certified at home to the health station's free clinic.

        Runs after every certification visit; only a visit that found the elder at home
        invites (nobody to invite otherwise). Each attempt has its own record key.
        """
        found = str(input.data.get("found", ""))
        attempt = int(input.data.get("attempt", 1))
        key = f"{input.step_key}.{attempt}"
        ctx = input.context
        if found != "at_home":
            return StepOutput(data={"invited": False, "found": found})
        elder_ref = _elder_of(input.data, ctx.case_ref)
        with session_scope(self._engine) as session:
            crud.insert_case_record(
                session,
                workflow_id=input.workflow_id,
                step_key=key,
                process=ctx.process,
                district=ctx.district,
                case_ref=ctx.case_ref,
                kind="yingze_free_clinic_invitation",
                data={
                    "case_ref": ctx.case_ref,
                    "elder_ref": elder_ref,
                    "with": "health_station",
                    "attempt": attempt,
                },
            )
            notice, _created = crud.insert_notification(
                session,
                workflow_id=input.workflow_id,
                step_key=key,
                district=ctx.district,
                community=ctx.community,
                recipient_ref="role:doctor",
                template="yingze_free_clinic_invitation",
                body_zh="迎泽区：上门养老认证已完成，请社区卫生服务站为该老人安排义诊。",
                params={"case_ref": ctx.case_ref, "elder_ref": elder_ref},
            )
        deliver(self._engine, self._notifications, notice)
        return StepOutput(data={"invited": True})
