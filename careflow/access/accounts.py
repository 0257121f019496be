"""Accounts, grants, console sessions and API tokens: keyword-only functions taking a session.

The caller owns the transaction. Secrets (passwords, session cookies, token secrets) are never
stored or logged: passwords as argon2id hashes, cookies and token secrets as SHA-256 (they are
random and long, so a fast hash is enough and keeps every request cheap).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from careflow.access.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from careflow.access.principal import Grant, Principal, TokenScope
from careflow.access.refusals import Refused
from careflow.access.scope import CITY
from careflow.areas import DISTRICTS
from careflow.db.tables import ApiToken, Area, Staff, StaffGrant, StaffSession
from careflow.db.types import utcnow
from careflow.errors import InputError
from careflow.inputs import check_id
from careflow.roles import known_roles

__all__ = [
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "SESSION_TTL",
    "TOKEN_PREFIX",
    "TOKEN_USE_RESOLUTION",
    "account_id",
    "add_account",
    "authenticate",
    "check_area",
    "close_session",
    "grant_role",
    "grants_of",
    "issue_token",
    "list_accounts",
    "list_tokens",
    "load_principal",
    "open_session",
    "revoke_role",
    "revoke_token",
    "session_principal",
    "set_password",
    "token_label",
    "token_principal",
]

MAX_FAILED_LOGINS = 5
"""Failed logins in a row after which an account is locked for :data:`LOCKOUT`."""
LOCKOUT = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
"""A console login lasts one working day."""
TOKEN_PREFIX = "cft"
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
"""How precisely a token's ``last_used_at`` is kept."""


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_area(session: Session, area: str) -> str:
    """Return ``area`` if it is ``taiyuan``, a district or a registry area code.

    Raises:
        InputError: On ``area`` otherwise.
    """
    if area == CITY or area in DISTRICTS or session.get(Area, area) is not None:
        return area
    raise InputError(
        "area", f"未知区域 unknown area {area!r} (taiyuan, a district, street or community)"
    )


def _check_role(role: str) -> str:
    # Roles are the loaded plugins' (careflow.roles): the CLI and the staff service build the
    # registry before they touch accounts, so its roles are known here.
    known = known_roles()
    if role not in known:
        listed = ", ".join(sorted(known)) or "none: no plugin registry is loaded"
        raise InputError("role", f"未知角色 unknown role {role!r} (known: {listed})")
    return role


def add_account(
    session: Session,
    *,
    staff_id: str,
    username: str,
    name: str,
    role: str,
    district: str,
    community: str | None = None,
    kind: str = "person",
    password: str | None = None,
) -> Staff:
    """Create an account (a member of staff, or a partner ``system``) with no grants yet.

    Raises:
        InputError: A malformed or taken id or username, an unknown role or area, a kind other
            than person/system, a password shorter than :data:`MIN_PASSWORD_LENGTH`.
    """
    check_id("staff_id", staff_id, max_length=16)
    check_id("username", username, max_length=64)
    _check_role(role)
    if kind not in ("person", "system"):
        raise InputError("kind", f"kind must be 'person' or 'system', not {kind!r}")
    if not name.strip() or len(name) > 32:
        raise InputError("name", "name must be 1 to 32 characters")
    if district not in DISTRICTS:
        raise InputError("district", f"未知区 unknown district {district!r}")
    if community is not None:
        check_area(session, community)
        if not community.startswith(district + "."):
            raise InputError("community", f"{community!r} is not in district {district!r}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            "password",
            f"密码至少 {MIN_PASSWORD_LENGTH} 位 at least {MIN_PASSWORD_LENGTH} characters",
        )
    if session.get(Staff, staff_id) is not None:
        raise InputError("staff_id", f"account {staff_id!r} already exists")
    if session.exec(select(Staff).where(Staff.username == username)).first() is not None:
        raise InputError("username", f"username {username!r} is taken")
    row = Staff(
        id=staff_id,
        username=username,
        name=name,
        role=role,
        district_code=district,
        community_code=community,
        kind=kind,
        password_hash=hash_password(password) if password else None,
    )
    session.add(row)
    session.flush()
    return row


