"""Context view of Wanbailin's charity co-sign: the wish list to sign."""

from __future__ import annotations

from careflow.contract import TaskType
from plugins.childcare.microwish import wish_list_context
from plugins.wanbailin.forms import CharityCoSignForm

__all__ = ["TASK_TYPES"]

TASK_TYPES = (
    TaskType(
        form=CharityCoSignForm,
        context=wish_list_context,
        title_zh="慈善会联签",
        title_en="Charity co-sign",
    ),
)
"""Wanbailin's task types: the co-sign shows the micro-wish list."""
