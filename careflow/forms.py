"""Human-task forms: pydantic models referenced by import path from a frozen plan."""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

__all__ = ["FormRefError", "form_ref", "form_schema", "load_form"]


class FormRefError(LookupError):
    """A form reference that does not name an importable pydantic model."""


def form_ref(model: type[BaseModel]) -> str:
    """The reference a plan stores for ``model``: ``'package.module:Name'``."""
    return f"{model.__module__}:{model.__qualname__}"


@lru_cache(maxsize=512)
def load_form(ref: str) -> type[BaseModel]:
    """Import the form model named by ``ref``.

    Raises:
        FormRefError: ``ref`` is malformed or does not name a pydantic model.
    """
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise FormRefError(f"form reference {ref!r} is not of the form 'module:Name'")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise FormRefError(f"form module {module_name!r} cannot be imported: {err}") from err
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise FormRefError(f"form {ref!r} does not exist")
    if not (isinstance(target, type) and issubclass(target, BaseModel)):
        raise FormRefError(f"form {ref!r} is not a pydantic model")
    return target


def form_schema(ref: str) -> dict[str, Any]:
    """The JSON Schema of a form, for any client to render and validate."""
    return load_form(ref).model_json_schema()
