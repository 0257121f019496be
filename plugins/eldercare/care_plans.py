"""Finding and signalling an elder's care plan from outside a workflow (activities only).

The plan's workflow id holds the elder's case key, which only code holding the pseudonym key
can make; a plan started before case keys has the registry id in its id instead. Workflows
find the plan with :func:`plugins.eldercare.contracts.tiers_workflow_id` and a key an activity
made. Shared by the health alerts' activity and re-exported by :mod:`plugins.eldercare.tiers`
for districts.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from careflow.privacy.pseudonyms import Pseudonyms, default_pseudonyms
from plugins.eldercare.contracts import REASSESS_SIGNAL, TIERS_PROCESS, ReassessSignal

__all__ = ["ask_plan_to_reassess", "plan_workflow_ids"]


def plan_workflow_ids(
    district: str, elder_ref: str, *, pseudonyms: Pseudonyms | None = None
) -> list[str]:
    """Where the elder's care plan may run: its keyed id first, then the id from before keys.

    Args:
        district: The plan's district.
        elder_ref: The elder's registry id (the plan's case ref).
        pseudonyms: The deployment's key; this process's settings when None.
    """
    return (pseudonyms or default_pseudonyms()).case_workflow_ids(
        TIERS_PROCESS, district, elder_ref
    )


async def ask_plan_to_reassess(
    client: Client,
    *,
    district: str,
    elder_ref: str,
    signal: ReassessSignal,
    pseudonyms: Pseudonyms,
) -> bool:
    """Signal the elder's running care plan ``reassess``; whether a running plan got it.

    Tries the keyed id, then the id from before case keys, so neither is written into the
    caller's history. A retry after a signal that went through asks the plan again for the
    same reason (the plan keeps reasons, so that is harmless).

    Args:
        client: The worker's client (``temporalio.activity.client()`` in an activity).
        district: The plan's district.
        elder_ref: The elder's registry id.
        signal: Why, and what caused it.
        pseudonyms: The deployment's key.
    """
    for target in plan_workflow_ids(district, elder_ref, pseudonyms=pseudonyms):
        try:
            await client.get_workflow_handle(target).signal(REASSESS_SIGNAL, signal)
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
            continue
        return True
    return False
