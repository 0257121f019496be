"""The city-wide roles the engine plugin declares.

Every service module and district uses these (``from plugins.engine import Role``); a module
with a role of its own declares it in its plugin's ``roles``.
"""

from __future__ import annotations

from enum import StrEnum

from careflow.contract import RoleSpec

__all__ = ["ENGINE_ROLES", "Role"]


class Role(StrEnum):
    """A city-wide role that can be assigned a human task (工单)."""

    GRID_WORKER = "grid_worker"
    COMMUNITY_STAFF = "community_staff"
    VOLUNTEER = "volunteer"
    CHARITY_OFFICER = "charity_officer"
    DONOR = "donor"
    DOCTOR = "doctor"
    HOSPITAL = "hospital"
    LAWYER = "lawyer"
    DISTRICT_ADMIN = "district_admin"
    AUDITOR = "auditor"


ENGINE_ROLES: tuple[RoleSpec, ...] = (
    RoleSpec(Role.GRID_WORKER.value, "网格员", "Grid worker"),
    RoleSpec(Role.COMMUNITY_STAFF.value, "社区工作人员", "Community staff"),
    RoleSpec(Role.VOLUNTEER.value, "志愿者", "Volunteer"),
    RoleSpec(Role.CHARITY_OFFICER.value, "区慈善会", "District charity federation"),
    RoleSpec(Role.DONOR.value, "捐赠方", "Donor"),
    RoleSpec(Role.DOCTOR.value, "家庭医生", "Family doctor"),
    RoleSpec(Role.HOSPITAL.value, "医院急诊", "Hospital emergency department"),
    RoleSpec(Role.LAWYER.value, "律师", "Lawyer"),
    RoleSpec(Role.DISTRICT_ADMIN.value, "区民政", "District civil affairs"),
    RoleSpec(Role.AUDITOR.value, "审计", "Auditor"),
)
