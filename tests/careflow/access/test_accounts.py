"""Accounts, grants, logins with lockout, console sessions and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from careflow.access import Refused, accounts, actions
from careflow.access.scope import covers
from careflow.db.engine import session_scope
from careflow.db.seed_accounts import DEMO_PASSWORD, seed_demo_accounts
from careflow.db.tables import AuditEntry, Staff, StaffGrant
from careflow.errors import InputError
from careflow.registry import PluginRegistry

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
JIUSI = "wanbailin.wanghua.jiusi"


@pytest.fixture(autouse=True)
def _loaded_roles(registry: PluginRegistry) -> None:
    """Accounts accept the roles the loaded plugins declare: build a registry, as the CLI does."""


def test_a_grant_covers_its_area_and_everything_under_it() -> None:
    assert covers("taiyuan", JIUSI)
    assert covers("wanbailin", JIUSI)
    assert covers("wanbailin.wanghua", JIUSI)
    assert covers(JIUSI, JIUSI)
    assert not covers(JIUSI, "wanbailin.wanghua.jiusi2")
    assert not covers("wanbailin.wanghua.jiusi2", JIUSI)
    assert not covers("yingze", JIUSI)
    assert not covers(JIUSI, "wanbailin")  # a community grant does not reach district tasks


@pytest.fixture
def accounts_engine(seeded_engine: Engine) -> Engine:
    with session_scope(seeded_engine) as session:
        seed_demo_accounts(session)
    return seeded_engine


def test_demo_accounts_cover_every_role_of_every_demo_district(accounts_engine: Engine) -> None:
    with Session(accounts_engine) as session:
        grants = session.exec(select(StaffGrant)).all()
        held = {(g.role, g.area_code) for g in grants}
        assert ("auditor", "taiyuan") in held
        for district in ("wanbailin", "yingze", "xinghualing", "xiaodian"):
            for role in ("district_admin", "auditor", "charity_officer", "hospital"):
                assert (role, district) in held
        assert ("grid_worker", JIUSI) in held and ("volunteer", JIUSI) in held
        # The demo staff of the registry became the accounts of their role and area.
        jiusi_grid = session.exec(
            select(Staff).where(Staff.username == f"{JIUSI}-grid_worker")
        ).one()
        assert jiusi_grid.community_code == JIUSI and jiusi_grid.password_hash
        assert DEMO_PASSWORD not in (jiusi_grid.password_hash or "")
        # A second run adds nothing.
        assert seed_demo_accounts(session) == 0


def test_five_failed_logins_lock_the_account_and_every_attempt_is_audited(
    accounts_engine: Engine,
) -> None:
    user = "wanbailin-auditor"
    for _ in range(5):
        with pytest.raises(Refused) as refused:
            actions.login(
                accounts_engine,
                username=user,
                password="wrong-password",
                channel="api",
                request_id="r1",
            )
        assert refused.value.reason == "bad_password" and refused.value.status == 401
    # Locked now, even with the right password.
    with pytest.raises(Refused) as refused:
        actions.login(
            accounts_engine, username=user, password=DEMO_PASSWORD, channel="api", request_id="r2"
        )
    assert refused.value.reason == "locked" and refused.value.status == 429
    # An unknown username gets the same answer as a wrong password.
    with pytest.raises(Refused) as refused:
        actions.login(
            accounts_engine,
            username="nobody",
            password="x" * 12,
            channel="console",
            request_id="r3",
        )
    assert refused.value.reason == "bad_password"
    with Session(accounts_engine) as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.actor, r.action, r.outcome, r.reason) for r in rows] == [
        *[(user, "auth.login", "refused", "bad_password")] * 5,
        (user, "auth.login", "refused", "locked"),
        ("nobody", "auth.login", "refused", "bad_password"),
    ]
    assert all(DEMO_PASSWORD not in (r.message or "") for r in rows)


def test_login_opens_a_session_that_names_the_account(accounts_engine: Engine) -> None:
    principal, secret, csrf = actions.login(
        accounts_engine,
        username=f"{JIUSI}-grid_worker",
        password=DEMO_PASSWORD,
        channel="console",
        request_id="r1",
    )
    assert principal.roles_at("wanbailin", JIUSI) == ["grid_worker"]
    assert principal.roles_at("wanbailin", "wanbailin.wanghua.wanghua_north") == []
    with Session(accounts_engine) as session:
        found = accounts.session_principal(session, secret=secret, now=datetime.now(UTC))
        assert found is not None and found[0].staff_id == principal.staff_id and found[1] == csrf
        assert accounts.session_principal(session, secret=secret + "x", now=NOW) is None
        later = datetime.now(UTC) + accounts.SESSION_TTL + timedelta(minutes=1)
        assert accounts.session_principal(session, secret=secret, now=later) is None


def test_a_revoked_grant_or_disabled_account_stops_at_the_next_request(
    accounts_engine: Engine,
) -> None:
    with session_scope(accounts_engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == f"{JIUSI}-grid_worker")).one()
        accounts.revoke_role(session, staff_id=staff.id, role="grid_worker", area=JIUSI)
        assert accounts.load_principal(session, staff.id).grants == ()
        staff.active = False
        session.add(staff)
        session.flush()
        with pytest.raises(Refused) as refused:
            accounts.load_principal(session, staff.id)
        assert refused.value.reason == "inactive"


def test_tokens_are_scoped_hashed_revocable_and_expire(accounts_engine: Engine) -> None:
    with session_scope(accounts_engine) as session:
        accounts.add_account(
            session,
            staff_id="SYS1",
            username="xhl-hospital-desk",
            name="省人民医院急诊",
            role="hospital",
            district="xinghualing",
            kind="system",
        )
        row, token = accounts.issue_token(
            session,
            staff_id="SYS1",
            name="desk",
            event_types=["eldercare.hospital_response"],
            districts=["xinghualing"],
            expires_at=datetime.now(UTC) + timedelta(days=1),
            known_event_types=["eldercare.hospital_response"],
        )
        assert token.startswith(f"cft_{row.id}_") and token.split("_", 2)[2] not in row.secret_hash
        principal = accounts.token_principal(session, token=token, now=datetime.now(UTC))
        assert principal.kind == "system" and principal.token is not None
        assert principal.token.event_types == {"eldercare.hospital_response"}
        for bad in (token + "x", "cft_nope_nope", "Bearer", ""):
            with pytest.raises(Refused) as refused:
                accounts.token_principal(session, token=bad, now=datetime.now(UTC))
            assert refused.value.reason == "bad_token"
        with pytest.raises(Refused):
            accounts.token_principal(
                session, token=token, now=datetime.now(UTC) + timedelta(days=2)
            )
        accounts.revoke_token(session, token_id=row.id)
        with pytest.raises(Refused):
            accounts.token_principal(session, token=token, now=datetime.now(UTC))
        with pytest.raises(InputError) as bad_input:
            accounts.issue_token(
                session,
                staff_id="SYS1",
                name="desk",
                event_types=["no.such_event"],
                districts=["xinghualing"],
                expires_at=datetime.now(UTC) + timedelta(days=1),
                known_event_types=["eldercare.hospital_response"],
            )
        assert bad_input.value.field == "event_types"


def test_bad_account_input_names_the_field(accounts_engine: Engine) -> None:
    cases = [
        ({"role": "mayor"}, "role"),
        ({"district": "atlantis"}, "district"),
        ({"community": "yingze.nowhere.x"}, "area"),
        ({"username": "has space"}, "username"),
        ({"password": "short"}, "password"),
        ({"staff_id": "S0001"}, "staff_id"),
    ]
    for change, field in cases:
        values = {
            "staff_id": "S9001",
            "username": "new-user",
            "name": "新同事",
            "role": "grid_worker",
            "district": "wanbailin",
            "community": None,
            "password": None,
            **change,
        }
        with session_scope(accounts_engine) as session, pytest.raises(InputError) as err:
            accounts.add_account(session, **values)
        assert err.value.field == field, change
