"""Fixtures of the staff-service tests: a seeded database with the demo accounts, a worker on
the time-skipping test server and the app in front of both, and logged-in httpx clients.

``staff_stack`` is what most tests want::

    async def test_x(staff_stack: StaffStack) -> None:
        async with staff_stack.client_for(GRID_JIUSI) as grid:
            ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from careflow.access import accounts
from careflow.db.seed_accounts import DEMO_PASSWORD, seed_demo_accounts
from careflow.db.tables import AuditEntry, Staff, Task
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from staff_service.app import create_app
from tests.support.cleanup import terminate_started
from tests.support.inbox import wait_for_task
from worker.testing import running_worker

BASE = "http://staff.test"

GRID_JIUSI = "wanbailin.wanghua.jiusi-grid_worker"
STAFF_JIUSI = "wanbailin.wanghua.jiusi-community_staff"
STAFF_XINGHUA = "wanbailin.xinghua.xinghua-community_staff"
GRID_XINGHUA = "wanbailin.xinghua.xinghua-grid_worker"
ADMIN_WANBAILIN = "wanbailin-district_admin"
ADMIN_YINGZE = "yingze-district_admin"
AUDITOR_CITY = "taiyuan-auditor"
AUDITOR_WANBAILIN = "wanbailin-auditor"

XINGHUA = "wanbailin.xinghua.xinghua"
DELIVERY_REQUEST: dict[str, Any] = {
    "recipient_ref": "P00012",  # an elder of 兴华社区 in the demo registry
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
    "purpose": "micro_wish",
}


@pytest.fixture
def staff_engine(seeded_engine: Engine) -> Engine:
    """The migrated, seeded test database with every demo account."""
    with Session(seeded_engine) as session:
        seed_demo_accounts(session)
        session.commit()
    return seeded_engine


def staff_id(engine: Engine, username: str) -> str:
    """The account id of a demo username."""
    with Session(engine) as session:
        row = session.exec(select(Staff).where(Staff.username == username)).one()
        return row.id


def audit_rows(engine: Engine, *, since_id: int = 0) -> list[AuditEntry]:
    """Audit rows after ``since_id``, oldest first."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEntry).where(col(AuditEntry.id) > since_id).order_by(col(AuditEntry.id))
            ).all()
        )


def last_audit_id(engine: Engine) -> int:
    """The id of the newest audit row (0 for none)."""
    rows = audit_rows(engine)
    return rows[-1].id or 0 if rows else 0


def task_row(engine: Engine, task_id: str) -> Task:
    """A task row as it is now."""
    with Session(engine) as session:
        row = session.get(Task, task_id)
        assert row is not None
        return row


def issue_token(
    engine: Engine,
    registry: PluginRegistry,
    *,
    username: str,
    event_types: list[str],
    districts: list[str],
) -> str:
    """An API token for a demo account."""
    with Session(engine) as session:
        _row, token = accounts.issue_token(
            session,
            staff_id=staff_id(engine, username),
            name="test-token",
            event_types=event_types,
            districts=districts,
            expires_at=datetime.now(UTC) + timedelta(days=1),
            known_event_types=registry.routes.keys(),
        )
        session.commit()
    return token


def make_partner(engine: Engine, *, staff: str, username: str, district: str) -> str:
    """A partner system account (no grants; it acts only through its token)."""
    with Session(engine) as session:
        accounts.add_account(
            session,
            staff_id=staff,
            username=username,
            name="合作系统",
            role="hospital",
            district=district,
            kind="system",
        )
        session.commit()
    return staff


async def login(client: httpx.AsyncClient, username: str) -> str:
    """Log ``client`` in as a demo account; its CSRF token goes into its default headers."""
    answer = await client.post(
        "/api/v1/session", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    csrf: str = answer.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return csrf


@dataclass
class StaffStack:
    """The app with a worker on the time-skipping server, and ways to call it."""

    app: FastAPI
    engine: Engine
    registry: PluginRegistry
    client: Client
    task_queue: str

    @asynccontextmanager
    async def anonymous(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client with no credentials."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            yield http

    @asynccontextmanager
    async def client_for(self, username: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client logged in (cookie + CSRF header) as a demo account."""
        async with self.anonymous() as http:
            await login(http, username)
            yield http

    @asynccontextmanager
    async def token_client(self, token: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client sending ``token`` as its bearer token."""
        async with self.anonymous() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            yield http

    async def start_delivery(self, *, as_user: str = STAFF_XINGHUA) -> str:
        """Start a Delivery in 兴华社区 through the API; its workflow id."""
        async with self.client_for(as_user) as http:
            answer = await http.post(
                "/api/v1/processes/delivery",
                json={"district": "wanbailin", "community": XINGHUA, "request": DELIVERY_REQUEST},
            )
        assert answer.status_code == 201, answer.text
        workflow_id: str = answer.json()["workflow_id"]
        return workflow_id

    async def dropoff_task(self, *, as_user: str = STAFF_XINGHUA) -> Task:
        """A fresh Delivery's open drop-off task (community staff of 兴华社区)."""
        workflow_id = await self.start_delivery(as_user=as_user)
        return await wait_for_task(self.engine, workflow_id, "dropoff")


@pytest.fixture
async def staff_stack(
    ts_env: WorkflowEnvironment, staff_engine: Engine, full_registry: PluginRegistry
) -> AsyncIterator[StaffStack]:
    """The app on the seeded database with a worker of every built-in plugin."""
    async with running_worker(ts_env.client, full_registry, engine=staff_engine) as worker:
        settings = Settings(task_queue=worker.task_queue, reply_within=5.0)
        app = create_app(
            settings=settings,
            registry=full_registry,
            engine=staff_engine,
            client=ts_env.client,
            console=False,
        )
        yield StaffStack(
            app=app,
            engine=staff_engine,
            registry=full_registry,
            client=ts_env.client,
            task_queue=worker.task_queue,
        )
    # After the worker stopped, so no activity of these processes is still running.
    await terminate_started(ts_env.client, staff_engine)