def set_password(session: Session, *, staff_id: str, password: str) -> None:
    """Set an account's password (and clear its lockout)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            "password",
            f"密码至少 {MIN_PASSWORD_LENGTH} 位 at least {MIN_PASSWORD_LENGTH} characters",
        )
    staff = _account(session, staff_id)
    staff.password_hash = hash_password(password)
    staff.failed_logins = 0
    staff.locked_until = None
    session.add(staff)
    session.flush()


def _account(session: Session, staff_id: str) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise InputError("staff_id", f"未知账号 unknown account {staff_id!r}")
    return staff


def grant_role(session: Session, *, staff_id: str, role: str, area: str, by: str) -> StaffGrant:
    """Give an account ``role`` over ``area``; granting a held grant changes nothing.

    Raises:
        InputError: Unknown account, role or area.
    """
    _account(session, staff_id)
    _check_role(role)
    check_area(session, area)
    row = session.exec(
        select(StaffGrant).where(
            StaffGrant.staff_id == staff_id, StaffGrant.role == role, StaffGrant.area_code == area
        )
    ).first()
    if row is None:
        row = StaffGrant(staff_id=staff_id, role=role, area_code=area, granted_by=by)
    elif row.revoked_at is not None:
        row.revoked_at, row.granted_by, row.granted_at = None, by, utcnow()
    session.add(row)
    session.flush()
    return row


def revoke_role(session: Session, *, staff_id: str, role: str, area: str) -> StaffGrant:
    """Revoke a held grant; the row stays as the record that it was held.

    Raises:
        InputError: The account holds no such live grant.
    """
    row = session.exec(
        select(StaffGrant).where(
            StaffGrant.staff_id == staff_id,
            StaffGrant.role == role,
            StaffGrant.area_code == area,
            col(StaffGrant.revoked_at).is_(None),
        )
    ).first()
    if row is None:
        raise InputError("grant", f"{staff_id} holds no grant {role}@{area}")
    row.revoked_at = utcnow()
    session.add(row)
    session.flush()
    return row


def grants_of(session: Session, staff_id: str) -> tuple[Grant, ...]:
    """The live grants of an account."""
    rows = session.exec(
        select(StaffGrant)
        .where(StaffGrant.staff_id == staff_id, col(StaffGrant.revoked_at).is_(None))
        .order_by(col(StaffGrant.area_code), col(StaffGrant.role))
    ).all()
    return tuple(Grant(role=r.role, area=r.area_code) for r in rows)


def list_accounts(session: Session, *, district: str | None = None) -> Sequence[Staff]:
    """Accounts with a username, by id; only those of ``district`` when given."""
    statement = select(Staff).where(col(Staff.username).is_not(None))
    if district is not None:
        statement = statement.where(Staff.district_code == district)
    return session.exec(statement.order_by(col(Staff.id))).all()


def account_id(session: Session, ref: str) -> str:
    """The staff id of the account ``ref`` names: a staff id, else a username (else ``ref``)."""
    if session.get(Staff, ref) is not None:
        return ref
    found = session.exec(select(Staff.id).where(Staff.username == ref)).first()
    return found or ref


def load_principal(
    session: Session, staff_id: str, *, token: TokenScope | None = None
) -> Principal:
    """The principal of an existing, active account, with its live grants.

    Raises:
        Refused: ``unknown`` for no such account, ``inactive`` for a disabled one.
    """
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise Refused("unknown", f"未知账号 unknown account {staff_id!r}", field="actor")
    if not staff.active:
        raise Refused("inactive", f"账号已停用 account {staff_id} is disabled", field="actor")
    return Principal(
        staff_id=staff.id,
        name=staff.name,
        kind="system" if staff.kind == "system" else "person",
        grants=grants_of(session, staff.id),
        token=token,
        username=staff.username,
    )


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> Principal:
    """Check a console login; count failures and lock the account after too many.

    The failure count is written in the caller's transaction, which must be committed even when
    this raises (so the lockout holds).

    Raises:
        Refused: ``bad_password`` (unknown username or wrong password: the same answer),
            ``locked`` while locked out, ``inactive`` for a disabled account.
    """
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        verify_password(None, password)
        raise Refused(
            "bad_password", "用户名或密码错误 wrong username or password", field="password"
        )
    if staff.locked_until is not None and staff.locked_until > now:
        raise Refused(
            "locked",
            "登录失败次数过多，请 15 分钟后再试 too many failed logins; try again in 15 minutes",
            field="username",
        )
    if not verify_password(staff.password_hash, password):
        staff.failed_logins += 1
        if staff.failed_logins >= MAX_FAILED_LOGINS:
            staff.locked_until, staff.failed_logins = now + LOCKOUT, 0
        session.add(staff)
        session.flush()
        raise Refused(
            "bad_password", "用户名或密码错误 wrong username or password", field="password"
        )
    if staff.password_hash and needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    staff.failed_logins, staff.locked_until = 0, None
    session.add(staff)
    session.flush()
    return load_principal(session, staff.id)


def open_session(
    session: Session, *, staff_id: str, now: datetime, ttl: timedelta = SESSION_TTL
) -> tuple[str, str]:
    """Start a console session.

    Returns:
        The cookie secret (give it to the browser only) and the session's CSRF token.
    """
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        StaffSession(
            id_hash=_sha256(secret),
            staff_id=staff_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return secret, csrf


def session_principal(
    session: Session, *, secret: str, now: datetime
) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live console session, or None."""
    row = session.get(StaffSession, _sha256(secret))
    if row is None or row.expires_at <= now:
        return None
    try:
        return load_principal(session, row.staff_id), row.csrf_token
    except Refused:
        return None


