"""The social-insurance interface and its embedded adapter.

A district connects its social-insurance bureau's system by implementing
:class:`SocialInsuranceAdapter`; the embedded adapter keeps submissions in the app database
and writes a log line, so the whole campaign runs without any external system.
"""

from __future__ import annotations

from typing import Protocol

import structlog
from sqlalchemy import Engine
from sqlmodel import select

from careflow.db.engine import session_scope
from plugins.eldercare.pension.models import SubmitInput, SubmitResult
from plugins.eldercare.pension.tables import PensionSubmission

__all__ = ["EmbeddedSocialInsurance", "SocialInsuranceAdapter"]

_log = structlog.get_logger("careflow.eldercare.pension")


class SocialInsuranceAdapter(Protocol):
    """Submits a living certification 生存认证 and returns the bureau's confirmation."""

    name: str

    def submit(self, submission: SubmitInput) -> SubmitResult:
        """Submit once per (workflow id, step key); a repeat returns the same confirmation."""
        ...


class EmbeddedSocialInsurance:
    """Writes the submission row and a log line; the confirmation is made from its id."""

    name = "embedded"

    def __init__(self, engine: Engine) -> None:
        """Keep the engine of the app database."""
        self._engine = engine

    def submit(self, submission: SubmitInput) -> SubmitResult:
        """Store the submission (once) and confirm it."""
        with session_scope(self._engine) as session:
            row = session.exec(
                select(PensionSubmission).where(
                    PensionSubmission.workflow_id == submission.workflow_id,
                    PensionSubmission.step_key == submission.step_key,
                )
            ).first()
            if row is None:
                row = PensionSubmission(
                    workflow_id=submission.workflow_id,
                    step_key=submission.step_key,
                    elder_ref=submission.elder_ref,
                    district=submission.context.district,
                    year=submission.year,
                    identity_method=submission.identity_method,
                    visited_by=submission.visited_by,
                    confirmation_ref="",
                    adapter=self.name,
                )
                session.add(row)
                session.flush()
                row.confirmation_ref = f"SI{submission.year}-{row.id:06d}"
                session.add(row)
            confirmation = row.confirmation_ref
        _log.info(
            "pension.certification_submitted",
            workflow_id=submission.workflow_id,  # a case key; never the elder's registry id
            year=submission.year,
            confirmation_ref=confirmation,
        )
        return SubmitResult(confirmation_ref=confirmation)
