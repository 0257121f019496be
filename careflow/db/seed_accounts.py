"""Demo accounts: one login per role per area of the demo registry (demo data only).

Every demo account has the password :data:`DEMO_PASSWORD`. Usernames say role and area, so a
tester can pick one without a list: ``<area>-<role>``, e.g. ``wanbailin.wanghua.jiusi-grid_worker``
(a grid worker of 九四社区), ``wanbailin.wanghua-doctor`` (the street health centre's family
doctor), ``wanbailin-district_admin``, ``taiyuan-auditor`` (city-wide).

The staff the demo registry already holds (``S0001`` …) become the accounts of their role and
area; roles the registry has no person for (volunteers, donors, city-wide roles) get new rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

from sqlmodel import Session, col, select

from careflow.access.passwords import hash_password
from careflow.access.scope import CITY
from careflow.db.seed import REFERENCE_DATE
from careflow.db.tables import Area, Staff, StaffGrant

__all__ = [
    "COMMUNITY_ROLES",
    "DEMO_PASSWORD",
    "DISTRICT_ROLES",
    "demo_username",
    "seed_demo_accounts",
]

DEMO_PASSWORD = "careflow-demo"
"""The password of every demo account. Demo data only: never seed demo accounts in production."""
# The engine plugin's role codes (plugins.engine.Role), written out: the core imports no plugin.
COMMUNITY_ROLES = ("grid_worker", "community_staff", "volunteer")
DISTRICT_ROLES = (
    "district_admin",
    "charity_officer",
    "hospital",
    "lawyer",
    "auditor",
    "donor",
)
CITY_ROLES = ("auditor", "district_admin")


def demo_username(area: str, role: str) -> str:
    """The demo account of ``role`` at ``area``."""
    return f"{area}-{role}"


def _wanted(session: Session) -> Iterator[tuple[str, str, str]]:
    """(area, role, district) of every demo account, districts of the demo registry only."""
    streets = session.exec(select(Area).where(Area.level == "street")).all()
    districts = sorted({s.parent_code for s in streets if s.parent_code})
    for role in CITY_ROLES:
        yield CITY, role, districts[0] if districts else "wanbailin"
    for district in districts:
        for role in DISTRICT_ROLES:
            yield district, role, district
    for street in sorted(streets, key=lambda a: a.code):
        yield street.code, "doctor", street.code.split(".")[0]
    communities = session.exec(select(Area).where(Area.level == "community")).all()
    for community in sorted(communities, key=lambda a: a.code):
        if community.code.split(".")[0] in districts:
            for role in COMMUNITY_ROLES:
                yield community.code, role, community.code.split(".")[0]


def _existing(session: Session, area: str, role: str) -> Staff | None:
    """A registry staff member of ``role`` whose home area is ``area``, without an account."""
    if area == CITY:
        return None
    statement = select(Staff).where(Staff.role == role, col(Staff.username).is_(None))
    if area.count(".") == 2:
        statement = statement.where(Staff.community_code == area)
    elif area.count(".") == 0:
        statement = statement.where(
            Staff.district_code == area, col(Staff.community_code).is_(None)
        )
    else:
        # Street doctors are registry staff of the district; the family-doctor contracts tell
        # which street each serves, in the order the seed made them.
        return None
    return session.exec(statement.order_by(col(Staff.id))).first()


def seed_demo_accounts(session: Session) -> int:
    """Create the demo accounts and their grants; a second call adds nothing.

    Returns:
        How many accounts were created (0 when they exist already, or with no demo registry).
    """
    if session.exec(select(Staff.id).where(col(Staff.username).is_not(None))).first():
        return 0
    password_hash = hash_password(DEMO_PASSWORD)  # one hash: the same demo password for all
    ids = session.exec(select(Staff.id)).all()
    next_number = max((int(i[1:]) for i in ids if i[1:].isdigit()), default=0) + 1
    created = 0
    for area, role, district in _wanted(session):
        staff = _existing(session, area, role)
        if staff is None:
            staff = Staff(
                created_at=datetime.combine(REFERENCE_DATE, time(), tzinfo=UTC),
                id=f"S{next_number:04d}",
                name=f"演示{role}",
                role=role,
                district_code=district,
                community_code=area if area.count(".") == 2 else None,
            )
            next_number += 1
        staff.username = demo_username(area, role)
        staff.password_hash = password_hash
        session.add(staff)
        session.add(
            StaffGrant(staff_id=staff.id, role=role, area_code=area, granted_by="seed-demo")
        )
        created += 1
    session.flush()
    return created
