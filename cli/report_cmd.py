"""``careflow report district``: a district's figures as an Excel, CSV or JSON file.

The command acts as an account (``--actor``, like every acting command): the access action
:func:`careflow.access.actions.district_report` checks that its grants cover the district
(a street or community grant exports those communities' figures only) and audits the attempt
as ``report.export``. A file is written next to its final name and renamed into place, so a
failed or refused export never leaves a file, nor half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from careflow.access import actions
from careflow.errors import InputError
from careflow.figures import DistrictFigures, report_filename, to_csv, to_json, to_xlsx
from cli.acting import ActorOption, cli_attempt, require_actor
from cli.app import cli_errors, database, echo_json, state

__all__ = ["EXPORT_FORMATS", "district", "register", "report_app", "write_atomically"]

EXPORT_FORMATS = ("xlsx", "csv", "json")
"""What ``--format`` accepts (the console's dashboard is the fourth way to read a report)."""

report_app = typer.Typer(
    help="统计报表 district reports: export a district's figures (audited).",
    no_args_is_help=True,
)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so
    readers see the old file or the whole new one, never a part.

    Raises:
        InputError: ``output`` cannot be written there.
    """
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as err:
        raise InputError("output", f"cannot write in {folder}: {err.strerror or err}") from err
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise InputError("output", f"cannot write {path}: {err.strerror or err}") from err


def _output_path(output: str | None, fmt: str) -> Path | None:
    """Where the file goes (None: stdout), checked before anything is computed.

    Raises:
        InputError: ``output`` is a folder or its folder does not exist.
    """
    if output is None or output == "-":
        if fmt == "xlsx" and output == "-":
            raise InputError("output", "a workbook is not written to stdout; name a file")
        return None
    path = Path(output).expanduser()
    if path.is_dir():
        raise InputError("output", f"{path} is a folder; name a file · 请给出文件名")
    if not path.parent.is_dir():
        raise InputError("output", f"no such folder: {path.parent} · 目录不存在")
    return path


def _render(figures: DistrictFigures, fmt: str) -> bytes:
    if fmt == "xlsx":
        return to_xlsx(figures)
    if fmt == "csv":
        return to_csv(figures)
    import json

    text = json.dumps(to_json(figures), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")


@cli_errors
def district(
    ctx: typer.Context,
    district_code: Annotated[
        str, typer.Argument(metavar="DISTRICT", help="District code, e.g. wanbailin.")
    ],
    start: Annotated[
        str, typer.Option("--from", help="First local day (Asia/Shanghai), YYYY-MM-DD.")
    ],
    end: Annotated[str, typer.Option("--to", help="Last local day, inclusive, YYYY-MM-DD.")],
    fmt: Annotated[
        str, typer.Option("--format", help="xlsx, csv (UTF-8 with BOM) or json.")
    ] = "xlsx",
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write. Default: csv and json to stdout; xlsx to "
            "report-<district>-<from>-<to>.xlsx here.",
        ),
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Export a district's report for whole local days (audited) · 导出区统计报表.

    People counts of 1 and 2 are shown as <3. Prints the file's path when one is written.
    """
    st = state(ctx)
    if fmt not in EXPORT_FORMATS:
        raise InputError("format", f"expected one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    path = _output_path(output, fmt)
    actor_id = require_actor(actor)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="report.export")
        figures = actions.district_report(
            engine,
            st.registry,
            attempt,
            district=district_code,
            start=start,
            end=end,
            format=fmt,
        )
    if path is None and fmt == "xlsx":
        path = Path.cwd() / report_filename(figures, "xlsx")
    if path is None:
        if fmt == "json":
            echo_json(to_json(figures))
        else:
            # The bytes as they are, BOM included: `> report.csv` opens in Excel.
            typer.echo(to_csv(figures), nl=False)
        return
    write_atomically(path, _render(figures, fmt))
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``report`` group to ``app``."""
    report_app.command("district")(district)
    app.add_typer(report_app, name="report")
