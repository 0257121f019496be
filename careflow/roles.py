"""Roles of the people who act in a process, with the words staff read."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLE_TITLES", "Role"]


class Role(StrEnum):
    """A role that can be assigned a human task (工单)."""

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


ROLE_TITLES: dict[Role, str] = {
    Role.GRID_WORKER: "网格员",
    Role.COMMUNITY_STAFF: "社区工作人员",
    Role.VOLUNTEER: "志愿者",
    Role.CHARITY_OFFICER: "区慈善会",
    Role.DONOR: "捐赠方",
    Role.DOCTOR: "家庭医生",
    Role.HOSPITAL: "医院急诊",
    Role.LAWYER: "律师",
    Role.DISTRICT_ADMIN: "区民政",
    Role.AUDITOR: "审计",
}
