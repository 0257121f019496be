"""The weekly report's one activity: compute the week's figures, store the workbook once.

A process is not a person: it holds no grants, so it reads the whole district straight
through :func:`careflow.figures.district_figures` (people counts below 3 still suppressed).
Idempotent on the week: the file of (district, week, xlsx) is stored once, whichever run or
retry gets there first; a retry of the run that stored it finds it and answers the same.
"""

from __future__ import annotations

import asyncio
import hashlib

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity

from careflow.db.engine import session_scope
from careflow.db.types import utcnow
from careflow.figures import Period, district_figures, to_xlsx
from careflow.registry import PluginRegistry
from plugins.reports.models import ActivityNames, BuildInput, BuildResult
from plugins.reports.tables import ReportFile

__all__ = ["ReportActivities"]

_log = structlog.get_logger("careflow.reports")

FORMAT = "xlsx"


def _result(row: ReportFile, input: BuildInput) -> BuildResult:
    assert row.id is not None
    return BuildResult(
        file_id=row.id,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
        stored_by=row.workflow_id,
        stored_here=row.workflow_id == input.workflow_id,
    )


class ReportActivities:
    """The report activities, bound to the app database and the worker's plugins."""

    def __init__(self, engine: Engine, *, registry: PluginRegistry) -> None:
        """Keep the database and the registry whose sections a report has."""
        self._engine = engine
        self._registry = registry

    def _existing(self, session: Session, input: BuildInput) -> ReportFile | None:
        return session.exec(
            select(ReportFile).where(
                ReportFile.district == input.district,
                ReportFile.period_start == input.start,
                ReportFile.period_end == input.end,
                ReportFile.format == FORMAT,
            )
        ).first()

    @activity.defn(name=ActivityNames.BUILD_WEEKLY)
    async def build_weekly(self, input: BuildInput) -> BuildResult:
        """Build the district's workbook of ``start``..``end`` and store it unless stored."""
        return await asyncio.to_thread(self._build, input)

    def _build(self, input: BuildInput) -> BuildResult:
        period = Period(input.start, input.end)
        with Session(self._engine) as session:
            found = self._existing(session, input)
            if found is not None:
                return _result(found, input)
            figures = district_figures(
                session, self._registry, district=input.district, period=period
            )
        now = utcnow()
        content = to_xlsx(figures, generated_at=now)
        row = ReportFile(
            district=input.district,
            period_start=input.start,
            period_end=input.end,
            format=FORMAT,
            workflow_id=input.workflow_id,
            created_at=now,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )
        try:
            with session_scope(self._engine) as session:
                session.add(row)
                session.flush()
                result = _result(row, input)
        except IntegrityError:
            # Another run stored this week between the look and the insert: that file stands.
            with Session(self._engine) as session:
                found = self._existing(session, input)
            if found is None:
                raise
            return _result(found, input)
        _log.info(
            "report.stored",
            district=input.district,
            start=input.start.isoformat(),
            end=input.end.isoformat(),
            file_id=result.file_id,
            size=result.size,
        )
        return result
