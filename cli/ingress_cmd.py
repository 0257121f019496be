"""``careflow ingress`` (the MQTT ingress: run it, its dead letters, replay, topics) and
``careflow simulate`` (device traffic for a demo).

The ingress is composition, like the worker: these commands import ``ingress``; nothing below
the composition layer does.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from careflow.localtime import local_minute
from careflow.logging import configure_logging
from cli.app import (
    CliState,
    cli_errors,
    database,
    echo_json,
    echo_lines,
    require_migrated,
    run_async,
    state,
    stop_on_signals,
)

__all__ = ["register"]

ingress_app = typer.Typer(
    help="The MQTT ingress of device and partner events · 设备接入.",
    invoke_without_command=True,
)
simulate_app = typer.Typer(
    help="Publish demo device traffic to the broker · 模拟设备.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


@ingress_app.callback(invoke_without_command=True)
@cli_errors
def run(
    ctx: typer.Context,
    client_id: Annotated[
        str | None,
        typer.Option(
            help="This instance's stable MQTT client id (default CAREFLOW_MQTT_CLIENT_ID, "
            "else careflow-ingress-<host>); each instance needs its own."
        ),
    ] = None,
    max_in_flight: Annotated[
        int, typer.Option(min=1, max=65535, help="Messages taken at once (receive maximum).")
    ] = 64,
) -> None:
    """Run the ingress alone until Ctrl-C or SIGTERM · 运行设备接入.

    Subscribes to $share/careflow/<root>/+/+ on CAREFLOW_MQTT_URL and delivers each event
    once, as the account of CAREFLOW_INGRESS_TOKEN (or <data dir>/ingress.token). Several
    instances share the subscription; each needs its own --client-id.
    """
    if ctx.invoked_subcommand is not None:
        # One-shot subcommands log only what is wrong, as the app does for its own.
        configure_logging(level="WARNING", fmt=state(ctx).settings.log_format)
        return
    from ingress import IngressConfig, ingress_token, run_ingress

    st = state(ctx)
    configure_logging(level=st.settings.log_level, fmt=st.settings.log_format)
    require_migrated(st.settings, plugins=st.registry.plugins)
    ingress_token(st.settings)  # no token: one line, exit 2, before anything connects
    changes: dict[str, Any] = {"max_in_flight": max_in_flight}
    if client_id is not None:
        changes["client_id"] = client_id
    config = IngressConfig.from_settings(st.settings, **changes)

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await run_ingress(
            st.settings,
            st.registry,
            stop=stop,
            config=config,
            on_ready=lambda line: typer.echo(
                f"设备接入 ingress: {line} · client id {config.client_id} · Ctrl-C to stop",
                err=True,
            ),
        )

    run_async(main())


@cli_errors
def dead_letters(
    ctx: typer.Context,
    include_replayed: Annotated[
        bool, typer.Option("--all", help="Also those already replayed.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 200,
    as_json: JsonOption = False,
) -> None:
    """Messages the ingress refused, newest first: topic, reason, field, time, digest · 死信.

    Payloads are never shown (they may hold personal data); replay one with
    `careflow ingress replay ID` once its cause is fixed.
    """
    from sqlmodel import Session

    from ingress.store import list_dead_letters

    st = state(ctx)
    with database(st.settings) as engine, Session(engine) as session:
        rows = list_dead_letters(session, include_replayed=include_replayed, limit=limit)
    if as_json:
        echo_json(
            [
                {
                    **asdict(r),
                    "received_at": r.received_at.isoformat(),
                    "replayed_at": r.replayed_at.isoformat() if r.replayed_at else None,
                }
                for r in rows
            ]
        )
        return
    lines = []
    for r in rows:
        where = f"{r.reason}" + (f" · {r.field}" if r.field else "")
        replayed = f" · 已重放 replayed → {r.replayed_to}" if r.replayed_at else ""
        lines.append(
            f"#{r.id} {local_minute(r.received_at)} {r.topic} · {where} · "
            f"sha256 {r.payload_sha256[:12]} ({r.payload_size} B"
            f"{'' if r.payload_stored else ', not stored'}){replayed}"
        )
        if r.message:
            lines.append(f"    {r.message}")
    echo_lines(lines or ["没有死信 no dead letters"])


@cli_errors
def replay(
    ctx: typer.Context,
    letter_id: Annotated[int, typer.Argument(metavar="ID", help="The dead letter's number.")],
    as_json: JsonOption = False,
) -> None:
    """Deliver a dead letter again once its cause is fixed; audited · 重放死信.

    The receiving workflow's history is read first, so an event already applied is not
    applied again. Refused again, the dead letter keeps the new reason (exit 2).
    """
    from cli.acting import connector
    from ingress import ingress_token
    from ingress.replay import replay_dead_letter

    st = state(ctx)
    token = ingress_token(st.settings)
    with database(st.settings) as engine:
        done = run_async(
            replay_dead_letter(
                engine,
                st.registry,
                letter_id=letter_id,
                token=token,
                client=connector(st),
                task_queue=st.settings.task_queue,
            )
        )
    if as_json:
        echo_json(asdict(done))
        return
    typer.echo(f"已重放 replayed dead letter #{done.dead_letter} → {done.workflow_id}")


@cli_errors
def topics(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The topic and payload fields of every event type, from the routes' schemas · 主题."""
    from ingress import topic_rows, topic_table

    st = state(ctx)
    root = st.settings.mqtt_topic_root
    if as_json:
        echo_json([asdict(row) for row in topic_rows(st.registry, root=root)])
        return
    typer.echo(topic_table(st.registry, root=root))


