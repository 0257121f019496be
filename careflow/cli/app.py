"""The ``careflow`` Typer app and the helpers every command shares.

Commands are thin: they read arguments, call :mod:`careflow.service` (or the database layer)
and print. What they share lives here: the per-invocation state (settings and the validated
plugin registry), reading JSON from a file or stdin, printing JSON or human text, and turning
every expected failure into one line on stderr with a stable exit status:

* ``2``: bad input (``InputError``, ``PluginError``, a payload that does not validate, a
  missing or unreadable file, invalid JSON). Nothing is started or written.
* ``1``: the environment failed (Temporal unreachable, database not migrated, dev stack
  could not start).

Nothing here builds settings, engines or clients at import time; the app callback builds the
settings and the registry when a command runs, so tests can set ``CAREFLOW_*`` first.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
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

from careflow.errors import InputError, PayloadError, PluginError, format_validation_error
from careflow.registry import PluginRegistry
from careflow.settings import Settings

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
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
    "run_async",
    "state",
    "temporal_client",
    "temporal_reachable",
    "validate_payload",
]

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1

P = ParamSpec("P")
R = TypeVar("R")
ModelT = TypeVar("ModelT", bound=BaseModel)


class EnvironmentFailure(Exception):
    """Something outside the user's input failed: Temporal, the database, the dev stack."""


@dataclass(frozen=True, slots=True)
class CliState:
    """What the app callback prepares for every command."""

    settings: Settings
    registry: PluginRegistry


app = typer.Typer(
    name="careflow",
    help="careflow: 一老一小 社区服务流程 · durable community-service processes on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    # Our own handler prints one line; a rich traceback would bury it.
    pretty_exceptions_enable=False,
)


# --- errors -------------------------------------------------------------------------------------


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


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


def _database_problem(err: SQLAlchemyError) -> str:
    # Only the driver's first line: SQLAlchemy's full message lists statement parameters,
    # which may hold personal data from the registry.
    if isinstance(err, DBAPIError) and err.orig is not None:
        return str(err.orig).splitlines()[0] if str(err.orig) else type(err.orig).__name__
    return type(err).__name__


def cli_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn careflow's expected failures into one line on stderr and an exit status.

    Bad input exits 2; an unreachable Temporal, a database error or a failed dev stack exits 1.
    Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except PluginError as err:
            _fail(f"插件错误 plugin error: {err}", EXIT_BAD_INPUT)
        except InputError as err:
            _fail(f"错误 error: {err}", EXIT_BAD_INPUT)
        except ValidationError as err:
            _fail(f"错误 error: {format_validation_error(err)}", EXIT_BAD_INPUT)
        except EnvironmentFailure as err:
            _fail(f"失败 failed: {err}", EXIT_FAILURE)
        except RPCError as err:
            if err.status == RPCStatusCode.UNAVAILABLE:
                _fail(f"失败 failed: Temporal is unavailable: {err.message}", EXIT_FAILURE)
            raise
        except SQLAlchemyError as err:
            _fail(
                f"数据库错误 database error: {_database_problem(err)} "
                "(is it migrated? run `careflow migrate`)",
                EXIT_FAILURE,
            )
        except RuntimeError as err:
            if _is_connect_error(err):
                _fail(f"失败 failed: cannot reach Temporal: {err}", EXIT_FAILURE)
            raise

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
    registry = PluginRegistry.discover(config=settings.plugin_config)
    ctx.obj = CliState(settings=settings, registry=registry)


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
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            field, f"{where} is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
        ) from err


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


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """An engine of the app database in ``settings``, disposed when the block ends."""
    from careflow.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    try:
        yield engine
    finally:
        engine.dispose()
