"""``hostwatch demo``: the whole job on the embedded default, offline, in well under a minute.

A simulated hotline year goes through the real chain: reference data catalogued as snapshots,
notices ingested as they arrive, attribution through DNS and the routing table, messages to the
``.eml`` outbox, liveness checks against web servers on loopback, escalation, and at the end the
monitor report, labelled as simulated throughout.

The same seed gives the same year, byte for byte in ``cases.csv`` and the report: nothing here
reads the wall clock, the environment or the machine's load. The settings are the demo's own (a
``HOSTWATCH_SMTP_URL`` or a ``hostwatch.toml`` in the working directory must neither send the
simulated mail anywhere nor change the rules), the clock is the replay's, and the checks wait
as long as it takes for the simulated servers (which always answer) to answer, so a loaded
machine makes the year slower, never different.
"""

from __future__ import annotations

import errno
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hostwatch.clock import Clock
from hostwatch.model.db import migrate, session_scope
from hostwatch.settings import Settings
from hostwatch.simulation.analyst import SimulatedAnalyst
from hostwatch.simulation.feeds import PUBLIC_SOURCE
from hostwatch.simulation.reference import write_reference
from hostwatch.simulation.regulator import RegulatorSummary, SimulatedRegulator
from hostwatch.simulation.replay import PassOutcome, Replay, ReplaySummary
from hostwatch.simulation.servers import (
    CONTROL_HOST,
    CONTROL_IP,
    HostingState,
    SimulatedInternet,
    free_port,
)
from hostwatch.simulation.world import PARTIES, World, build_world

PREFERRED_PORT = 18080
"""Where the simulated web servers listen unless told otherwise; the port is part of every
simulated URL, so two runs give identical files only on the same port."""
AUTHORITY = ("Simulated regulator (ATKM role)", "meldingen@regulator.example")
REFERRAL_TARGETS = (
    # (name, address, role, country, language): whom the routing table (referrals.toml) refers
    # to: the national authority, partner hotlines abroad (as ICCAM routes), the national CERT
    ("Simulated partner hotline DE", "reports@hotline-de.example", "hotline", "DE", "de"),
    ("Simulated partner hotline US", "tips@hotline-us.example", "hotline", "US", "en"),
    ("Simulated national CERT", "incident@cert-nl.example", "cert", "NL", "nl"),
)
DUTCH_DESKS = frozenset(
    {"abuse@polder-dc.example", "abuse@grachtenhost.example", "abuse@dijknet.example"}
)
"""Abuse desks that asked for notices in Dutch; the others get English."""
CHECK_TIMEOUT = 120.0
"""Seconds a check may wait for the simulated servers: they always answer, so only a starved
machine can make them late, and a late answer must still be the same answer."""


class DemoSettings(Settings):
    """Settings made from the demo's arguments alone: no environment, no TOML file."""

    read_sources = False


@dataclass
class DemoResult:
    out: Path
    world: World
    replay: ReplaySummary
    report_html: Path | None
    report_pdf: Path | None
    port: int
    seconds: float
    regulator: RegulatorSummary | None = None
    restricted: list[Path] = field(default_factory=list)
    """The restricted edition's files (with URLs; marked on every page)."""


def _web_port(ips: list[str]) -> int:
    """The preferred port if every simulated server address can take it, else a free one."""
    for ip in ips:
        with socket.socket() as sock:
            try:
                sock.bind((ip, PREFERRED_PORT))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return free_port()
                raise
    return PREFERRED_PORT


def demo_settings(out: Path, net: SimulatedInternet, world: World) -> Settings:
    """The embedded default in ``out``, resolving and checking against the simulated internet."""
    return DemoSettings(
        database_url=f"sqlite:///{(out / 'hostwatch.db').resolve()}",
        state_dir=(out / "state").resolve(),
        outbox_dir=(out / "outbox").resolve(),
        allow_networks=["127.0.0.0/8"],
        resolver=net.resolver,
        # the checker shows its vantage point works before a failure counts: the simulated
        # internet's control host must resolve and answer with every batch of checks
        control_dns_name=CONTROL_HOST,
        control_urls=[net.control_url],
        # the simulated world's reference data is one snapshot that holds all year (nothing in
        # it changes), so attributions across the year are not stale against it
        stale_routing_days=366.0,
        notifier_name="Simulated Hotline (hostwatch demo)",
        notifier_email="reports@hotline.example",
        now=world.start,
    )


