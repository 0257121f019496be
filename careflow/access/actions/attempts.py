"""One attempt at one action: where it aims, how its refusals are audited, its Temporal client.

Every action builds an :class:`Audited` for itself. Refusals raised inside
:meth:`Audited.checks` are audited exactly once, with the target and area known at that moment;
:meth:`Audited.accepted` writes the row of a success.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client
from temporalio.service import RPCError

from careflow.access.audit import Attempt, record
from careflow.access.form_errors import field_problems
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.errors import InputError, PayloadError

__all__ = ["ACCEPT_WITHIN", "Audited", "ClientSource", "now"]

ACCEPT_WITHIN = 10.0
"""Seconds a completion waits for the workflow to accept it (a worker to run the validator)."""

ClientSource = Client | Callable[[], Awaitable[Client]]
"""A Temporal client, or how to get one: actions connect only once every local check passed,
so bad input is refused (and audited) even while Temporal is down."""

_TEMPORAL_ERRORS = (RPCError, TimeoutError, RuntimeError)


def now() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


def _input_refusal(err: InputError, reason: str, label: str) -> Refused:
    """An input error as a refusal; a payload's every failing field becomes a field problem."""
    problems = []
    if isinstance(err, PayloadError) and isinstance(err.__cause__, ValidationError):
        problems = field_problems(err.__cause__, prefix=err.field.split(".", 1)[0])
    text = "; ".join(f"{p.field}: {p.message}" for p in problems) or f"{err.field}: {err.problem}"
    return Refused(reason, f"{label} {text}", field=err.field, problems=problems)


def _temporal_refusal(err: BaseException, what: str) -> Refused:
    if isinstance(err, TimeoutError):
        return Refused(
            "temporal_unavailable",
            f"{what}：流程暂未响应，请稍后重试 {what}: the process did not answer in time; "
            "try again (a retry cannot complete it twice)",
        )
    return Refused(
        "temporal_unavailable",
        f"{what}：流程服务暂不可用 {what}: Temporal is unreachable ({type(err).__name__})",
    )


@dataclass(slots=True)
class Audited:
    """The audit side of one attempt at ``action``; target and area are filled in as learned."""

    engine: Engine
    attempt: Attempt
    action: str
    target: str | None = None
    district: str | None = None
    community: str | None = None

    @property
    def principal(self) -> Principal:
        """The authenticated principal.

        Raises:
            Refused: ``not_logged_in`` (to be audited by :meth:`checks`).
        """
        if self.attempt.principal is None:
            raise Refused("not_logged_in", "请先登录 please log in")
        return self.attempt.principal

    def refused(self, refusal: Refused) -> Refused:
        """Audit ``refusal`` and return it for the caller to raise."""
        try:
            record(
                self.engine,
                self.attempt,
                action=self.action,
                outcome="failed" if refusal.unavailable else "refused",
                target=self.target,
                district=self.district,
                community=self.community,
                reason=refusal.reason,
                message=refusal.message,
            )
        except SQLAlchemyError:
            # The database is down: the refusal itself says so; nothing can be recorded.
            if refusal.reason != "database_unavailable":
                raise
        return refusal

    def accepted(self, *, reason: str | None = None, message: str | None = None) -> None:
        """Write the row of the accepted attempt (``message``: what the person stated, such as
        an unmask's reason)."""
        record(
            self.engine,
            self.attempt,
            action=self.action,
            outcome="accepted",
            target=self.target,
            district=self.district,
            community=self.community,
            reason=reason,
            message=message,
        )

    @contextmanager
    def checks(
        self,
        *,
        inputs: str = "bad_input",
        label: str = "输入有误",
        temporal: str | None = None,
    ) -> Iterator[None]:
        """Audit what the block refuses, once, and raise it as a :class:`Refused`.

        Args:
            inputs: The refusal reason of an ``InputError`` raised in the block.
            label: The Chinese words the refusal's message starts with.
            temporal: What was not done, when the block calls Temporal: its errors become
                ``temporal_unavailable`` refusals (else they pass through).

        Raises:
            Refused: Audited.
        """
        try:
            yield
        except Refused as refusal:
            raise self.refused(refusal) from None
        except InputError as err:
            raise self.refused(_input_refusal(err, inputs, label)) from None
        except SQLAlchemyError as err:
            raise self.refused(
                Refused("database_unavailable", "数据库暂不可用 database unavailable")
            ) from err
        except _TEMPORAL_ERRORS as err:
            if temporal is None:
                raise
            raise self.refused(_temporal_refusal(err, temporal)) from None

    async def client(self, source: ClientSource) -> Client:
        """The client of ``source``; a failed connect is audited (``temporal_unavailable``).

        Raises:
            Refused: ``temporal_unavailable`` when the source raised it.
            Exception: Whatever else the source raised (the caller's own connect error).
        """
        if isinstance(source, Client):
            return source
        try:
            return await source()
        except Refused as refusal:
            raise self.refused(refusal) from None
        except Exception:
            self.refused(Refused("temporal_unavailable", "Temporal unreachable"))
            raise
