"""Human-task forms: pydantic models a plan or task row names by reference.

A reference (``'package.module:Name'``, made by :func:`form_ref`) is only ever *looked up*
among the forms the loaded plugins declare (``PluginRegistry.form``); nothing here imports the
module a reference names, so a task row or plan naming ``os:system`` is refused, not run.

Workflows cannot hold a registry; they read :func:`known_form`, the process-wide index every
:class:`careflow.registry.PluginRegistry` adds its forms to when it is built. Workers are built
from a registry, so the forms of their plans are known before the first workflow task runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from careflow.registry import PluginRegistry

__all__ = [
    "FormRefError",
    "check_ref",
    "form_ref",
    "form_schema",
    "known_form",
    "known_forms",
    "register_forms",
    "resolve_form",
]

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_<>][\w.<>]*$")

_KNOWN: dict[str, type[BaseModel]] = {}


class FormRefError(LookupError):
    """A form reference that names no form the loaded plugins declare."""


def form_ref(model: type[BaseModel]) -> str:
    """The reference a plan stores for ``model``: ``'package.module:Name'``."""
    return f"{model.__module__}:{model.__qualname__}"


def check_ref(ref: object) -> str:
    """``ref`` if it has the shape of a form reference.

    Raises:
        FormRefError: It is not a string of the form ``'module:Name'``.
    """
    if not isinstance(ref, str) or not _REF.match(ref) or len(ref) > 255:
        raise FormRefError(f"form reference {ref!r} is not of the form 'module:Name'")
    return ref


def register_forms(forms: Mapping[str, type[BaseModel]]) -> None:
    """Add forms to the process-wide index workflows read (called by the registry's build).

    A reference always names one class, so adding the forms of several registries is safe; a
    class defined again under the same reference (a test's local class) replaces the earlier.
    """
    _KNOWN.update(forms)


def known_forms() -> Mapping[str, type[BaseModel]]:
    """A read-only view of every form a registry built in this process declares."""
    return MappingProxyType(_KNOWN)


def known_form(ref: str) -> type[BaseModel]:
    """The form named by ``ref`` among those of registries built in this process.

    Deterministic and free of imports, so workflows call it inside the sandbox.

    Raises:
        FormRefError: No loaded plugin declares that form.
    """
    form = _KNOWN.get(check_ref(ref))
    if form is None:
        raise FormRefError(f"form {ref!r} is not declared by any loaded plugin")
    return form


def resolve_form(registry: PluginRegistry, ref: str) -> type[BaseModel]:
    """The form named by ``ref`` among the forms of ``registry``'s plugins.

    This is what a client (the service, the staff console) calls for a task row's
    ``form_ref``: the row is data, so only a form the loaded plugins declare is accepted.

    Raises:
        FormRefError: ``ref`` is malformed or names no form ``registry`` knows.
    """
    return registry.form(ref)


def form_schema(form: str | type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a form (a model, or a reference to a known one), for any client.

    Raises:
        FormRefError: ``form`` is a reference no loaded plugin declares.
    """
    model = known_form(form) if isinstance(form, str) else form
    return model.model_json_schema()
