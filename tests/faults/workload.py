"""Shared support of the worker fault tests: ``careflow worker`` subprocesses, a workload of
real processes driven as staff drive them, and the exact count of every effect it leaves.

The workload is two process types that do both activity work and human tasks, in Yingze (no
district plugin adds steps to either there, so every step key is known in advance):

- ``delivery`` 物资配送: drop-off and hand-over tasks; the request, drop-off and confirmation
  case records; the donor's thank-you notification.
- ``eldercare.green_channel`` 急诊绿色通道: a registry check; triage, the hospital's answer,
  escort, arrival and discharge tasks; one hospital booking row, updated three times; a
  notification per family member (or one to community staff); eight case records.

The discharge is recorded as ``deceased``: it is the one outcome that closes a green channel
without the day-1/7/30 follow-up timers (days long on a dev server that does not skip time).

Completions go through :func:`careflow.service.check_completion` and
:func:`careflow.service.submit_completion` with an Update id per task, as the staff service
does: a completion whose answer was lost with a killed worker is sent again under the same
id, and Temporal answers it with the first one's outcome instead of applying it twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.seed import seed_demo
from careflow.db.seed_accounts import seed_demo_accounts
from careflow.db.tables import CaseRecord, Notification, Person, Task
from careflow.errors import InputError
from careflow.models import CompleteTaskInput
from careflow.registry import PluginRegistry
from plugins.eldercare.family import family_refs
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.eldercare.green_channel.tables import GreenChannelBooking
from tests.support.plugins import BUILT_IN
from worker.testing import cli_environment

__all__ = [
    "CAREFLOW",
    "DISTRICT",
    "Effects",
    "KillPlan",
    "WorkerProcess",
    "Workload",
    "activity_identities",
    "effect_problems",
    "seed",
    "temporal_state",
    "worker_env",
]

CAREFLOW = Path(sys.executable).parent / "careflow"
DISTRICT = "yingze"
DELIVERY = "delivery"
ACTOR = "S0001"
"""Completions trust their actor (the engine's own path); the demo district admin."""

READY_LINE = "worker.started"
POLL = 0.2
"""Seconds between the driver's reads of the open tasks (one query for the whole workload)."""


def seed(engine: Engine) -> None:
    """The deterministic demo registry and accounts, in a fresh database."""
    with Session(engine) as session:
        seed_demo(session)
        seed_demo_accounts(session)
        session.commit()


def worker_env(
    env: WorkflowEnvironment, *, database_url: str, task_queue: str, data_dir: Path
) -> dict[str, str]:
    """The environment of a ``careflow worker`` on the test's dev server, queue and database.

    The codec and pseudonym keys are the suite's test-only ones (set by ``tests/conftest.py``
    for every subprocess); nothing else of the caller's ``CAREFLOW_*`` settings leaks in.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith("CAREFLOW_")}
    for name in ("CAREFLOW_CODEC_KEYS", "CAREFLOW_PSEUDONYM_KEY", "CAREFLOW_ACTOR"):
        base[name] = os.environ[name]
    return cli_environment(
        BUILT_IN,
        base,
        CAREFLOW_TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        CAREFLOW_TASK_QUEUE=task_queue,
        CAREFLOW_DATABASE_URL=database_url,
        CAREFLOW_DATA_DIR=str(data_dir),
        CAREFLOW_LOG_FORMAT="json",
    )


class WorkerProcess:
    """``careflow worker`` as a subprocess; its output kept for identities and messages."""

    def __init__(self, env: dict[str, str], *, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [str(CAREFLOW), "worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # The SDK's default client identity: what the histories name as who ran a task.
        self.identity = f"{self.proc.pid}@{socket.gethostname()}"
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if READY_LINE in line:
                self._ready.set()

    def tail(self, n: int = 30) -> str:
        """The last ``n`` lines it printed."""
        return "".join(self.lines[-n:])

    async def wait_ready(self, *, within: float = 120.0) -> None:
        """Until it logged ``worker.started`` (it exiting first is a failure)."""
        deadline = time.monotonic() + within
        while not self._ready.is_set():
            code = self.proc.poll()
            assert code is None, f"{self.name} exited {code}:\n{self.tail()}"
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start in {within} s:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no presence row removed, nothing flushed."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it hangs); nothing if it already ended."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass(frozen=True)
class Started:
    """One process of the workload and what it must leave behind."""

    workflow_id: str
    process: str
    tasks: tuple[str, ...]
    records: tuple[str, ...]
    notifications: tuple[str, ...]
    bookings: tuple[str, ...]
    outcome: str


_DELIVERY_TASKS = ("dropoff", "handover")
_DELIVERY_RECORDS = ("request", "dropoff", "confirmed")
_CHANNEL_TASKS = ("triage", "booking.1.response", "transport", "arrival", "discharge")
_CHANNEL_RECORDS = (
    "opened",
    "triage",
    "booking.1",
    "booking.1.response",
    "transport",
    "arrival",
    "discharge",
    "closed",
)


def _form(step_key: str, n: int) -> dict[str, Any]:
    """What staff enter in the task of ``step_key`` (the ``n``-th process of the workload)."""
    forms: dict[str, dict[str, Any]] = {
        "dropoff": {"items_match": True, "storage_ref": f"SH-{n}"},
        "handover": {"handed_over": True, "receipt_ref": f"R-{n}"},
        "triage": {"level": "routine"},
        "booking.1.response": {"accepted": True},
        "transport": {"escort_ref": "V0001", "mode": "community_vehicle"},
        "arrival": {"arrived": True},
        "discharge": {"disposition": "deceased"},
    }
    return forms[step_key]


def _entered(result: dict[str, Any] | None, form: dict[str, Any]) -> bool:
    """Whether a done task's stored result holds what was entered (defaults filled beside)."""
    return result is not None and {k: result.get(k) for k in form} == form


@dataclass
class Effects:
    """Rows per (workflow id, step key) of every effect table, for the workload's workflows."""

    tasks: Counter[tuple[str, str]]
    records: Counter[tuple[str, str]]
    notifications: Counter[tuple[str, str]]
    bookings: Counter[tuple[str, str]]
    open_tasks: int
    wrong_results: list[str]
    wrong_bookings: list[str]


@dataclass
class KillPlan:
    """When to kill: after this many accepted completions each, plus a random delay.

    Drawn from a seeded generator, printed with every failure so a failing run can be
    repeated (``CAREFLOW_FAULT_SEED``).
    """

    seed: int
    after: list[int]
    delays: list[float]

    @classmethod
    def draw(cls, seed: int, *, completions: int, kills: int) -> KillPlan:
        """``kills`` moments spread over the first half of ``completions`` (after the first
        tenth): a killed attempt waits out its 30 s start-to-close timeout, and the run ends
        that long after the last kill at the earliest."""
        rng = random.Random(seed)
        low, high = int(completions * 0.1), int(completions * 0.5)
        after = sorted(rng.sample(range(low, high), kills))
        return cls(seed=seed, after=after, delays=[rng.uniform(0.0, 0.6) for _ in after])


@dataclass
class Workload:
    """``count`` processes, half deliveries and half green channels, driven to their close."""

    client: Client
    engine: Engine
    task_queue: str
    count: int = 100
    registry: PluginRegistry = field(default_factory=lambda: PluginRegistry.build(BUILT_IN))
    started: list[Started] = field(default_factory=list)
    accepted: int = 0
    """Completions the workflows accepted so far (the kill plan counts these)."""
    resent: int = 0
    """Completions sent again under their Update id after an error (lost answers)."""
    in_flight: int = 0
    in_flight_at_kills: list[int] = field(default_factory=list)

    @property
    def completions(self) -> int:
        """How many task completions the whole workload takes."""
        return sum(len(s.tasks) for s in self.started)

    def _people(self) -> tuple[list[str], list[str], str]:
        """Disabled elders of the district, recipients there, and one of its communities."""
        with Session(self.engine) as session:
            people = session.exec(
                select(Person)
                .where(col(Person.community_code).startswith(f"{DISTRICT}."))
                .order_by(col(Person.id))
            ).all()
        elders = [p.id for p in people if p.kind == "elder" and p.disability_level > 0]
        assert elders and people, "the demo registry has no disabled elders in Yingze"
        return elders, [p.id for p in people], people[0].community_code

    def _expected_notifications(self, elder_ref: str) -> tuple[str, ...]:
        with Session(self.engine) as session:
            family = family_refs(session, elder_ref)
        return tuple(f"family.{n}" for n in range(len(family) or 1))

    def _requests(self) -> list[tuple[str, dict[str, Any]]]:
        """(process, request) of each process: deliveries and green channels in turn."""
        elders, people, _community = self._people()
        requests: list[tuple[str, dict[str, Any]]] = []
        for n in range(self.count):
            if n % 2 == 0:
                delivery = {
                    "recipient_ref": people[n % len(people)],
                    "donor_ref": "D0003",
                    "items": [{"category": "school_bag", "quantity": 1}],
                }
                requests.append((DELIVERY, delivery))
            else:
                channel = {"elder_ref": elders[n % len(elders)], "source": "staff"}
                requests.append((GREEN_CHANNEL_PROCESS, channel))
        return requests

    def _prepare(self) -> list[service.PreparedStart]:
        """Validate and resolve every start, as ``careflow start`` does before Temporal."""
        community = self._people()[2]
        return [
            service.prepare_start(
                self.registry,
                process=process,
                district=DISTRICT,
                community=community,
                request=request,
                started_by=f"staff:{ACTOR}",
                engine=self.engine,
                task_queue=self.task_queue,
            )
            for process, request in self._requests()
        ]

    async def start_all(self) -> None:
        """Start every process as staff would (validated, plan resolved, case keyed)."""
        prepared = await asyncio.to_thread(self._prepare)
        gate = asyncio.Semaphore(16)

        async def start(one: service.PreparedStart) -> str:
            async with gate:
                done = await service.start_prepared(self.client, one, task_queue=self.task_queue)
                return done.workflow_id

        ids = await asyncio.gather(*(start(one) for one in prepared))
        for (process, request), workflow_id in zip(self._requests(), ids, strict=True):
            if process == DELIVERY:
                self.started.append(
                    Started(
                        workflow_id,
                        process,
                        _DELIVERY_TASKS,
                        _DELIVERY_RECORDS,
                        ("thanks",),
                        (),
                        "delivered",
                    )
                )
            else:
                self.started.append(
                    Started(
                        workflow_id,
                        process,
                        _CHANNEL_TASKS,
                        _CHANNEL_RECORDS,
                        self._expected_notifications(request["elder_ref"]),
                        ("booking.1",),
                        "deceased",
                    )
                )

    def _open_tasks(self) -> list[Task]:
        ids = [s.workflow_id for s in self.started]
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(Task).where(col(Task.workflow_id).in_(ids)).where(Task.status == "open")
                ).all()
            )

    async def _complete(self, task: Task, n: int) -> None:
        """Complete one task; an error (a killed worker lost the answer) sends it again."""
        data = _form(task.step_key, n)
        update = CompleteTaskInput(task_id=task.task_id, actor=ACTOR, role=task.role, data=data)
        for _attempt in range(20):
            try:
                service.check_completion(
                    self.engine, task_id=task.task_id, actor=ACTOR, role=task.role, data=data
                )
            except InputError as err:
                if err.field == "task_id" and "already done" in err.problem:
                    return  # the first submission's answer was lost, its effect was not
                raise
            self.in_flight += 1
            try:
                await service.submit_completion(
                    self.client,
                    workflow_id=task.workflow_id,
                    update=update,
                    update_id=f"fault-{task.task_id}",
                    accept_within=60,
                )
            except (RPCError, RPCTimeoutOrCancelledError, TimeoutError, RuntimeError):
                self.resent += 1
                await asyncio.sleep(0.5)
                continue
            finally:
                self.in_flight -= 1
            self.accepted += 1
            return
        raise AssertionError(f"task {task.step_key} of {task.workflow_id} never completed")

    async def drive(self, *, within: float) -> None:
        """Complete every task as it opens until all processes are closed.

        Raises:
            AssertionError: Not all tasks done within ``within`` seconds (bounded, never
                retried past it), naming what is still open.
        """
        index = {s.workflow_id: n for n, s in enumerate(self.started)}
        expected = self.completions
        running: dict[str, asyncio.Task[None]] = {}
        deadline = time.monotonic() + within
        while True:
            failed = [t for t in running.values() if t.done() and t.exception() is not None]
            if failed:
                raise failed[0].exception()  # type: ignore[misc]
            if sum(1 for t in running.values() if t.done()) == expected:
                return
            if time.monotonic() > deadline:
                open_now = sorted(t.step_key for t in self._open_tasks())
                raise AssertionError(
                    f"{len(running)}/{expected} tasks reached in {within} s; open: {open_now}"
                )
            for task in await asyncio.to_thread(self._open_tasks):
                if task.task_id not in running:
                    running[task.task_id] = asyncio.create_task(
                        self._complete(task, index[task.workflow_id])
                    )
            await asyncio.sleep(POLL)

    async def drive_naming_the_seed(
        self, *, within: float, seed: int, workers: list[WorkerProcess]
    ) -> None:
        """:meth:`drive`; any failure re-raised with the seed that repeats the run.

        Raises:
            AssertionError: The drive failed; says whether Temporal still answers and what the
                last of ``workers`` said.
        """
        try:
            await self.drive(within=within)
        except Exception as err:
            state = await temporal_state(self.client)
            raise AssertionError(
                f"seed {seed}: {type(err).__name__}: {err}; {state}; "
                f"the last worker said:\n{workers[-1].tail()}"
            ) from None

    async def assert_every_effect_once(
        self, statuses: dict[str, WorkflowExecutionStatus | None], *, figures: str
    ) -> None:
        """Every process COMPLETED with its outcome and each database effect exactly once."""
        not_done = {w: s for w, s in statuses.items() if s != WorkflowExecutionStatus.COMPLETED}
        assert not not_done, f"{figures}: not completed {not_done}"
        outcomes = await self.outcomes()
        assert outcomes == {s.workflow_id: s.outcome for s in self.started}, figures
        problems = effect_problems(self.effects(), self.expected())
        assert not problems, f"{figures}: {problems}"

    async def wait_closed(self, *, within: float) -> dict[str, WorkflowExecutionStatus | None]:
        """Each process's Temporal status once all are closed or ``within`` has passed."""
        deadline = time.monotonic() + within
        statuses: dict[str, WorkflowExecutionStatus | None] = {}
        for s in self.started:
            handle = self.client.get_workflow_handle(s.workflow_id)
            while True:
                statuses[s.workflow_id] = (await handle.describe()).status
                if statuses[s.workflow_id] != WorkflowExecutionStatus.RUNNING:
                    break
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
        return statuses

    async def outcomes(self) -> dict[str, str]:
        """Each closed process's result outcome."""
        found: dict[str, str] = {}
        for s in self.started:
            result = await self.client.get_workflow_handle(s.workflow_id).result()
            found[s.workflow_id] = result["outcome"]
        return found

    def effects(self) -> Effects:
        """Count every effect row of the workload's workflows by (workflow id, step key)."""
        ids = [s.workflow_id for s in self.started]
        forms = {s.workflow_id: n for n, s in enumerate(self.started)}
        with Session(self.engine) as session:
            tasks = session.exec(select(Task).where(col(Task.workflow_id).in_(ids))).all()
            records = session.exec(
                select(CaseRecord.workflow_id, CaseRecord.step_key).where(
                    col(CaseRecord.workflow_id).in_(ids)
                )
            ).all()
            notes = session.exec(
                select(Notification.workflow_id, Notification.step_key).where(
                    col(Notification.workflow_id).in_(ids)
                )
            ).all()
            bookings = session.exec(
                select(GreenChannelBooking).where(col(GreenChannelBooking.workflow_id).in_(ids))
            ).all()
        wrong_results = [
            f"{t.workflow_id}/{t.step_key}: {t.result}"
            for t in tasks
            if t.status == "done"
            and not _entered(t.result, _form(t.step_key, forms[t.workflow_id]))
        ]
        wrong_bookings = [
            f"{b.workflow_id}/{b.step_key}: {b.status} {b.reason_code}"
            for b in bookings
            if (b.status, b.reason_code) != ("discharged", "deceased")
        ]
        return Effects(
            tasks=Counter((t.workflow_id, t.step_key) for t in tasks),
            records=Counter((w, k) for w, k in records),
            notifications=Counter((w, k) for w, k in notes),
            bookings=Counter((b.workflow_id, b.step_key) for b in bookings),
            open_tasks=sum(1 for t in tasks if t.status != "done"),
            wrong_results=wrong_results,
            wrong_bookings=wrong_bookings,
        )

    def expected(self) -> Effects:
        """What :meth:`effects` must find: each step key of each process exactly once."""

        def once(pick: Callable[[Started], Iterable[str]]) -> Counter[tuple[str, str]]:
            return Counter((s.workflow_id, key) for s in self.started for key in pick(s))

        return Effects(
            tasks=once(lambda s: s.tasks),
            records=once(lambda s: s.records),
            notifications=once(lambda s: s.notifications),
            bookings=once(lambda s: s.bookings),
            open_tasks=0,
            wrong_results=[],
            wrong_bookings=[],
        )


