"""Childcare places 托育 (Xinghualing): apply, match a free seat, offer, enrol.

Public contract: the process ``childcare.places``, its ``place_offered`` signal, the
``childcare.places_apply`` event (a family's application), the offer form and the capacity and
application tables.
"""

from __future__ import annotations

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec
from plugins.childcare.places.activities import PlacesActivities
from plugins.childcare.places.forms import OfferAnswerForm
from plugins.childcare.places.models import (
    PLACES_POINTS,
    PlaceOffer,
    PlacesApplicationEvent,
    PlacesParams,
    PlacesRequest,
    PlacesResult,
)
from plugins.childcare.places.tables import PlacesApplication, PlacesCapacity
from plugins.childcare.places.views import TASK_TYPES, application_context
from plugins.childcare.places.workflows import PlacesWorkflow

__all__ = [
    "PLACES",
    "OfferAnswerForm",
    "PlaceOffer",
    "PlacesApplication",
    "PlacesApplicationEvent",
    "PlacesCapacity",
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
)
