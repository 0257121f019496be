"""Report downloads: a district's figures, or a stored workbook, as a file to save.

Shared by the API (``/api/v1/reports``) and the console's dashboard, so both name their files
and keep them out of shared caches the same way.
"""

from __future__ import annotations

import json
from typing import Literal

from fastapi.responses import Response

from careflow.figures import (
    XLSX_MEDIA_TYPE,
    DistrictFigures,
    report_filename,
    to_csv,
    to_json,
    to_xlsx,
)

__all__ = ["CSV_MEDIA_TYPE", "DownloadFormat", "figures_download", "file_download"]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
DownloadFormat = Literal["csv", "xlsx", "json"]


def file_download(content: bytes, *, media_type: str, filename: str) -> Response:
    """``content`` as an attachment named ``filename``."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # Figures of a district: never kept by a shared cache.
            "Cache-Control": "private, no-store",
        },
    )


def figures_download(figures: DistrictFigures, format: DownloadFormat) -> Response:
    """A district's figures as an Excel workbook, a CSV file (long form, UTF-8 with BOM) or a
    JSON file (the API's ``format=json`` body)."""
    if format == "json":
        content = json.dumps(to_json(figures), ensure_ascii=False, indent=1).encode()
        return file_download(
            content, media_type="application/json", filename=report_filename(figures, "json")
        )
    if format == "csv":
        return file_download(
            to_csv(figures), media_type=CSV_MEDIA_TYPE, filename=report_filename(figures, "csv")
        )
    return file_download(
        to_xlsx(figures), media_type=XLSX_MEDIA_TYPE, filename=report_filename(figures, "xlsx")
    )
