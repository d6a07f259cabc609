"""``hostwatch demo``: a simulated hotline year, end to end, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the database, outbox and report.")] = Path(
        "demo-report"
    ),
    notices: Annotated[int, typer.Option(min=1, help="Simulated notices in the year.")] = 300,
    year: Annotated[int, typer.Option(help="The simulated year.")] = 2025,
    seed: Annotated[int, typer.Option(help="Seed of the simulated world.")] = 7,
    step_hours: Annotated[
        float, typer.Option(min=0.25, help="Pass grid: the workflow's cron interval.")
    ] = 2.0,
    pdf: Annotated[bool, typer.Option(help="Also write report.pdf.")] = True,
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Port of the simulated web servers, part of every simulated URL "
            "(default 18080, or a free one when 18080 is taken).",
        ),
    ] = None,
) -> None:
    """Replay a SIMULATED hotline year through the real workflow and write the monitor report.

    The same --seed (and port) gives the same year: identical cases.csv and report.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hostwatch.simulation.demo import PREFERRED_PORT, run_demo

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("setting up the simulated internet", total=1.0)

        def progress(label: str, share: float) -> None:
            bar.update(task, description=label, completed=share)

        try:
            result = run_demo(
                out,
                notices=notices,
                year=year,
                seed=seed,
                step_hours=step_hours,
                pdf=pdf,
                port=port,
                progress=progress,
            )
        except OSError as exc:  # the port taken, the folder not writable: say so, no traceback
            console.print(f"error: {exc}")
            raise typer.Exit(1) from exc
        bar.update(task, description="done", completed=1.0)
    r = result.replay
    console.print(
        f"SIMULATED year {year}: {r.notices} notices, {r.passes} workflow passes, "
        f"{r.messages_read} messages read by the simulated providers, {r.removals} removals, "
        f"{r.reappearances} reappearances, {r.moves} moves, {r.requests} checks served "
        f"on loopback, in {result.seconds:.1f} s"
    )
    if r.verdicts:
        counts = ", ".join(f"{n} {verdict}" for verdict, n in r.verdicts.items())
        console.print(
            f"SIMULATED analyst: {sum(r.verdicts.values())} triage verdicts on reports from "
            f"the public form ({counts})"
        )
    if port is None and result.port != PREFERRED_PORT:
        console.print(
            f"port {PREFERRED_PORT} was taken: the simulated URLs carry port {result.port}, "
            f"so these files differ from a run on port {PREFERRED_PORT}"
        )
    regulator = result.regulator
    if regulator is not None and regulator.orders:
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(regulator.outcomes.items()))
        console.print(
            f"SIMULATED regulator: {len(regulator.orders)} removal orders ({outcomes}); "
            f"decision {regulator.decision}: {regulator.sanction}, in the public register"
        )
    files = regulator.files if regulator is not None else []
    for path in (result.report_html, result.report_pdf, *result.restricted, *files):
        if path is not None:
            console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command()(demo)