def _diff(found: Counter[tuple[str, str]], want: Counter[tuple[str, str]]) -> str:
    extra = found - want
    missing = want - found
    return f"{sum(extra.values())} extra {sorted(extra)[:5]}, {sum(missing.values())} missing " + (
        f"{sorted(missing)[:5]}"
    )


def effect_problems(found: Effects, want: Effects) -> list[str]:
    """Each table whose counts differ from the expected ones, with a sample of the difference."""
    problems = []
    for name in ("tasks", "records", "notifications", "bookings"):
        got, expected = getattr(found, name), getattr(want, name)
        if got != expected:
            problems.append(f"{name}: {_diff(got, expected)}")
    if found.open_tasks:
        problems.append(f"{found.open_tasks} task rows not done")
    if found.wrong_results:
        problems.append(f"task results differ: {found.wrong_results[:5]}")
    if found.wrong_bookings:
        problems.append(f"bookings not discharged/deceased: {found.wrong_bookings[:5]}")
    return problems


async def temporal_state(client: Client) -> str:
    """Whether the dev server still answers, for failure messages (a dead server is not a
    lost effect)."""
    try:
        await asyncio.wait_for(client.service_client.check_health(), 5)
    except Exception as err:  # any failure is the answer here
        return f"Temporal does not answer ({type(err).__name__})"
    return "Temporal answers"


async def activity_identities(client: Client, workflow_ids: Iterable[str]) -> Counter[str]:
    """How many activity attempts each worker identity started, over the given histories."""
    seen: Counter[str] = Counter()
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                seen[event.activity_task_started_event_attributes.identity] += 1
    return seen
