"""The signal that tells a running process a consent was withdrawn (pure: workflows import it).

:func:`careflow.access.actions.consent.withdraw_consent` sends it, after the withdrawal is
written, to every running process of the purpose's processes in the subject's district. A
process that uses the subject's data for that purpose ends its work for that subject gracefully
(a ``consent_withdrawn`` case record, the subject's open tasks cancelled, staff told); any other
process ignores it. The payload holds codes and a registry id only, never a name.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["CONSENT_WITHDRAWN_SIGNAL", "CONSENT_WITHDRAWN_TASK_RESULT", "ConsentWithdrawn"]

CONSENT_WITHDRAWN_SIGNAL = "consent_withdrawn"
"""Signal name every consent-checking process handles."""

CONSENT_WITHDRAWN_TASK_RESULT = {"cancelled": "consent_withdrawn"}
"""The result a task row cancelled because of a withdrawal keeps (as the reconcile sweep's
``{"cancelled": "process_terminated"}``)."""


class ConsentWithdrawn(BaseModel):
    """A withdrawal of consent, as a running process hears of it.

    Attributes:
        subject_ref: Registry id of the person (``P…``) the consent was about.
        purpose: The purpose code (``microwish``, ``classroom``, ``childcare_place`` …).
        withdrawn_at: When the withdrawal was recorded (UTC).
        consent_id: The consent row withdrawn.
        request_id: The withdrawing attempt's request id (joins the audit row).
    """

    subject_ref: str = Field(max_length=16)
    purpose: str = Field(max_length=32)
    withdrawn_at: datetime
    consent_id: int
    request_id: str = Field(default="", max_length=64)
