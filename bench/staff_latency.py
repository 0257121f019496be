"""Staff-service latency: 20 concurrent staff completing tasks and listing inboxes over HTTP.

On a local Temporal dev server with a worker of every built-in plugin and the demo registry
and accounts in a SQLite app database, the staff service runs under real uvicorn in its own
process (``staff_service.server.run_staff_service``, as ``careflow serve`` runs it) on a free
port. The worker and the load generator (httpx, one logged-in client per simulated person)
share this process. Each person loops: list the inbox, complete the first drop-off task of
their community, until their tasks are done.

Printed: p50/p95/p99 of a completion over HTTP (request in → auth, checks, audit → Update
accepted → task recorded → reply; and with ``Prefer: respond-async``, answered 202 at
acceptance) and of an inbox listing, and in the same run a baseline: the
bare ``complete_task`` Update (what the action sends, with no HTTP, auth, checks or audit) by
20 concurrent callers, timed to accepted and to recorded (the task-close activity done), and
the inbox query called in process. Goal: a completion p95 under 100 ms.

    .venv/bin/python bench/staff_latency.py [--staff 20] [--tasks 8] [--rounds 2]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import signal
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowUpdateStage

from careflow import service
from careflow.access import actions
from careflow.access.accounts import load_principal
from careflow.db import make_engine, upgrade
from careflow.db.seed import seed_demo
from careflow.db.seed_accounts import DEMO_PASSWORD, seed_demo_accounts
from careflow.db.tables import Area, Donor, Person, Staff, Task
from careflow.models import CompleteTaskInput, TaskOutcome
from careflow.registry import PluginRegistry, discover_plugins
from careflow.settings import Settings
from worker.testing import local_environment, running_worker

REPLY_WITHIN = 5.0


@dataclass
class Person_:
    """One simulated member of staff: a community and its community-staff account."""

    community: str
    district: str
    username: str
    staff_id: str
    recipient: str


@dataclass
class Timings:
    """Latencies in milliseconds."""

    complete: list[float] = field(default_factory=list)
    inbox: list[float] = field(default_factory=list)
    accepted: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _people(engine: Engine, count: int) -> list[Person_]:
    """Community-staff accounts of ``count`` communities that have an elder to deliver to."""
    found: list[Person_] = []
    with Session(engine) as session:
        communities = session.exec(
            select(Area).where(Area.level == "community").order_by(col(Area.code))
        ).all()
        for area in communities:
            username = f"{area.code}-community_staff"
            staff = session.exec(select(Staff).where(Staff.username == username)).first()
            elder = session.exec(
                select(Person).where(Person.community_code == area.code, Person.kind == "elder")
            ).first()
            if staff is None or elder is None:
                continue
            district = area.code.split(".")[0]
            found.append(Person_(area.code, district, username, staff.id, elder.id))
            if len(found) == count:
                break
    if len(found) < count:
        raise SystemExit(f"only {len(found)} communities with staff and elders in the demo seed")
    return found


def _donor(engine: Engine) -> str:
    with Session(engine) as session:
        donor = session.exec(select(Donor).order_by(col(Donor.id))).first()
        assert donor is not None
        return donor.id


async def _start_deliveries(
    client: Client,
    registry: PluginRegistry,
    engine: Engine,
    people: list[Person_],
    *,
    per_person: int,
    task_queue: str,
) -> None:
    """Start ``per_person`` deliveries in each person's community; wait for the tasks."""
    donor = _donor(engine)
    starts = [
        service.start_process(
            client,
            registry,
            process="delivery",
            district=p.district,
            community=p.community,
            case_ref=f"B{uuid.uuid4().hex[:10]}",
            request={
                "recipient_ref": p.recipient,
                "donor_ref": donor,
                "items": [{"category": "school_bag", "quantity": 1}],
                "purpose": "micro_wish",
            },
            started_by=p.staff_id,
            task_queue=task_queue,
        )
        for p in people
        for _ in range(per_person)
    ]
    for chunk in range(0, len(starts), 40):
        await asyncio.gather(*starts[chunk : chunk + 40])
    want = len(starts)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(_open_dropoffs(engine)) >= want:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"only {len(_open_dropoffs(engine))} of {want} drop-off tasks opened")


