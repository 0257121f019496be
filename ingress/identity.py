"""Who the ingress delivers events as: an API token of a partner-system account.

The ingress is a channel like the HTTP API: every event goes through
:func:`careflow.access.actions.send_event` with an :class:`~careflow.access.audit.Attempt` of
the token's principal, so the token's scope (event types, districts) decides what is taken
and every attempt leaves an audit row. Nothing a message says about its sender counts.

Where the token comes from: ``CAREFLOW_INGRESS_TOKEN`` (production: issue one with
``careflow staff token issue``), else ``<data_dir>/ingress.token`` (mode 0600), which
``careflow dev`` writes on its first run for the demo districts and the device event types.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access import accounts
from careflow.access.audit import Attempt, new_request_id, record
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.db.engine import session_scope
from careflow.db.tables import Area, Staff
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from careflow.settings import Settings

__all__ = [
    "DEVICE_EVENT_TYPES",
    "INGRESS_ACCOUNT",
    "TOKEN_ENV",
    "TOKEN_FILE",
    "IngressIdentity",
    "ensure_dev_token",
    "ingress_token",
    "token_file_path",
]

log = structlog.get_logger("careflow.ingress")

TOKEN_ENV = "CAREFLOW_INGRESS_TOKEN"
TOKEN_FILE = "ingress.token"
INGRESS_ACCOUNT = "S-INGRESS"
"""The dev stack's ingress account (a partner ``system``)."""
DEVICE_EVENT_TYPES = (
    "eldercare.reading",
    "eldercare.curtain_report",
    "eldercare.curtain_away",
    "eldercare.hospital_response",
    "eldercare.hospital_arrival",
    "eldercare.hospital_discharge",
    "delivery.dropoff",
)
"""What devices and partner systems send; the dev token may send these (those installed)."""
DEV_TOKEN_DAYS = 365
PRINCIPAL_TTL = 30.0
"""Seconds a verified principal is reused: a revoked token stops the ingress within this."""


def token_file_path(settings: Settings) -> Path:
    """``<data_dir>/ingress.token``."""
    return settings.data_dir / TOKEN_FILE


def ingress_token(settings: Settings) -> str:
    """The token the ingress delivers as.

    Raises:
        InputError: Neither ``CAREFLOW_INGRESS_TOKEN`` nor a readable token file.
    """
    if settings.ingress_token is not None:
        return settings.ingress_token.get_secret_value().strip()
    path = token_file_path(settings)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    if not text:
        raise InputError(
            TOKEN_ENV,
            f"no ingress token: set {TOKEN_ENV} to a token of a system account "
            "(`careflow staff token issue`), or run `careflow dev` once, which writes "
            f"{path} · 未配置设备接入令牌",
        )
    return text


def _write_secret(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(text + "\n")
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)


def _valid(engine: Engine, token: str) -> bool:
    try:
        with session_scope(engine) as session:
            accounts.token_principal(session, token=token, now=datetime.now(UTC))
    except Refused:
        return False
    return True


def _demo_districts(session: Session) -> list[str]:
    streets = session.exec(select(Area.parent_code).where(Area.level == "street")).all()
    return sorted({code for code in streets if code})


def ensure_dev_token(
    settings: Settings, engine: Engine, registry: PluginRegistry
) -> tuple[str, bool]:
    """What ``careflow dev`` calls: the ingress's token, made on the first run.

    With ``CAREFLOW_INGRESS_TOKEN`` set, that one. Else the token file's, while it is valid;
    else (first run, a new database, an expired or revoked token) a new token of the account
    ``S-INGRESS`` for the device event types in the demo registry's districts, written to the
    token file. The issue is audited like ``careflow staff token issue``.

    Returns:
        The token and whether it was made now.
    """
    if settings.ingress_token is not None:
        return settings.ingress_token.get_secret_value().strip(), False
    path = token_file_path(settings)
    try:
        existing = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        existing = ""
    if existing and _valid(engine, existing):
        return existing, False
    types = [t for t in DEVICE_EVENT_TYPES if t in registry.routes]
    with session_scope(engine) as session:
        districts = _demo_districts(session)
        if not types or not districts:
            raise InputError(
                "ingress", "no device event types or no districts to issue the ingress token for"
            )
        if session.get(Staff, INGRESS_ACCOUNT) is None:
            taken = session.exec(
                select(Staff.id).where(col(Staff.username) == "careflow-ingress")
            ).first()
            if taken is not None:
                raise InputError("ingress", "username careflow-ingress is taken by another account")
            accounts.add_account(
                session,
                staff_id=INGRESS_ACCOUNT,
                username="careflow-ingress",
                name="设备接入 MQTT ingress",
                role="community_staff",
                district=districts[0],
                kind="system",
            )
        row, secret = accounts.issue_token(
            session,
            staff_id=INGRESS_ACCOUNT,
            name="dev-ingress",
            event_types=types,
            districts=districts,
            expires_at=datetime.now(UTC) + timedelta(days=DEV_TOKEN_DAYS),
            known_event_types=registry.routes.keys(),
        )
    attempt = Attempt(
        principal=None, channel="cli", request_id=new_request_id(), claimed="careflow-dev"
    )
    record(
        engine,
        attempt,
        action="token.issue",
        outcome="accepted",
        target=f"{INGRESS_ACCOUNT}:{row.id}",
    )
    _write_secret(path, secret)
    log.info("ingress.token_created", token_id=row.id, path=str(path))
    return secret, True


@dataclass(slots=True)
class IngressIdentity:
    """The ingress's principal, verified again every :data:`PRINCIPAL_TTL` seconds."""

    engine: Engine
    token: str
    ttl: float = PRINCIPAL_TTL
    _principal: Principal | None = None
    _checked: float = 0.0

    def principal(self, now: float) -> Principal:
        """The token's principal (``now``: a monotonic clock).

        Raises:
            Refused: ``bad_token`` (unknown, revoked, expired): nothing can be delivered.
            SQLAlchemyError: The database is unavailable.
        """
        if self._principal is None or now - self._checked > self.ttl:
            with session_scope(self.engine) as session:
                self._principal = accounts.token_principal(
                    session, token=self.token, now=datetime.now(UTC)
                )
            self._checked = now
        return self._principal

    def forget(self) -> None:
        """Verify the token again at the next message."""
        self._principal = None

    def attempt(self, now: float, *, request_id: str) -> Attempt:
        """The attempt of one event: this principal, channel ``api``, the event id as request id.

        The audit trail knows three channels (console, api, cli); the ingress is a machine
        client with an API token, so its rows are ``api`` rows of the ingress account.
        """
        return Attempt(principal=self.principal(now), channel="api", request_id=request_id)

    @property
    def event_types(self) -> Iterable[str]:
        """The event types the token may send (empty before the first check)."""
        scope = self._principal.token if self._principal is not None else None
        return sorted(scope.event_types) if scope is not None else ()