DistrictOption = Annotated[str, typer.Option("--district", "-d", help="The district.")]
RateOption = Annotated[float, typer.Option(min=0.01, max=100_000, help="Messages per second.")]
DurationOption = Annotated[
    float, typer.Option(min=0.1, max=86_400, help="Seconds to publish for, at most.")
]
SeedOption = Annotated[int | None, typer.Option(help="Random seed, for a repeatable run.")]


def _published(
    st: CliState, event_type: str, district: str, payloads: list[Any], rate: float, duration: float
) -> tuple[int, float]:
    from ingress.simulate import publish_all

    return run_async(
        publish_all(
            st.settings.mqtt_url,
            st.settings.mqtt_topic_root,
            district,
            event_type,
            payloads,
            rate=rate,
            duration=duration,
        )
    )


@cli_errors
def stations(
    ctx: typer.Context,
    district: DistrictOption,
    rate: RateOption = 2.0,
    duration: DurationOption = 60.0,
    seed: SeedOption = None,
    as_json: JsonOption = False,
) -> None:
    """Health-station readings of the district's consenting elders, a few alarming · 健康驿站."""
    from ingress.simulate import SimulationReport, station_readings

    st = state(ctx)
    count = max(1, int(rate * duration) + 1)
    with database(st.settings) as engine:
        readings, devices = station_readings(
            engine, st.registry, district=district, count=count, seed=seed
        )
    sent, seconds = _published(
        st, "eldercare.reading", district, [r.payload for r in readings], rate, duration
    )
    report = SimulationReport(published=sent, sources=devices, seconds=seconds)
    for r in readings[:sent]:
        report.kinds["alarming" if r.alarming else "normal"] += 1
    _report(report, "readings", as_json)


@cli_errors
def curtain(
    ctx: typer.Context,
    district: DistrictOption,
    rate: RateOption = 2.0,
    duration: DurationOption = 60.0,
    seed: SeedOption = None,
    as_json: JsonOption = False,
) -> None:
    """Curtain reports for today's open checks: most open, some closed, some missing · 窗帘之约."""
    from ingress.simulate import SimulationReport, curtain_reports

    st = state(ctx)
    with database(st.settings) as engine:
        reports = curtain_reports(engine, st.registry, district=district, seed=seed)
    sent, seconds = _published(
        st, "eldercare.curtain_report", district, [r.payload for r in reports], rate, duration
    )
    report = SimulationReport(published=sent, sources=len(reports), seconds=seconds)
    for r in reports[:sent]:
        report.kinds[r.curtains] += 1
    _report(report, "curtain reports", as_json)


def _report(report: Any, what: str, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "published": report.published,
                    "kinds": dict(report.kinds),
                    "sources": report.sources,
                    "seconds": round(report.seconds, 3),
                }
            )
        )
        return
    echo_lines(report.lines(what))


def register(app: typer.Typer) -> None:
    """Add ``careflow ingress …`` and ``careflow simulate …`` to ``app``."""
    ingress_app.command("dead-letters")(dead_letters)
    ingress_app.command("replay")(replay)
    ingress_app.command("topics")(topics)
    app.add_typer(ingress_app, name="ingress")
    simulate_app.command("stations")(stations)
    simulate_app.command("curtain")(curtain)
    app.add_typer(simulate_app, name="simulate")
