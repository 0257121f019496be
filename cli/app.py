"""The ``careflow`` Typer app and the helpers every command shares.

Commands are thin: they read arguments, call :mod:`careflow.service` (or the database layer)
and print. What they share lives here: the per-invocation state (settings and the validated
plugin registry), reading JSON from a file or stdin, printing JSON or human text, and turning
every expected failure into one line on stderr with a stable exit status:

* ``2``: bad input (``InputError``, ``PluginError``, a payload that does not validate, a
  missing or unreadable file, invalid JSON). Nothing is started or written.
* ``1``: the environment failed (Temporal unreachable or refusing a request, database
  missing or not migrated, dev stack could not start). Temporal refusing a request as
  ``INVALID_ARGUMENT`` (an id or payload over its limits) is bad input: ``2``.

With ``--json`` anywhere on the command line, that line is JSON instead, still on stderr (stdout
stays for results only) and with the same exit status:
``{"error": {"field": "district", "message": "...", "exit_code": 2}}``. ``field`` names the
option, setting or payload field at fault, or is null when the environment failed as a whole.

Nothing here builds settings, engines or clients at import time; the app callback builds the
settings and the registry when a command runs, so tests can set ``CAREFLOW_*`` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

# typer vendors click (``typer._click``, typer ≥ 0.29): the group below customises parsing,
# help and usage errors, which typer's public API does not cover.
from typer._click.core import Context, Parameter
from typer._click.exceptions import UsageError
from typer._click.formatting import HelpFormatter
from typer._click.globals import get_current_context

import careflow.registry
from careflow import tracing
from careflow.access.refusals import Refused
from careflow.codec.errors import CodecError
from careflow.datadir import DATA_DIR_RULE
from careflow.errors import InputError, PayloadError, PluginError, format_validation_error
from careflow.logging import configure_logging
from careflow.registry import PluginRegistry, load_overrides
from careflow.settings import Settings

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "MAX_JSON_DEPTH",
    "CliState",
    "EnvironmentFailure",
    "PayloadError",
    "app",
    "cli_errors",
    "database",
    "echo_json",
    "echo_lines",
    "read_json",
    "redacted_url",
    "require_migrated",
    "run_async",
    "state",
    "stop_on_signals",
    "temporal_client",
    "temporal_reachable",
    "validate_payload",
]

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in a JSON input; forms need a handful."""
_JSON_ERRORS = "careflow.json_errors"
_TRACED_SERVICES = {
    "worker": tracing.SERVICE_WORKER,
    "serve": tracing.SERVICE_SERVE,
    "dev": tracing.SERVICE_DEV,
    "ingress": tracing.SERVICE_INGRESS,
}
"""The ``service.name`` of a serving command's spans; every other command's is careflow-cli."""
_SERVING_COMMANDS = frozenset(_TRACED_SERVICES)
"""Commands that run until stopped and configure logging at the settings' level themselves."""
_COMMAND_PATH = "careflow.command_path"

P = ParamSpec("P")
R = TypeVar("R")
ModelT = TypeVar("ModelT", bound=BaseModel)


class EnvironmentFailure(Exception):
    """Something outside the user's input failed: Temporal, the database, the dev stack.

    Args:
        message: The one line to print.
        field: What failed, for ``--json`` errors (``database``, ``temporal``), if one thing.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class CliState:
    """What the app callback prepares for every command."""

    settings: Settings
    registry: PluginRegistry


def _wants_json(args: list[str]) -> bool:
    """Whether ``--json`` is among the options (not after a ``--`` that ends them)."""
    options = args[: args.index("--")] if "--" in args else args
    return "--json" in options


def _where_lines() -> str:
    """Where this invocation keeps its data, for ``careflow --help``."""
    try:
        settings = Settings()
    except ValidationError:
        return "数据目录 data directory: settings are invalid; run any command to see which."
    return (
        f"数据目录 data directory: {settings.data_dir}\n\n"
        f"数据库 database: {redacted_url(settings.resolved_database_url)}\n\n"
        f"Resolved once per command: {DATA_DIR_RULE}; CAREFLOW_DATABASE_URL overrides the "
        "database. CAREFLOW_PLUGINS=a,b loads only those plugins. Times are shown in "
        "Asia/Shanghai (北京时间) to the minute; --json keeps UTC ISO 8601. With --json, errors "
        'are JSON on stderr: {"error": {"field", "message", "exit_code"}}.'
    )


class CareflowGroup(typer.core.TyperGroup):
    """The top-level command group: says where the data is in ``--help``; with ``--json``,
    usage errors (a missing option, a bad value) are JSON like every other error."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        # The group sees the whole command line; subcommand contexts share this ``meta``.
        ctx.meta[_JSON_ERRORS] = _wants_json(args)
        ctx.meta[_COMMAND_PATH] = _command_path(self, ctx, args)
        try:
            return super().parse_args(ctx, args)
        except UsageError as err:
            _json_usage_error(ctx, err)
            raise

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as err:
            _json_usage_error(ctx, err)
            raise

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self.epilog = _where_lines()
        super().format_help(ctx, formatter)


