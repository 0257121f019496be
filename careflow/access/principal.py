"""Who is acting: an authenticated account with its live grants (and token scope, if any)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from careflow.access.scope import area_of, covers

__all__ = ["Channel", "Grant", "Principal", "TokenScope"]

Channel = Literal["console", "api", "cli"]
"""How an attempt reached careflow; every audit row names one."""


@dataclass(frozen=True, slots=True)
class Grant:
    """A role held over an area (and everything under it)."""

    role: str
    area: str


@dataclass(frozen=True, slots=True)
class TokenScope:
    """What a machine client's API token allows: event types and districts, until it expires."""

    token_id: str
    event_types: frozenset[str]
    districts: frozenset[str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated, active account as read from the database for one request.

    Built only by :mod:`careflow.access.accounts` from a verified password, session or token
    (or, for the CLI, an existing account named on the command line); never from what a caller
    claims about itself.
    """

    staff_id: str
    name: str
    kind: Literal["person", "system"]
    grants: tuple[Grant, ...]
    token: TokenScope | None = None
    username: str | None = field(default=None)

    def roles_at(self, district: str, community: str | None) -> list[str]:
        """The roles this account holds over a case or task in ``district``/``community``."""
        target = area_of(district, community)
        return sorted({g.role for g in self.grants if covers(g.area, target)})

    def holds(self, role: str, district: str, community: str | None) -> bool:
        """Whether a grant of ``role`` covers ``district``/``community``."""
        return role in self.roles_at(district, community)

    def reads(self, district: str, community: str | None) -> bool:
        """Whether any grant covers ``district``/``community`` (what may be seen there)."""
        return bool(self.roles_at(district, community))

    @property
    def roles(self) -> list[str]:
        """Every role held anywhere."""
        return sorted({g.role for g in self.grants})