def _catalogue(settings: Settings, world: World) -> None:
    from hostwatch.attribution.reference import register_snapshot
    from hostwatch.takedown.contacts import ContactSpec, add_contact

    valid_at = world.start - timedelta(days=1)
    files = write_reference(PARTIES, settings.state_dir / "simulated-reference", valid_at)
    with session_scope(settings.database_url) as session:
        register_snapshot(
            session,
            "routing",
            files["routing"],
            loaded_at=valid_at,
            valid_at=valid_at,
            name="simulated routing table",
        )
        register_snapshot(
            session,
            "asnames",
            files["asnames"],
            loaded_at=valid_at,
            valid_at=valid_at,
            series="pyasn",
            name="simulated AS names",
        )
        register_snapshot(
            session,
            "asnames",
            files["cdn-tags"],
            loaded_at=valid_at,
            valid_at=valid_at,
            series="bgp.tools",
            name="simulated CDN tags",
        )
        register_snapshot(
            session,
            "rpsl",
            files["rpsl"],
            loaded_at=valid_at,
            valid_at=valid_at,
            name="simulated RIPE-style database",
        )
        name, email = AUTHORITY
        add_contact(
            session,
            ContactSpec(
                name=name,
                email=email,
                role="authority",
                country="NL",
                language="nl",
                notes="simulated authority for referrals",
                provenance="hostwatch demo (simulated)",
            ),
            now=valid_at,
            actor="demo",
        )
        for name, email, role, country, language in REFERRAL_TARGETS:
            add_contact(
                session,
                ContactSpec(
                    name=name,
                    email=email,
                    role=role,
                    country=country,
                    language=language,
                    provenance="hostwatch demo (simulated)",
                ),
                now=valid_at,
                actor="demo",
            )