def _command_path(group: typer.core.TyperGroup, ctx: Context, args: list[str]) -> list[str]:
    """The command names on the command line (``["tasks", "complete"]``), never a value."""
    names: list[str] = []
    current: Any = group
    for token in args:
        if token == "--":
            break
        if not isinstance(current, typer.core.TyperGroup) or token.startswith("-"):
            continue
        command = current.get_command(ctx, token)
        if command is None:
            continue
        names.append(token)
        current = command
        if not isinstance(current, typer.core.TyperGroup):
            break
    return names


def _json_usage_error(ctx: Context, err: UsageError) -> None:
    """With ``--json``, print a usage error as a JSON error and exit with click's status."""
    if not ctx.meta.get(_JSON_ERRORS):
        return
    param = getattr(err, "param", None)
    field = param.name if isinstance(param, Parameter) and param.name else None
    _echo_json_error(field, err.format_message(), err.exit_code)
    raise typer.Exit(err.exit_code)


app = typer.Typer(
    name="careflow",
    help="careflow: 一老一小 社区服务流程 · durable community-service processes on Temporal.",
    cls=CareflowGroup,
    no_args_is_help=True,
    add_completion=False,
    # Our own handler prints one line; a rich traceback would bury it.
    pretty_exceptions_enable=False,
)


# --- errors -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Failure:
    """An expected failure as the user sees it."""

    code: int
    label: str  # e.g. 错误 error
    text: str  # the human line after the label
    field: str | None = None
    message: str | None = None  # for --json when it differs from ``text``


def _echo_json_error(field: str | None, message: str, code: int) -> None:
    error = {"field": field, "message": message, "exit_code": code}
    typer.echo(json.dumps({"error": error}, ensure_ascii=False), err=True)


def _json_errors() -> bool:
    ctx = get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_JSON_ERRORS))


def _fail(failure: _Failure) -> NoReturn:
    if _json_errors():
        _echo_json_error(failure.field, failure.message or failure.text, failure.code)
    else:
        typer.echo(f"{failure.label}: {failure.text}", err=True)
    raise typer.Exit(failure.code)


def _settings_error(err: ValidationError) -> InputError:
    """Name the environment variable of each bad setting, e.g. ``CAREFLOW_UI_PORT``."""
    problems = [
        ("CAREFLOW_" + "_".join(str(part) for part in item["loc"]).upper(), item["msg"])
        for item in err.errors()
    ]
    field, problem = problems[0]
    for other, message in problems[1:]:
        problem += f"; {other}: {message}"
    return InputError(field, problem)


def _is_connect_error(err: BaseException) -> bool:
    # temporalio raises a bare RuntimeError for a frontend it cannot reach.
    return isinstance(err, RuntimeError) and str(err).startswith("Failed client connect")


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _rpc_failure(err: RPCError) -> _Failure:
    """Temporal's own refusal as one line: its status and the first line of its message."""
    status = err.status.name if err.status else "UNKNOWN"
    message = _first_line(err.message or str(err)) or status
    if err.status == RPCStatusCode.UNAVAILABLE:
        return _Failure(
            EXIT_FAILURE, "失败 failed", f"Temporal is unavailable: {message}", "temporal"
        )
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        # e.g. "WorkflowId length exceeds limit", "Blob data size exceeds limit": the request
        # was too big for Temporal, which is the caller's input.
        return _Failure(
            EXIT_BAD_INPUT,
            "错误 error",
            f"Temporal 拒绝了请求 refused the request: {message}",
            "temporal",
        )
    return _Failure(EXIT_FAILURE, "失败 failed", f"Temporal error {status}: {message}", "temporal")