def _open_dropoffs(engine: Engine, community: str | None = None) -> list[Task]:
    with Session(engine) as session:
        statement = select(Task).where(Task.step_key == "dropoff", Task.status == "open")
        if community is not None:
            statement = statement.where(Task.community == community)
        return list(session.exec(statement.order_by(col(Task.task_id))).all())


async def _settle(engine: Engine) -> None:
    """Wait until every drop-off answered early is recorded, so the next phase starts clean."""
    deadline = time.monotonic() + 120
    while _open_dropoffs(engine) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)


async def _timed(timings: list[float], call: Callable[[], Awaitable[Any]]) -> Any:
    begin = time.perf_counter()
    result = await call()
    timings.append((time.perf_counter() - begin) * 1000)
    return result


async def _http_person(
    base_url: str, person: Person_, tasks: int, timings: Timings, *, prefer_async: bool = False
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        login = await http.post(
            "/api/v1/session", json={"username": person.username, "password": DEMO_PASSWORD}
        )
        login.raise_for_status()
        http.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        done = 0
        while done < tasks:
            inbox = await _timed(
                timings.inbox,
                lambda: http.get("/api/v1/tasks", params={"process": "delivery", "limit": 50}),
            )
            if inbox.status_code != 200:
                timings.error(f"inbox {inbox.status_code}")
                continue
            dropoffs = [t for t in inbox.json()["tasks"] if t["role"] == "community_staff"]
            if not dropoffs:
                timings.error("inbox empty")
                await asyncio.sleep(0.05)
                continue
            task_id: str = dropoffs[0]["task_id"]

            def complete(task_id: str = task_id) -> Awaitable[httpx.Response]:
                return http.post(
                    f"/api/v1/tasks/{task_id}/complete",
                    json={"data": {"items_match": True}},
                    headers={
                        "Idempotency-Key": task_id,
                        **({"Prefer": "respond-async"} if prefer_async else {}),
                    },
                )

            answer = await _timed(timings.complete, complete)
            if answer.status_code != (202 if prefer_async else 200):
                timings.error(f"complete {answer.status_code}")
            done += 1


async def _bare_person(
    client: Client, engine: Engine, person: Person_, tasks: int, timings: Timings
) -> None:
    with Session(engine) as session:
        principal = load_principal(session, person.staff_id)
    for task in _open_dropoffs(engine, person.community)[:tasks]:
        await _timed(
            timings.inbox,
            lambda: asyncio.to_thread(
                actions.inbox, engine, principal, process="delivery", limit=50
            ),
        )

        update = CompleteTaskInput(
            task_id=task.task_id,
            actor=person.staff_id,
            role="community_staff",
            data={"items_match": True},
            request_id="rbench",
        )
        handle = client.get_workflow_handle(task.workflow_id)
        begin = time.perf_counter()
        accepted = await handle.start_update(
            "complete_task",
            update,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=TaskOutcome,
        )
        timings.accepted.append((time.perf_counter() - begin) * 1000)
        try:
            await asyncio.wait_for(accepted.result(), timeout=REPLY_WITHIN)
        except (TimeoutError, RPCTimeoutOrCancelledError):
            timings.error("bare not recorded in time")
        timings.complete.append((time.perf_counter() - begin) * 1000)


def _serve_process(database_url: str, temporal: str, port: int, task_queue: str) -> None:
    """The staff service in its own process, as ``careflow serve`` runs it."""
    from staff_service.server import run_staff_service

    settings = Settings(
        database_url=database_url,
        temporal_address=temporal,
        api_port=port,
        task_queue=task_queue,
        reply_within=REPLY_WITHIN,
        log_level="WARNING",
    )
    registry = PluginRegistry.build(discover_plugins())

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await run_staff_service(settings, registry, stop=stop)

    asyncio.run(main())


async def _wait_for(base_url: str) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base_url) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/api/v1/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"the staff service did not start at {base_url}")


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        only = values[0] if values else float("nan")
        return only, only, only
    q = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), q[94], q[98]


def _line(name: str, values: list[float]) -> str:
    p50, p95, p99 = _percentiles(values)
    return f"  {name:<34} n={len(values):4d}  p50 {p50:7.1f}  p95 {p95:7.1f}  p99 {p99:7.1f} ms"


