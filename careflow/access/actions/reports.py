"""District reports 统计报表: who may see which district's figures, checked and audited.

A report is read by supervisors: district admins 区民政 and auditors. A grant over the city
or the district shows the whole district; a grant over a street or a community shows the
communities under it only (their figures are computed from those communities' records alone).
Partner tokens read no reports.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access.actions.attempts import Audited
from careflow.access.audit import Attempt
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.access.scope import covers
from careflow.areas import DISTRICTS
from careflow.db.tables import Area
from careflow.figures import DistrictFigures, Period, district_figures
from careflow.registry import PluginRegistry

__all__ = ["REPORT_FORMATS", "REPORT_ROLES", "district_report", "report_districts"]

REPORT_ROLES = frozenset({"district_admin", "auditor"})
"""Roles that read the figures of the areas their grants cover."""
REPORT_FORMATS = ("html", "xlsx", "csv", "json")
"""How a report is read: the console's dashboard, or an export."""


def _report_areas(principal: Principal) -> list[str]:
    return [g.area for g in principal.grants if g.role in REPORT_ROLES]


def report_districts(principal: Principal, registry: PluginRegistry) -> list[str]:
    """The districts ``principal`` may open a report of (a city-level account: all)."""
    areas = _report_areas(principal)
    return [d for d in DISTRICTS if any(covers(a, d) or a.startswith(d + ".") for a in areas)]


def _communities(engine: Engine, principal: Principal, district: str) -> frozenset[str] | None:
    """None when a report grant covers the whole district, else the communities it covers.

    Raises:
        Refused: ``out_of_scope`` when no report grant reaches into ``district``.
    """
    areas = _report_areas(principal)
    if any(covers(a, district) for a in areas):
        return None
    inside = [a for a in areas if a.startswith(district + ".")]
    if not inside:
        raise Refused(
            "out_of_scope",
            f"您的授权不包括此区 your grants do not cover {district}",
            field="district",
        )
    with Session(engine) as session:
        codes = session.exec(
            select(Area.code).where(
                Area.level == "community", col(Area.code).startswith(district + ".")
            )
        ).all()
    return frozenset(c for c in codes if any(covers(a, c) for a in inside))


def district_report(
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    district: str,
    start: str,
    end: str,
    format: str = "html",
) -> DistrictFigures:
    """The figures of ``district`` from ``start`` to ``end`` (local days, inclusive); audited.

    The audit row's action is ``report.view`` (the dashboard) or ``report.export`` (a file),
    its target the district and period; a refusal computes nothing.

    Raises:
        Refused: ``not_logged_in``; ``wrong_role`` without a district-admin or auditor grant;
            ``out_of_scope`` (field ``district``) outside the grants; ``bad_input`` naming
            ``district``, ``from``, ``to`` or ``format``.
    """
    action = "report.view" if format == "html" else "report.export"
    audit = Audited(engine, attempt, action, target=f"{district}:{start}..{end}:{format}")
    with audit.checks():
        principal = audit.principal
        if principal.token is not None or not REPORT_ROLES.intersection(principal.roles):
            raise Refused(
                "wrong_role",
                "只有区民政和审计人员可查看统计 only district admins and auditors read reports",
            )
        if format not in REPORT_FORMATS:
            raise Refused(
                "bad_input",
                f"未知格式 unknown format {format!r} (one of: {', '.join(REPORT_FORMATS)})",
                field="format",
            )
        registry.check_district(district)
        audit.district = district
        period = Period.parse(start, end)
        communities = _communities(engine, principal, district)
    with Session(engine) as session:
        figures = district_figures(
            session, registry, district=district, period=period, communities=communities
        )
    audit.accepted()
    return figures