def _database_where() -> str:
    """The database this command uses (password hidden), for error lines."""
    ctx = get_current_context(silent=True)
    st = ctx.find_object(CliState) if ctx is not None else None
    return redacted_url(st.settings.resolved_database_url) if st is not None else "?"


def _failure(err: Exception) -> _Failure | None:
    """Classify an expected failure; None for anything else (a bug keeps its traceback)."""
    if isinstance(err, PluginError):
        return _Failure(EXIT_BAD_INPUT, "插件错误 plugin error", str(err), "plugins")
    if isinstance(err, Refused):
        if err.unavailable:
            return _Failure(EXIT_FAILURE, "失败 failed", err.message, err.field or err.reason)
        where = f"{err.field}: " if err.field else ""
        return _Failure(
            EXIT_BAD_INPUT,
            "拒绝 refused",
            f"{where}{err.message} [{err.reason}]",
            err.field or err.reason,
            f"{err.message} [{err.reason}]",
        )
    if isinstance(err, PayloadError):
        return _Failure(EXIT_BAD_INPUT, "错误 error", str(err), err.field)
    if isinstance(err, InputError):
        return _Failure(EXIT_BAD_INPUT, "错误 error", str(err), err.field, err.problem)
    if isinstance(err, ValidationError):
        errors = err.errors()
        field = ".".join(str(p) for p in errors[0]["loc"]) if errors else None
        return _Failure(EXIT_BAD_INPUT, "错误 error", format_validation_error(err), field or None)
    if isinstance(err, EnvironmentFailure):
        return _Failure(EXIT_FAILURE, "失败 failed", str(err), err.field)
    if isinstance(err, CodecError):  # a payload under a key this ring lacks, or altered
        return _Failure(EXIT_FAILURE, "失败 failed", str(err), "codec")
    if isinstance(err, RPCError):
        return _rpc_failure(err)
    if isinstance(err, SQLAlchemyError):
        return _Failure(
            EXIT_FAILURE,
            "数据库错误 database error",
            f"{_database_problem(err)} (database {_database_where()}; is it migrated? "
            "run `careflow migrate`)",
            "database",
        )
    if _is_connect_error(err):
        return _Failure(EXIT_FAILURE, "失败 failed", f"cannot reach Temporal: {err}", "temporal")
    return None


def _database_problem(err: SQLAlchemyError) -> str:
    # Only the driver's first line: SQLAlchemy's full message lists statement parameters,
    # which may hold personal data from the registry.
    if isinstance(err, DBAPIError) and err.orig is not None:
        return str(err.orig).splitlines()[0] if str(err.orig) else type(err.orig).__name__
    return type(err).__name__


def cli_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn careflow's expected failures into one line on stderr and an exit status.

    Bad input exits 2 (Temporal refusing a request as ``INVALID_ARGUMENT`` included); an
    unreachable or failing Temporal, a database error or a failed dev stack exits 1. With
    ``--json`` the line is ``{"error": {"field", "message", "exit_code"}}``. Anything else is a
    bug and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            failure = _failure(err)
            if failure is None:
                raise
            _fail(failure)

    return wrapper


# --- state --------------------------------------------------------------------------------------