def close_session(session: Session, *, secret: str) -> None:
    """End a console session (logout); an unknown secret changes nothing."""
    row = session.get(StaffSession, _sha256(secret))
    if row is not None:
        session.delete(row)
        session.flush()


def issue_token(
    session: Session,
    *,
    staff_id: str,
    name: str,
    event_types: Iterable[str],
    districts: Iterable[str],
    expires_at: datetime,
    known_event_types: Iterable[str],
) -> tuple[ApiToken, str]:
    """Issue an API token for an account, limited to ``event_types`` in ``districts``.

    Returns:
        The row and the token string, ``cft_<id>_<secret>``: shown once, stored only hashed.

    Raises:
        InputError: Unknown account, event type or district; no event types or districts; an
            expiry in the past.
    """
    _account(session, staff_id)
    check_id("name", name, max_length=64)
    types, areas = sorted(set(event_types)), sorted(set(districts))
    unknown = set(types) - set(known_event_types)
    if not types or unknown:
        raise InputError(
            "event_types", f"unknown or no event types: {', '.join(sorted(unknown)) or '(none)'}"
        )
    if not areas or set(areas) - DISTRICTS.keys():
        raise InputError("districts", f"unknown or no districts: {', '.join(areas) or '(none)'}")
    if expires_at <= utcnow():
        raise InputError("expires", "the expiry must be in the future")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiToken(
        id=token_id,
        staff_id=staff_id,
        name=name,
        secret_hash=_sha256(secret),
        event_types=types,
        districts=areas,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, f"{TOKEN_PREFIX}_{token_id}_{secret}"


def _split_token(token: str) -> tuple[str, str] | None:
    """(token id, secret) of a ``cft_<id>_<secret>`` string; the secret may hold ``_``."""
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not token_id or not secret:
        return None
    return token_id, secret


def token_label(token: str) -> str:
    """What may be written down about a token someone presented: ``cft_<id>``, never more."""
    parts = _split_token(token)
    return f"{TOKEN_PREFIX}_{parts[0][:16]}" if parts else "token"


def token_principal(session: Session, *, token: str, now: datetime) -> Principal:
    """The principal of a valid API token; records when it was last used (to the minute).

    Raises:
        Refused: ``bad_token`` for a malformed, unknown, wrong, revoked or expired token.
    """
    parts = _split_token(token)
    row = session.get(ApiToken, parts[0]) if parts else None
    if row is None or parts is None or not hmac.compare_digest(row.secret_hash, _sha256(parts[1])):
        raise Refused("bad_token", "无效的令牌 invalid API token")
    if row.revoked_at is not None:
        raise Refused("bad_token", f"令牌已撤销 token {row.id} was revoked")
    if row.expires_at <= now:
        raise Refused("bad_token", f"令牌已过期 token {row.id} has expired")
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
        # At most one write a minute per token: every request reads it, few need to write.
        row.last_used_at = now
        session.add(row)
        session.flush()
    scope = TokenScope(
        token_id=row.id,
        event_types=frozenset(row.event_types),
        districts=frozenset(row.districts),
        expires_at=row.expires_at,
    )
    return load_principal(session, row.staff_id, token=scope)


def revoke_token(session: Session, *, token_id: str) -> ApiToken:
    """Revoke a token at once; revoking a revoked token changes nothing.

    Raises:
        InputError: No such token.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        raise InputError("token_id", f"unknown token {token_id!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    return row


def list_tokens(session: Session, *, staff_id: str | None = None) -> Sequence[ApiToken]:
    """Tokens (never their secrets), newest first."""
    statement = select(ApiToken)
    if staff_id is not None:
        statement = statement.where(ApiToken.staff_id == staff_id)
    return session.exec(statement.order_by(col(ApiToken.created_at).desc())).all()
