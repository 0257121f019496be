"""Childcare places 托育 (Xinghualing): apply, match a free seat, offer, enrol.

Public API (``__all__``; other plugins import only this package): the process
``childcare.places`` (extension points :data:`PLACES_POINTS`, request, params, result), its
``place_offered`` signal (:class:`PlaceOffer`), the ``childcare.places_apply`` event (a family's
application) and the task context view :func:`application_context`. Everything else
(workflow, activities, the capacity and application tables, forms) is internal.
"""

from __future__ import annotations

from pathlib import Path

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec
from plugins.childcare.places.activities import PlacesActivities
from plugins.childcare.places.models import (
    PLACES_POINTS,
    PlaceOffer,
    PlacesApplicationEvent,
    PlacesParams,
    PlacesRequest,
    PlacesResult,
)
from plugins.childcare.places.views import TASK_TYPES, application_context
from plugins.childcare.places.workflows import PlacesWorkflow

__all__ = [
    "PLACES_POINTS",
    "PlaceOffer",
    "PlacesApplicationEvent",
    "PlacesParams",
    "PlacesRequest",
    "PlacesResult",
    "application_context",
    "part",
]

PLACES = ProcessSpec(
    id="childcare.places",
    module="childcare",
    title_zh="托育服务",
    title_en="Childcare place",
    workflow=PlacesWorkflow,
    request_model=PlacesRequest,
    params_model=PlacesParams,
    extension_points=PLACES_POINTS,
)

part = PluginPart(
    processes=(PLACES,),
    routes=(
        EventRoute(
            event_type="childcare.places_apply",
            model=PlacesApplicationEvent,
            process="childcare.places",
            signal="application_received",
            start_if_absent=True,
            to_request=PlacesApplicationEvent.to_request,
        ),
    ),
    activities=(
        ActivitySet(cls=PlacesActivities, build=lambda deps: PlacesActivities(deps.engine)),
    ),
    task_types=TASK_TYPES,
    migrations=Path(__file__).parent / "migrations",
)