@app.callback()
@cli_errors
def _load(ctx: typer.Context) -> None:
    """careflow: 一老一小 社区服务流程 · durable community-service processes on Temporal."""
    try:
        settings = Settings()
    except ValidationError as err:
        raise _settings_error(err) from err
    # Loading validates every plugin, so a broken one stops every command right here.
    config = settings.plugin_config
    registry = PluginRegistry.build(
        load_plugins(settings),
        overrides=load_overrides(config),
        config_source=None if config is None else str(config),
    )
    ctx.obj = CliState(settings=settings, registry=registry)
    _trace(ctx, settings)
    if ctx.invoked_subcommand not in _SERVING_COMMANDS:
        # One-shot commands print their result; their log lines (the audit line of an
        # attempt, say) go to stderr only when something is wrong.
        configure_logging(level="WARNING", fmt=settings.log_format)


def _trace(ctx: typer.Context, settings: Settings) -> None:
    """With ``CAREFLOW_OTLP_ENDPOINT`` set: trace this process, and a one-shot command as a
    root span (``careflow.cli tasks complete``) whose children are the Temporal calls it makes.

    The span ends and the spans still queued are sent when the command's context closes,
    before :func:`cli.main` leaves the process with ``os._exit``.
    """
    command = ctx.invoked_subcommand or ""
    service = _TRACED_SERVICES.get(command, tracing.SERVICE_CLI)
    serving = command in _SERVING_COMMANDS
    if (
        tracing.configure(settings, service=service, export_timeout=10.0 if serving else 2.0)
        is None
    ):
        return
    ctx.call_on_close(tracing.shutdown)
    if not serving:
        path = " ".join(ctx.meta.get(_COMMAND_PATH) or [command])
        ctx.with_resource(_command_span(path))


@contextmanager
def _command_span(path: str) -> Iterator[None]:
    """The root span of one command: its names, its exit status (only its type on error)."""
    from opentelemetry.trace import Status, StatusCode

    with tracing.root_span(f"careflow.cli {path}", attributes={"careflow.command": path}) as span:
        code = 0
        try:
            yield
        except typer.Exit as done:
            code = done.exit_code
            raise
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
            raise
        except Exception:
            code = 1
            raise
        finally:
            if span is not None:
                span.set_attribute("process.exit.code", code)
                span.set_status(
                    Status(StatusCode.OK) if code == 0 else Status(StatusCode.ERROR, f"exit {code}")
                )


def load_plugins(settings: Settings) -> list[Any]:
    """The installed plugins, or only those ``CAREFLOW_PLUGINS`` names.

    Raises:
        InputError: ``CAREFLOW_PLUGINS`` names a plugin that is not installed.
        PluginError: A plugin cannot be loaded.
    """
    only = settings.plugin_names
    if only is None:
        return careflow.registry.discover_plugins()
    plugins = careflow.registry.discover_plugins(only=only)
    missing = sorted(only - {plugin.name for plugin in plugins})
    if missing:
        raise InputError(
            "CAREFLOW_PLUGINS",
            f"not installed: {', '.join(missing)} (see `careflow plugins` without it)",
        )
    return plugins


def state(ctx: typer.Context) -> CliState:
    """The settings and registry the app callback prepared."""
    obj = ctx.find_object(CliState)
    if obj is None:  # a command invoked without the app callback (a bug, not user input)
        raise RuntimeError("careflow CLI state is missing")
    return obj


# --- input --------------------------------------------------------------------------------------


def read_json(source: str, *, field: str) -> Any:
    """Read JSON from a file path, or from stdin when ``source`` is ``-``.

    Raises:
        InputError: The file cannot be read or does not hold valid JSON; names ``field``.
    """
    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(field, f"cannot read {where}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise InputError(field, f"{where} is not UTF-8 text: {err.reason}") from err
    too_deep = f"{where} is nested too deeply (at most {MAX_JSON_DEPTH} levels of [ and {{)"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            field, f"{where} is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
        ) from err
    except RecursionError:
        # The decoder recurses once per level; the traceback would only repeat that.
        raise InputError(field, too_deep) from None
    if _depth_exceeds(data, MAX_JSON_DEPTH):
        raise InputError(field, too_deep)
    return data


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def validate_payload(model: type[ModelT], data: Any, *, field: str) -> ModelT:
    """Validate ``data`` against ``model``, naming failing fields as ``<field>.<path>``.

    Raises:
        PayloadError: ``data`` does not validate.
    """
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise PayloadError(field, err) from err


