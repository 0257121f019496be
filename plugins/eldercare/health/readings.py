"""What other plugins may read about an elder's health-station readings: row ids, never values.

A district step attaches readings to a case by id (``ec_health_reading`` keeps the values, which
are health data); it reads them through :func:`latest_reading_ids`, never the table.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from plugins.eldercare.health.tables import HealthReading

__all__ = ["latest_reading_ids"]


def latest_reading_ids(
    session: Session, *, elder_ref: str, district: str, limit: int = 5
) -> list[int]:
    """Row ids of the elder's latest readings in the district, newest first.

    Args:
        session: A session of the app database.
        elder_ref: The elder's registry id.
        district: The district whose stations measured them.
        limit: At most this many ids.

    Raises:
        ValueError: ``limit`` is not positive.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    rows = session.exec(
        select(HealthReading.id)
        .where(HealthReading.elder_ref == elder_ref)
        .where(HealthReading.district == district)
        .order_by(col(HealthReading.measured_at).desc(), col(HealthReading.id).desc())
        .limit(limit)
    ).all()
    return [int(r) for r in rows if r is not None]
