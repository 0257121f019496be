"""Fixtures of the console tests: the whole app (console included) on a worker, and helpers
that act as a browser would (log in through the form, post forms with the page's tokens)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.seed_accounts import DEMO_PASSWORD
from careflow.db.tables import Task
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from staff_service.app import create_app
from tests.support.cases import keyed_id
from tests.support.cleanup import terminate_started
from worker.testing import running_worker

__all__ = [
    "AUDITOR",
    "GRID_JIUSI",
    "JIUSI",
    "MICROWISH",
    "STAFF_JIUSI",
    "STAFF_XINGHUA",
    "XINGHUA",
    "ConsoleStack",
    "hidden",
]

BASE = "http://console.test"
MICROWISH = "childcare.microwish"
JIUSI = "wanbailin.wanghua.jiusi"
XINGHUA = "wanbailin.xinghua.xinghua"
GRID_JIUSI = "wanbailin.wanghua.jiusi-grid_worker"
STAFF_JIUSI = "wanbailin.wanghua.jiusi-community_staff"
STAFF_XINGHUA = "wanbailin.xinghua.xinghua-community_staff"
AUDITOR = "taiyuan-auditor"


def hidden(html: str, name: str) -> str:
    """The value of the hidden input ``name`` of a page."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


@dataclass
class ConsoleStack:
    """The app (API and console) with a worker of every built-in plugin."""

    app: FastAPI
    engine: Engine
    registry: PluginRegistry
    client: Client
    task_queue: str

    def http(self) -> httpx.AsyncClient:
        """A client with no credentials, talking to the app in process."""
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url=BASE)

    async def login(self, http: httpx.AsyncClient, username: str) -> httpx.Response:
        """Log in through the console's login form; the page it lands on."""
        form = await http.get("/login")
        answer = await http.post(
            "/login",
            data={
                "username": username,
                "password": DEMO_PASSWORD,
                "login_token": hidden(form.text, "login_token"),
                "next": "/tasks",
            },
        )
        assert answer.status_code == 303, answer.text
        return await http.get(answer.headers["location"])

    async def start_microwish(self, community: str) -> str:
        """Start a micro-wish campaign of one community (as its community staff would)."""
        case_ref = f"MW{uuid.uuid4().hex[:8]}"
        started = await service.start_process(
            self.client,
            self.registry,
            process=MICROWISH,
            district="wanbailin",
            request={"communities": [community]},
            community=community,
            case_ref=case_ref,
            started_by="staff:S0001",
            task_queue=self.task_queue,
        )
        assert started.workflow_id == keyed_id(MICROWISH, "wanbailin", case_ref)
        return started.workflow_id

    def tasks(self, workflow_id: str, *, status: str | None = None) -> list[Task]:
        """The task rows of a workflow, by task id."""
        with Session(self.engine) as session:
            query = select(Task).where(Task.workflow_id == workflow_id)
            if status is not None:
                query = query.where(Task.status == status)
            return list(session.exec(query.order_by(col(Task.task_id))).all())


@pytest.fixture
async def console_stack(
    ts_env: WorkflowEnvironment, staff_engine: Engine, full_registry: PluginRegistry
) -> AsyncIterator[ConsoleStack]:
    """The whole staff service, console included, on the seeded database and a worker."""
    async with running_worker(ts_env.client, full_registry, engine=staff_engine) as worker:
        settings = Settings(task_queue=worker.task_queue, reply_within=5.0)
        app = create_app(
            settings=settings, registry=full_registry, engine=staff_engine, client=ts_env.client
        )
        yield ConsoleStack(
            app=app,
            engine=staff_engine,
            registry=full_registry,
            client=ts_env.client,
            task_queue=worker.task_queue,
        )
    # After the worker stopped, so no activity of these processes is still running.
    await terminate_started(ts_env.client, staff_engine)


def visit_data(**changes: Any) -> dict[str, str]:
    """A good household-visit form post (a school bag, 80 yuan, consent given)."""
    return {"category": "school_bag", "estimated_value_yuan": "80", "guardian_consent": "true"} | {
        k: str(v) for k, v in changes.items()
    }
