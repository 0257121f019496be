"""Check the registry references of external input against the app database.

Requests and events mark their registry ids with :class:`careflow.inputs.RegistryRef`; the
service calls :func:`check_refs` before anything is started or sent, so an id the registry does
not know (or one of the wrong kind, or of another district) is refused at the boundary.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from careflow.db.crud import communities_of
from careflow.db.tables import Area, Donor, Person, Provider, Staff, Volunteer
from careflow.errors import InputError
from careflow.inputs import RegistryRef

__all__ = ["check_refs"]

_KIND_ZH = {
    "person": "人员",
    "donor": "捐赠方",
    "staff": "工作人员",
    "volunteer": "志愿者",
    "provider": "机构",
    "community": "社区",
}


class _Checker:
    """One pass over a payload's references, with the district's communities looked up once."""

    def __init__(self, session: Session, district: str) -> None:
        self.session = session
        self.district = district
        self._communities: frozenset[str] | None = None

    @property
    def communities(self) -> frozenset[str]:
        if self._communities is None:
            found = communities_of(self.session, district=self.district)
            self._communities = frozenset(area.code for area in found)
        return self._communities

    def check(self, where: str, marker: RegistryRef, value: str) -> None:
        label = f"{_KIND_ZH[marker.kind]} {marker.kind}"
        found = self._find(marker, value)
        if found is None:
            raise InputError(where, f"unknown {marker.kind} {value!r} · 登记册中无此{label}")
        home, person_kind = found
        if marker.person_kind and person_kind != marker.person_kind:
            raise InputError(
                where,
                f"{value!r} is registered as {person_kind}, not {marker.person_kind} · 类别不符",
            )
        if marker.in_district and home not in self.communities | {self.district}:
            raise InputError(
                where, f"{marker.kind} {value!r} is not in district {self.district!r} · 不属于本区"
            )

    def _find(self, marker: RegistryRef, value: str) -> tuple[str, str | None] | None:
        """Where the row lives (a community or district code) and, for a person, its kind."""
        session = self.session
        match marker.kind:
            case "community":
                area = session.get(Area, value)
                if area is None or area.level != "community":
                    return None
                return area.code, None
            case "person":
                person = session.get(Person, value)
                return (person.community_code, person.kind) if person is not None else None
            case "donor":
                donor = session.get(Donor, value)
                return (donor.district_code, None) if donor is not None else None
            case "staff":
                staff = session.get(Staff, value)
                return (staff.district_code, None) if staff is not None else None
            case "volunteer":
                volunteer = session.get(Volunteer, value)
                return (volunteer.community_code, None) if volunteer is not None else None
            case "provider":
                provider = session.get(Provider, value)
                return (provider.district_code, None) if provider is not None else None
        return None


def check_refs(
    session: Session, refs: Iterable[tuple[str, RegistryRef, str]], *, district: str
) -> None:
    """Refuse the first reference the registry does not support.

    Args:
        session: An open session on the app database.
        refs: ``(field path, marker, value)`` as :func:`careflow.inputs.registry_refs` yields.
        district: The district of the request or event.

    Raises:
        InputError: Naming the field: an unknown id, a person of the wrong kind (an elder
            given as a child), or a row of another district where the marker requires it.
    """
    checker = _Checker(session, district)
    for where, marker, value in refs:
        checker.check(where, marker, value)
