"""Micro-wish campaigns 微心愿 (Wanbailin, Wanghua street, Jiusi community, and city-wide).

Low-income households are visited, each child's wish is reviewed, published anonymised to the
district charity association's pool, matched exactly to donors' pledges, bought from the
charity fund when nobody pledged, and delivered through the shared Delivery process.

Public contract: process ``childcare.microwish`` (request :class:`MicroWishRequest`, params
:class:`MicroWishParams`, result :class:`CampaignReport`), events ``childcare.pledge`` and
``childcare.pledge_withdrawn``, extension points :data:`MICROWISH_POINTS`, schedules before
Spring Festival and before the autumn term.

Boundary: the request's communities and added children, and a pledge's donor and drop-off,
are registry ids the service checks against the app database; the campaign's own state is
checked by :mod:`plugins.childcare.microwish.checks` before a start or an event is sent.
A pledge sent before the wish list is published is refused (exit 2, ``data.case_ref``): the
campaign takes pledges from publication until matching, and if one still reaches it early it
is not stored and the refusal goes to the case record (``pledge_refused``, ``not_published``).
Every pledge or withdrawal the campaign refuses is recorded that way.

Reports: :class:`CampaignReport` is stored in the app database (``cw_report``); the result
carries its ``report_id``, never a host path. A wish counts as filled only once delivered.
The district report's section 微心愿 (:mod:`plugins.childcare.microwish.figures`) counts the
campaigns' wishes the same way.

Public API (``__all__``; other plugins import only this package): the process id, its
extension points, request, params and result, the pledge events, the wish categories and the
task context view :func:`wish_list_context`. A step at ``before_publication`` answers with the
``PublicationVerdict`` contract (see the workflow). Everything else (workflow, activities,
tables, forms, checks, matching) is internal.
"""

from __future__ import annotations

from pathlib import Path

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec, ScheduleSpec
from plugins.childcare.microwish.activities import MicroWishActivities
from plugins.childcare.microwish.checks import check_pledge, check_request, check_withdrawal
from plugins.childcare.microwish.figures import FIGURES
from plugins.childcare.microwish.models import (
    PROCESS_ID,
    CampaignReport,
    MicroWishParams,
    MicroWishRequest,
    PledgeEvent,
    PledgeWithdrawnEvent,
    WishCategory,
)
from plugins.childcare.microwish.views import TASK_TYPES, wish_list_context
from plugins.childcare.microwish.workflows import MICROWISH_POINTS, MicroWishWorkflow

__all__ = [
    "MICROWISH_POINTS",
    "PROCESS_ID",
    "CampaignReport",
    "MicroWishParams",
    "MicroWishRequest",
    "PledgeEvent",
    "PledgeWithdrawnEvent",
    "WishCategory",
    "part",
    "wish_list_context",
]

MICROWISH = ProcessSpec(
    id=PROCESS_ID,
    module="childcare",
    title_zh="微心愿",
    title_en="Micro-wish campaign",
    workflow=MicroWishWorkflow,
    request_model=MicroWishRequest,
    params_model=MicroWishParams,
    extension_points=MICROWISH_POINTS,
    check=check_request,
)

part = PluginPart(
    processes=(MICROWISH,),
    routes=(
        EventRoute(
            event_type="childcare.pledge",
            model=PledgeEvent,
            process=PROCESS_ID,
            signal="pledge",
            check=check_pledge,
        ),
        EventRoute(
            event_type="childcare.pledge_withdrawn",
            model=PledgeWithdrawnEvent,
            process=PROCESS_ID,
            signal="pledge_withdrawn",
            check=check_withdrawal,
        ),
    ),
    schedules=(
        # Visits start three weeks before Spring Festival and before the autumn term.
        ScheduleSpec(
            id="childcare.microwish.spring",
            process=PROCESS_ID,
            title_zh="春节微心愿",
            crons=("0 9 5 1 *",),
            request={"title_zh": "春节微心愿"},
        ),
        ScheduleSpec(
            id="childcare.microwish.autumn",
            process=PROCESS_ID,
            title_zh="开学季微心愿",
            crons=("0 9 1 8 *",),
            request={"title_zh": "开学季微心愿"},
        ),
    ),
    activities=(
        ActivitySet(
            cls=MicroWishActivities,
            build=lambda deps: MicroWishActivities(deps.engine, deps.settings),
        ),
    ),
    task_types=TASK_TYPES,
    migrations=Path(__file__).parent / "migrations",
    figures=(FIGURES,),
)
