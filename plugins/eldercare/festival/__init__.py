"""Festival care 春节送温暖: couplets and gifts for solitary and very old elders.

Public contract: the process, its schedule (10 January each year: Spring Festival falls between
21 January and 20 February, so this is always before it), request, params and result.
Deliveries run through the shared Delivery process of the engine plugin.

Public API (``__all__``; other plugins import only this package): the process id, its extension
points, its schedule, the request, params and result. The workflow and activities are internal.
"""

from __future__ import annotations

from careflow.contract import ActivitySet, PluginPart, ProcessSpec, ScheduleSpec
from plugins.eldercare.festival.activities import FestivalActivities
from plugins.eldercare.festival.models import (
    FESTIVAL_PROCESS,
    FestivalParams,
    FestivalRequest,
    FestivalResult,
)
from plugins.eldercare.festival.workflows import FESTIVAL_POINTS, FestivalWorkflow

__all__ = [
    "FESTIVAL_POINTS",
    "FESTIVAL_PROCESS",
    "FESTIVAL_SCHEDULE",
    "FestivalParams",
    "FestivalRequest",
    "FestivalResult",
    "part",
]

FESTIVAL = ProcessSpec(
    id=FESTIVAL_PROCESS,
    module="eldercare",
    title_zh="春节送温暖",
    title_en="Spring Festival care",
    workflow=FestivalWorkflow,
    request_model=FestivalRequest,
    params_model=FestivalParams,
    extension_points=FESTIVAL_POINTS,
)

FESTIVAL_SCHEDULE = ScheduleSpec(
    id="eldercare.festival.spring",
    process=FESTIVAL_PROCESS,
    title_zh="每年1月10日启动春节送春联年货",
    crons=("0 9 10 1 *",),
)

part = PluginPart(
    processes=(FESTIVAL,),
    schedules=(FESTIVAL_SCHEDULE,),
    activities=(
        ActivitySet(cls=FestivalActivities, build=lambda deps: FestivalActivities(deps.engine)),
    ),
)
