"""Emergency green channel 急诊绿色通道 for disabled elders 失能老人.

Other processes start it as a child::

    await self.start_child(
        GREEN_CHANNEL_PROCESS,
        request=GreenChannelRequest(elder_ref="P00012", source="health_alert",
                                    source_ref=alert_id).model_dump(mode="json"),
        case_ref=f"{self.context.case_ref}.gc",
    )

Refusals 拒绝规则: the elder must be an elder of the registry in the district; a staff start
for an elder with no disability level, and a hospital event whose ``booking_ref`` is not a
booking of its case (or answers a booking already answered), are refused before anything is
sent (``checks.py``; exit 2 at the CLI). A child channel (health alert, curtain check) is
started by its parent without those checks: the process rejects an ineligible elder itself and
records ``green_channel_rejected``; a hospital event it cannot use (a race) is recorded as
``hospital_event_ignored``.

Public API (``__all__``; other plugins import only this package): the process id
:data:`GREEN_CHANNEL_PROCESS` and its extension points :data:`GREEN_CHANNEL_POINTS` (their data
carry ``elder_ref``), the request, params and result models, the hospital events, the hospital
adapter interface with its embedded adapter and their payloads, the task context view
:func:`green_channel_context`, and :func:`channel_elder_ref` (the elder a step at one of the
points runs for). Everything else (workflow, activities, tables, forms, checks) is internal.
"""

from __future__ import annotations

from pathlib import Path

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec
from plugins.eldercare.green_channel.activities import GreenChannelActivities
from plugins.eldercare.green_channel.adapters import EmbeddedHospitalAdapter, HospitalAdapter
from plugins.eldercare.green_channel.checks import check_booking_event, check_start
from plugins.eldercare.green_channel.figures import FIGURES
from plugins.eldercare.green_channel.models import (
    GREEN_CHANNEL_POINTS,
    GREEN_CHANNEL_PROCESS,
    BookingInput,
    BookingReceipt,
    GreenChannelOutcome,
    GreenChannelParams,
    GreenChannelRequest,
    GreenChannelResult,
    HospitalArrivalEvent,
    HospitalDischargeEvent,
    HospitalResponseEvent,
    TriageLevel,
)
from plugins.eldercare.green_channel.records import channel_elder_ref
from plugins.eldercare.green_channel.views import TASK_TYPES, green_channel_context
from plugins.eldercare.green_channel.workflows import GreenChannelWorkflow

__all__ = [
    "GREEN_CHANNEL_POINTS",
    "GREEN_CHANNEL_PROCESS",
    "BookingInput",
    "BookingReceipt",
    "EmbeddedHospitalAdapter",
    "GreenChannelOutcome",
    "GreenChannelParams",
    "GreenChannelRequest",
    "GreenChannelResult",
    "HospitalAdapter",
    "HospitalArrivalEvent",
    "HospitalDischargeEvent",
    "HospitalResponseEvent",
    "TriageLevel",
    "channel_elder_ref",
    "green_channel_context",
    "part",
]

GREEN_CHANNEL = ProcessSpec(
    id=GREEN_CHANNEL_PROCESS,
    module="eldercare",
    title_zh="急诊绿色通道",
    title_en="Emergency green channel",
    workflow=GreenChannelWorkflow,
    request_model=GreenChannelRequest,
    params_model=GreenChannelParams,
    extension_points=GREEN_CHANNEL_POINTS,
    check=check_start,
    # Hospital events (response, arrival, discharge) name the booking.
    status_refs=("booking_ref", "hospital_ref"),
    # A family doctor or the grid worker who finds the elder opens a referral, too.
    start_roles=("community_staff", "grid_worker", "doctor", "district_admin"),
)

part = PluginPart(
    processes=(GREEN_CHANNEL,),
    routes=(
        EventRoute(
            event_type="eldercare.hospital_response",
            model=HospitalResponseEvent,
            process=GREEN_CHANNEL_PROCESS,
            signal="hospital_response",
            check=check_booking_event,
            sender_roles=("hospital",),
        ),
        EventRoute(
            event_type="eldercare.hospital_arrival",
            model=HospitalArrivalEvent,
            process=GREEN_CHANNEL_PROCESS,
            signal="hospital_arrival",
            check=check_booking_event,
            sender_roles=("hospital",),
        ),
        EventRoute(
            event_type="eldercare.hospital_discharge",
            model=HospitalDischargeEvent,
            process=GREEN_CHANNEL_PROCESS,
            signal="hospital_discharge",
            check=check_booking_event,
            sender_roles=("hospital",),
        ),
    ),
    activities=(
        ActivitySet(
            cls=GreenChannelActivities, build=lambda deps: GreenChannelActivities(deps.engine)
        ),
    ),
    task_types=TASK_TYPES,
    migrations=Path(__file__).parent / "migrations",
    figures=(FIGURES,),
)
