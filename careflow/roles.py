"""Roles of the people who act in a process: the mechanism, not the list.

Roles are declared by plugins (:class:`RoleSpec` in ``CarePlugin.roles``); the engine plugin
declares the city-wide ones (``plugins.engine.Role``), a service module or a third party adds
its own (``rehab_officer`` 康复专员). :class:`careflow.registry.PluginRegistry` validates the
declarations at load and adds them to the process-wide index here, exactly as it does for
forms (:mod:`careflow.forms`), so workflows, the CLI and the console can read a title without
holding a registry. The index is a dict read: deterministic and import-free in the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ROLE_NAME",
    "RoleSpec",
    "check_role_name",
    "known_roles",
    "register_roles",
    "role_spec",
    "role_title",
    "role_title_en",
]

#: Lower snake case, 2-32 characters: the shape of a role name (task rows store it in 32).
ROLE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_MIN_LEN = 2
_MAX_LEN = 32

_KNOWN: dict[str, RoleSpec] = {}


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A role a plugin declares: who a human task (工单) or a grant can be for.

    Attributes:
        name: The code stored in tasks, grants and plans: lower snake case, 2-32 characters
            (checked when the registry loads).
        title_zh: What staff read (``网格员``).
        title_en: The English title beside it (``Grid worker``).
    """

    name: str
    title_zh: str
    title_en: str


def check_role_name(name: object) -> str:
    """``name`` if it has the shape of a role name.

    Raises:
        ValueError: It is not a lower snake case string of 2 to 32 characters.
    """
    if (
        not isinstance(name, str)
        or not _MIN_LEN <= len(name) <= _MAX_LEN
        or not ROLE_NAME.match(name)
    ):
        raise ValueError(
            f"角色名须为 2-32 位小写字母、数字和下划线 role name {name!r} must be lower snake "
            f"case, {_MIN_LEN}-{_MAX_LEN} characters"
        )
    return name


def register_roles(specs: Iterable[RoleSpec]) -> None:
    """Add roles to the process-wide index (called by the registry's build).

    A name always means one role, so adding the roles of several registries is safe; a role
    declared again under the same name (a test's plugin) replaces the earlier titles.
    """
    _KNOWN.update((spec.name, spec) for spec in specs)


def known_roles() -> frozenset[str]:
    """The names of every role a registry built in this process declares."""
    return frozenset(_KNOWN)


def role_spec(name: str) -> RoleSpec | None:
    """The declaration of role ``name``, or ``None`` when no loaded plugin declares it."""
    return _KNOWN.get(name)


def role_title(name: str) -> str:
    """The Chinese title of role ``name``; the name itself when it is unknown.

    An unknown name is not an error: a history recorded under a plugin that is no longer
    loaded still replays, and a task row still shows its code.
    """
    spec = _KNOWN.get(name)
    return spec.title_zh if spec is not None else name


def role_title_en(name: str) -> str:
    """The English title of role ``name``; the name itself when it is unknown."""
    spec = _KNOWN.get(name)
    return spec.title_en if spec is not None else name
