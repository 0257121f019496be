"""Reading a stored report file: who may download which district's workbook, audited.

A stored weekly workbook holds the whole district's figures, so it is served to readers of
reports (district admins, auditors) whose grant covers the whole district: a grant over a
street or community reads its own communities' figures through an export instead
(:func:`careflow.access.actions.district_report`), never another community's. Partner tokens
read no reports. Every attempt leaves a ``report.download`` audit row.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.access.actions.attempts import Audited
from careflow.access.actions.reports import REPORT_ROLES
from careflow.access.audit import Attempt
from careflow.access.refusals import Refused
from careflow.access.scope import covers
from plugins.reports.tables import ReportFile

__all__ = ["DOWNLOAD_ACTION", "download_report_file"]

DOWNLOAD_ACTION = "report.download"


def download_report_file(engine: Engine, attempt: Attempt, *, file_id: int) -> ReportFile:
    """The stored file ``file_id`` (content included), for a reader of its whole district.

    Raises:
        Refused: ``not_logged_in``; ``wrong_role`` without a district-admin or auditor grant
            (or for a token); ``unknown`` (field ``file_id``) for no such file;
            ``out_of_scope`` (field ``file_id``) when no report grant covers its district.
    """
    audit = Audited(engine, attempt, DOWNLOAD_ACTION, target=f"report_file:{file_id}")
    with audit.checks():
        principal = audit.principal
        if principal.token is not None or not REPORT_ROLES.intersection(principal.roles):
            raise Refused(
                "wrong_role",
                "只有区民政和审计人员可下载统计报表 only district admins and auditors read reports",
            )
        with Session(engine) as session:
            row = session.get(ReportFile, file_id)
        if row is None:
            raise Refused("unknown", f"没有此报表文件 no report file {file_id}", field="file_id")
        audit.district = row.district
        audit.target = (
            f"{row.district}:{row.period_start.isoformat()}..{row.period_end.isoformat()}"
            f":{row.format}#{file_id}"
        )
        if not any(
            g.role in REPORT_ROLES and covers(g.area, row.district) for g in principal.grants
        ):
            raise Refused(
                "out_of_scope",
                f"此报表为全区报表，您的授权不包括全区 the file covers all of {row.district}; "
                "your grants do not",
                field="file_id",
            )
    audit.accepted()
    return row