# --- output -------------------------------------------------------------------------------------


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (Chinese kept readable, not escaped)."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def echo_lines(lines: list[str]) -> None:
    """Print human-readable lines."""
    typer.echo("\n".join(lines))


def redacted_url(url: str) -> str:
    """A database URL safe to print: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


# --- resources ----------------------------------------------------------------------------------


def run_async(coro: Coroutine[Any, Any, R]) -> R:
    """Run one command's coroutine to completion on a fresh event loop."""
    return asyncio.run(coro)


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM, so a serving command ends cleanly.

    Outside the main thread (a test running the command in a thread) the loop takes no signal
    handlers; the command then ends only when ``stop`` is set some other way.
    """
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


@asynccontextmanager
async def temporal_client(settings: Settings) -> AsyncIterator[Client]:
    """A client of the Temporal frontend in ``settings``.

    Raises:
        EnvironmentFailure: The frontend cannot be reached.
    """
    from careflow.temporal import connect

    with temporal_reachable(settings):
        client = await connect(settings)
    yield client


@contextmanager
def temporal_reachable(settings: Settings) -> Iterator[None]:
    """Turn temporalio's connect failure into a clear ``EnvironmentFailure`` (exit 1)."""
    try:
        yield
    except RuntimeError as err:
        if not _is_connect_error(err):
            raise
        raise EnvironmentFailure(
            f"cannot reach Temporal at {settings.temporal_address} "
            f"(namespace {settings.temporal_namespace}); is the stack up? "
            "start it with `careflow dev` or `make run` · 无法连接 Temporal"
        ) from err


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    return None if name.startswith("file:") else Path(name).expanduser()


def _loaded_plugins(settings: Settings) -> list[Any]:
    """The plugins of the command's registry, else those the settings load."""
    ctx = get_current_context(silent=True)
    st = ctx.find_object(CliState) if ctx is not None else None
    return list(st.registry.plugins) if st is not None else load_plugins(settings)


def require_migrated(settings: Settings, *, plugins: Sequence[Any] | None = None) -> None:
    """Refuse to act on an app database that is missing or not migrated to this version.

    Creates nothing: a SQLite file that does not exist is reported, not made. A revision the
    database records but no loaded plugin provides (an uninstalled module's) is no problem.

    Args:
        settings: Where the database is.
        plugins: The loaded plugins, whose migrations must have run; the command's registry's
            (or those the settings load) when omitted.

    Raises:
        EnvironmentFailure: The database is missing or behind (exit 1), naming where it is.
    """
    from careflow.db import current_revision, head_revision

    url = settings.resolved_database_url
    where = f"{redacted_url(url)} (数据目录 data directory {settings.data_dir})"
    file = _sqlite_file(url)
    if file is not None and not file.exists():
        raise EnvironmentFailure(
            f"数据库不存在 no database at {where}; run `careflow migrate` (or `careflow dev`), "
            "or set CAREFLOW_DATA_DIR / CAREFLOW_DATABASE_URL to the one you use",
            field="database",
        )
    current = set((current_revision(url) or "").split(",")) - {""}
    if plugins is None:
        plugins = _loaded_plugins(settings)
    missing = set((head_revision(plugins=plugins) or "").split(",")) - {""} - current
    if missing:
        raise EnvironmentFailure(
            f"数据库未迁移 database not migrated: {where} lacks {', '.join(sorted(missing))}; "
            "run `careflow migrate`",
            field="database",
        )


@contextmanager
def database(
    settings: Settings, *, migrated: bool = True, plugins: Sequence[Any] | None = None
) -> Iterator[Engine]:
    """An engine of the app database in ``settings``, disposed when the block ends.

    Args:
        settings: Where the database is.
        migrated: First check it exists and is migrated (:func:`require_migrated`), so a
            command never acts on, or creates, an empty database.
        plugins: The loaded plugins whose migrations must have run; the command's
            registry's when omitted.
    """
    from careflow.db import make_engine

    if migrated:
        require_migrated(settings, plugins=plugins)
    engine = make_engine(settings.resolved_database_url)
    try:
        yield engine
    finally:
        engine.dispose()