@contextmanager
def _database(server_url: str | None) -> Iterator[str]:
    """A fresh app database: SQLite in a temporary folder, or a new database on the PostgreSQL
    server of ``server_url`` (dropped afterwards)."""
    if server_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"careflow_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


async def main(staff: int, tasks: int, rounds: int, database_url: str | None) -> None:
    registry = PluginRegistry.build(discover_plugins())
    env = await local_environment()
    temporal = env.client.service_client.config.target_host
    backend = "PostgreSQL" if database_url else "SQLite"
    with _database(database_url) as url:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            seed_demo(session)
            seed_demo_accounts(session)
            session.commit()
        people = _people(engine, staff)
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        server: multiprocessing.process.BaseProcess | None = None
        http, early, bare = Timings(), Timings(), Timings()
        try:
            async with running_worker(env.client, registry, engine=engine) as worker:
                tq = worker.task_queue
                server = multiprocessing.get_context("spawn").Process(
                    target=_serve_process, args=(url, temporal, port, tq), daemon=True
                )
                server.start()
                await _wait_for(base_url)
                # Warm-up: one task each way, not counted.
                await _start_deliveries(
                    env.client, registry, engine, people[:2], per_person=2, task_queue=tq
                )
                await _http_person(base_url, people[0], 1, Timings())
                await _bare_person(env.client, engine, people[-1], 1, Timings())
                for r in range(rounds):
                    await _start_deliveries(
                        env.client, registry, engine, people, per_person=tasks, task_queue=tq
                    )
                    began = time.perf_counter()
                    await asyncio.gather(*(_http_person(base_url, p, tasks, http) for p in people))
                    http_s = time.perf_counter() - began
                    await _start_deliveries(
                        env.client, registry, engine, people, per_person=tasks, task_queue=tq
                    )
                    await asyncio.gather(
                        *(
                            _http_person(base_url, p, tasks, early, prefer_async=True)
                            for p in people
                        )
                    )
                    await _settle(engine)
                    await _start_deliveries(
                        env.client, registry, engine, people, per_person=tasks, task_queue=tq
                    )
                    began = time.perf_counter()
                    await asyncio.gather(
                        *(_bare_person(env.client, engine, p, tasks, bare) for p in people)
                    )
                    bare_s = time.perf_counter() - began
                    print(
                        f"round {r + 1}: {staff * tasks} completions over HTTP in {http_s:.1f} s, "
                        f"bare in {bare_s:.1f} s",
                        flush=True,
                    )
        finally:
            if server is not None and server.pid is not None:
                server.terminate()
                server.join(15)
            engine.dispose()
            await env.shutdown()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n{staff} concurrent staff, {tasks} tasks each, {rounds} rounds ({when})")
    print(f"HTTP API (uvicorn in its own process, httpx clients, {backend}, dev server):")
    print(_line("completion (200 recorded)", http.complete))
    print(_line("completion, Prefer: respond-async", early.complete))
    print(_line("inbox listing", http.inbox))
    print("baseline in the same run (no HTTP, auth, checks or audit):")
    print(_line("bare complete_task Update accepted", bare.accepted))
    print(_line("bare complete_task Update recorded", bare.complete))
    print(_line("inbox query in process", bare.inbox))
    h50, h95, h99 = _percentiles(http.complete)
    b50, b95, b99 = _percentiles(bare.complete)
    print(
        f"ratio HTTP/bare completion: p50 {h50 / b50:.2f}  p95 {h95 / b95:.2f}  "
        f"p99 {h99 / b99:.2f}   (goal: HTTP completion p95 < 100 ms)"
    )
    a50, a95, a99 = _percentiles(early.complete)
    c50, c95, c99 = _percentiles(bare.accepted)
    print(
        f"ratio HTTP/bare to acceptance:  p50 {a50 / c50:.2f}  p95 {a95 / c95:.2f}  "
        f"p99 {a99 / c99:.2f}"
    )
    if http.errors or early.errors or bare.errors:
        print(f"errors: HTTP {http.errors}  respond-async {early.errors}  bare {bare.errors}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=None,
        help="A PostgreSQL server URL (postgresql+psycopg://postgres@127.0.0.1:5432/test): the "
        "bench creates and drops a database of its own there. Default: SQLite.",
    )
    args = parser.parse_args()
    asyncio.run(main(args.staff, args.tasks, args.rounds, args.database_url))
