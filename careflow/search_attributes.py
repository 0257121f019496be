"""Custom search attributes supervisors filter on in the Temporal Web UI.

They hold codes and opaque references only, never personal data: ``CareCaseRef`` is the
case's keyed pseudonym (``ProcessContext.visible_ref``), not its case ref, which may be a
registry id.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from careflow.models import ProcessContext

__all__ = [
    "CARE_CASE_REF",
    "CARE_COMMUNITY",
    "CARE_DISTRICT",
    "CARE_MODULE",
    "CARE_OVERDUE",
    "CARE_PROCESS",
    "CARE_STAGE",
    "SEARCH_ATTRIBUTE_TYPES",
    "start_attributes",
]

CARE_DISTRICT = SearchAttributeKey.for_keyword("CareDistrict")
CARE_COMMUNITY = SearchAttributeKey.for_keyword("CareCommunity")
CARE_MODULE = SearchAttributeKey.for_keyword("CareModule")
CARE_PROCESS = SearchAttributeKey.for_keyword("CareProcess")
CARE_STAGE = SearchAttributeKey.for_keyword("CareStage")
CARE_CASE_REF = SearchAttributeKey.for_keyword("CareCaseRef")
CARE_OVERDUE = SearchAttributeKey.for_bool("CareOverdue")

#: Name → Temporal type name, as ``temporal server start-dev --search-attribute`` takes them.
SEARCH_ATTRIBUTE_TYPES: dict[str, str] = {
    CARE_DISTRICT.name: "Keyword",
    CARE_COMMUNITY.name: "Keyword",
    CARE_MODULE.name: "Keyword",
    CARE_PROCESS.name: "Keyword",
    CARE_STAGE.name: "Keyword",
    CARE_CASE_REF.name: "Keyword",
    CARE_OVERDUE.name: "Bool",
}


def start_attributes(context: ProcessContext, *, stage: str = "started") -> TypedSearchAttributes:
    """The search attributes a process starts with."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(CARE_DISTRICT, context.district),
        SearchAttributePair(CARE_MODULE, context.module),
        SearchAttributePair(CARE_PROCESS, context.process),
        SearchAttributePair(CARE_STAGE, stage),
        # The case key (a pseudonym), never the registry id the case ref may be.
        SearchAttributePair(CARE_CASE_REF, context.visible_ref),
        SearchAttributePair(CARE_OVERDUE, False),
    ]
    if context.community:
        pairs.append(SearchAttributePair(CARE_COMMUNITY, context.community))
    return TypedSearchAttributes(pairs)