def run_demo(
    out: Path,
    *,
    notices: int = 300,
    year: int = 2025,
    seed: int = 7,
    step_hours: float = 2.0,
    pdf: bool = True,
    port: int | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> DemoResult:
    """Replay a simulated year into ``out`` (a fresh SQLite database there) and report on it.

    ``port`` is where the simulated web servers listen (default :data:`PREFERRED_PORT`, or a
    free port when that one is taken); it appears in every simulated URL.
    """
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("hostwatch.db", "hostwatch.db-wal", "hostwatch.db-shm"):
        (out / stale).unlink(missing_ok=True)
    for folder in ("state", "outbox"):
        shutil.rmtree(out / folder, ignore_errors=True)
    server_ips = sorted({party.server_ip for party in PARTIES})
    port = port or _web_port([*server_ips, CONTROL_IP])
    world = build_world(year, notices, seed, port=port)
    state = HostingState()
    with SimulatedInternet(state, server_ips, port) as net:
        settings = demo_settings(out, net, world)
        migrate(settings.database_url)
        _catalogue(settings, world)
        clock = Clock.at(world.start)
        replay = Replay(world, settings, clock, state, seed=seed, step=timedelta(hours=step_hours))
        summary, regulator = _replay(replay, settings, progress)
        summary.requests = net.requests
    regulated = regulator.close_year(clock.now(), out)
    regulated.files += _dossier(settings, out, clock, pdf)
    html, pdf_path, restricted = _report(settings, world, out, clock, pdf)
    seconds = time.perf_counter() - started
    return DemoResult(out, world, summary, html, pdf_path, port, seconds, regulated, restricted)


def _replay(
    replay: Replay, settings: Settings, progress: Callable[[str, float], None] | None
) -> tuple[ReplaySummary, SimulatedRegulator]:
    from hostwatch.ingest.pipeline import ingest_file
    from hostwatch.ingest.sources import set_trust
    from hostwatch.takedown.checker import CheckOptions, CheckSession, Politeness, Timeouts
    from hostwatch.takedown.policy import DEFAULT_POLICY, load_policy
    from hostwatch.takedown.send import Transport
    from hostwatch.takedown.workflow import attribute_new, run_pass

    # The shipped policy, but removed URLs are watched daily for a week (not every check
    # interval for a month), and URLs still up after a week are checked daily: the simulated
    # year then needs a fraction of the checks, most of which were watching removed URLs.
    demo_policy = settings.state_dir / "demo-policy.toml"
    demo_policy.write_text(
        DEFAULT_POLICY.read_text().replace(
            "[default]\nwatch_days = 30",
            "[default]\nwatch_days = 7\nwatch_hours = 24\n"
            "long_lived_days = 7\nlong_lived_check_hours = 24",
        )
    )
    policy = load_policy(settings, demo_policy)
    transport = Transport(settings)
    # The simulated servers are ours: no need to space requests out in real time.
    politeness = Politeness(per_host=16, min_interval=0.0)
    patient = CheckOptions(timeouts=Timeouts(CHECK_TIMEOUT, CHECK_TIMEOUT, CHECK_TIMEOUT))

    def ingest(path: Path, source: str | None) -> None:
        ingest_file(
            path, settings.database_url, format="intelmq", source=source, clock=replay.clock
        )

    with session_scope(settings.database_url) as session:
        set_trust(session, PUBLIC_SOURCE, assessed=False, actor="demo", now=replay.clock.now())
    analyst = SimulatedAnalyst(settings, replay.state, replay.seed)
    regulator = SimulatedRegulator(settings, replay.world, policy, transport)
    with CheckSession(settings, options=patient, politeness=politeness) as checks:

        def one_pass(clock: Clock, fresh: bool) -> PassOutcome:
            if fresh:  # attributed first, so the desks' languages are known before any notice
                attribute_new(settings, Clock.at(clock.now()))
                _dutch_desks(settings, clock.now())
            analyst.decide_due(clock.now())
            report = run_pass(
                settings, clock, policy=policy, transport=transport, checks=checks, fresh=fresh
            )
            analyst.read_queue(clock.now())
            ordered = regulator.step(clock)
            due = [t for t in (report.next_due, analyst.next_review()) if t is not None]
            return report.delivered.sent > 0 or ordered, min(due, default=None)

        summary = replay.run(
            one_pass,
            ingest,
            progress=(lambda share: progress("replaying the simulated year", share))
            if progress
            else None,
        )
    summary.verdicts = dict(sorted(analyst.verdicts.items()))
    return summary, regulator


def _dutch_desks(settings: Settings, now: datetime) -> None:
    """The abuse desks found by attribution, with the language an analyst recorded for them:
    some simulated desks read Dutch, so their notices are in Dutch from the first one."""
    from sqlalchemy import select

    from hostwatch.model.party import Contact
    from hostwatch.takedown.contacts import import_automatic

    with session_scope(settings.database_url) as session:
        import_automatic(session, now=now)
        for contact in session.scalars(
            select(Contact).where(Contact.email.in_(sorted(DUTCH_DESKS)), Contact.language != "nl")
        ):
            contact.language = "nl"


def _dossier(settings: Settings, out: Path, clock: Clock, pdf: bool) -> list[Path]:
    """The regulator's dossier on the ordered hoster, as HTML (and PDF)."""
    from sqlalchemy import select

    from hostwatch.model.party import Provider
    from hostwatch.simulation.regulator import ORDERED_PROVIDER
    from hostwatch.web.dossier import build_dossier, dossier_pdf
    from hostwatch.web.portal.routes import env

    with session_scope(settings.database_url) as session:
        provider_id = session.scalar(select(Provider.id).where(Provider.name == ORDERED_PROVIDER))
        if provider_id is None:
            return []
        dossier = build_dossier(
            session, provider_id, clock.now(), offline_after=settings.offline_after
        )
        html = env.get_template("dossier_pdf.html").render(d=dossier.as_dict())
    files = [out / "dossier.html"]
    files[0].write_text(html, encoding="utf-8")
    if pdf:
        files.append(out / "dossier.pdf")
        files[1].write_bytes(dossier_pdf(html))
    return files


def _report(
    settings: Settings, world: World, out: Path, clock: Clock, pdf: bool
) -> tuple[Path | None, Path | None, list[Path]]:
    """The public edition in ``out`` (what anyone may read: no URL, host or IP, small providers
    grouped) and the restricted one, marked on every page, with ``cases.csv`` in
    ``out/restricted``."""
    from hostwatch.metrics.address_space import provider_sizes
    from hostwatch.metrics.period import parse_period
    from hostwatch.report.build import ReportOptions
    from hostwatch.report.edition import PUBLIC, RESTRICTED
    from hostwatch.report.source import report_from_database

    period = parse_period(str(world.start.year))
    sizes = provider_sizes(settings.database_url, period.end) or None
    written = {}
    for edition, folder in ((PUBLIC, out), (RESTRICTED, out / "restricted")):
        options = ReportOptions(
            country=settings.country,
            sizes=sizes,
            simulated=True,
            pseudonym_key=settings.pseudonym_key,
            edition=edition,
            min_cases=settings.report_min_cases,
            publisher=settings.report_publisher,
            generated_at=clock.now(),
        )
        written[edition] = report_from_database(
            settings.database_url,
            period,
            folder,
            options,
            offline_after=settings.offline_after,
            pdf=pdf,
        )
    public = written[PUBLIC]
    return public.html, public.pdf, written[RESTRICTED].written()
