"""Field types shared by the params models of processes, and the unknown-key check.

Params come from plugin programmes and from the district configuration file; a value that
validates here must not break a process later. So durations that a process waits or gives
staff are positive and bounded (``workflow.now() + due`` must not overflow), and day lists
that become step keys (``follow_up.d7``) are distinct. Pure: workflows import params models
through the sandbox.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

__all__ = [
    "MAX_DAYS",
    "MAX_DURATION",
    "DayList",
    "NonNegativeDuration",
    "PositiveDuration",
    "unknown_keys",
]

#: Longest day count or duration a district may set: ten years is past any deadline here.
MAX_DAYS = 3660
MAX_DURATION = timedelta(days=MAX_DAYS)

#: A due time, period or wait: more than zero, at most ten years.
PositiveDuration = Annotated[timedelta, Field(gt=timedelta(0), le=MAX_DURATION)]

#: A lead time or grace that may be zero (act at once), never negative.
NonNegativeDuration = Annotated[timedelta, Field(ge=timedelta(0), le=MAX_DURATION)]


def _increasing(days: list[int]) -> list[int]:
    # Each day becomes a step key (``follow_up.d7``); a repeated day would reuse the key and
    # its task would never open, so refuse it here rather than mid-process.
    repeated = sorted({day for day in days if days.count(day) > 1})
    if repeated:
        raise ValueError(f"days repeat: {repeated}; each day may appear once, e.g. [1, 7, 30]")
    if days != sorted(days):
        raise ValueError(f"days must be in increasing order, e.g. {sorted(days)}")
    return days


#: Days after an event (1 = the next day), distinct and increasing.
DayList = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_DAYS)]],
    AfterValidator(_increasing),
]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Params models nested in a field's annotation (``Model``, ``Model | None``, lists)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def unknown_keys(
    model: type[BaseModel], data: Mapping[str, Any], prefix: str = ""
) -> list[tuple[str, list[str]]]:
    """Keys of ``data`` that ``model`` does not have, each with the keys allowed there.

    Nested keys are named by their path (``rules.systolic_hgh``). Params models ignore extra
    keys so that recorded plans always decode; the registry calls this on what plugins and
    the configuration file set, so a misspelt key is refused there instead.
    """
    found: list[tuple[str, list[str]]] = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            found.append((f"{prefix}{key}", list(model.model_fields)))
            continue
        nested = _models_in(field.annotation)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if len(nested) == 1 and isinstance(item, Mapping):
                found += unknown_keys(nested[0], item, prefix=f"{prefix}{key}.")
    return found
