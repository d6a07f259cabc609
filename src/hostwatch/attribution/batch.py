"""The batch over notices that have no attribution yet (or all of them, to recompute).

Notices are read in id order in chunks; each is attributed as of its ``received_at`` (or a
given instant), with the reference snapshots chosen for that time, so a notice from 2014 is
attributed against the 2014 routing table, and with a DNS answer of that time only
(:mod:`.dns_in_time`); how far each lies from the notice is recorded and judged
(:mod:`.staleness`). DNS answers are stored as observations. Rows are
written with bulk inserts, one transaction per chunk, so an interrupted run keeps its work and
the next run continues where it stopped.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from hostwatch.attribution.chain import Context, Targets, attribute
from hostwatch.attribution.contacts import ContactIndex
from hostwatch.attribution.dns_in_time import answers_for_rows
from hostwatch.attribution.prefix_index import PrefixIndex
from hostwatch.attribution.providers import ProviderBuilder, ProviderIndex
from hostwatch.attribution.record import COLUMNS
from hostwatch.attribution.reference import (
    ReferenceCatalog,
    SnapshotRef,
    load_reference_set,
    sync_reference_store,
)
from hostwatch.attribution.staleness import TimeLimits
from hostwatch.attribution.writer import sqlite_instant, write_rows
from hostwatch.clock import Clock
from hostwatch.model import Attribution, Notice
from hostwatch.model.db import session_scope, trusted_session_scope
from hostwatch.settings import Settings


@dataclass
class AttributionSummary:
    """What a run did, and where its time went."""

    notices: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_ip_origin: Counter[str | None] = field(default_factory=Counter)
    stale: int = 0
    resolved_hosts: int = 0
    providers_created: int = 0
    snapshots: set[str] = field(default_factory=set)
    seconds: float = 0.0
    attribute_seconds: float = 0.0
    lookup_seconds: float = 0.0
    dns_seconds: float = 0.0
    database_seconds: float = 0.0
    registrar_contacts: int = 0  # automatic registrar contacts written from RDAP (``rdap``)

    @property
    def rate(self) -> float:
        return self.notices / self.seconds if self.seconds else 0.0


_PENDING = """
SELECT n.id, n.url_id, n.received_at, n.reported_ip, u.host, u.host_type
FROM notices n JOIN urls u ON u.id = n.url_id
WHERE n.id > {p} {unattributed} {only}
ORDER BY n.id LIMIT {p}
"""
_IP_ORIGIN, _STALE = COLUMNS.index("ip_origin"), COLUMNS.index("stale")
_UNATTRIBUTED = "AND NOT EXISTS (SELECT 1 FROM attributions a WHERE a.notice_id = n.id)"


def _only_newest_of(url_ids: Collection[int] | None) -> str:
    """SQL restricting a run to the newest notice of each of these URLs (ids are integers)."""
    if url_ids is None:
        return ""
    listed = ",".join(str(int(u)) for u in url_ids) or "NULL"
    return f"AND n.id IN (SELECT max(id) FROM notices WHERE url_id IN ({listed}) GROUP BY url_id)"


def _read_chunk(
    session: Session,
    recompute: bool,
    after: int,
    limit: int,
    url_ids: Collection[int] | None = None,
) -> tuple[list[list[Any]], list[str] | None]:
    """The next notices by id, as columns, with aware UTC ``received_at``.

    Read through the driver: a million rows through the ORM's type processing cost more than
    attributing them. On SQLite the stored text of each instant is returned as well, so that
    ``at`` is written back without formatting it again.
    """
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = _PENDING.format(
        p=mark, unattributed="" if recompute else _UNATTRIBUTED, only=_only_newest_of(url_ids)
    )
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:  # plain tuples from the driver: SQLAlchemy's Row objects cost a third of the read
        cursor.execute(sql, (after, limit))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return [], None
    columns = [list(column) for column in zip(*rows, strict=True)]
    texts = None
    if connection.dialect.name == "sqlite":
        texts = columns[2]
        parse = datetime.fromisoformat  # naive UTC text; "+00:00" makes it aware in one call,
        columns[2] = [parse(text + "+00:00") for text in texts]  # 6x cheaper than .replace()
    else:
        columns[2] = [value.astimezone(UTC) for value in columns[2]]
    return columns, texts


def count_pending(
    session: Session, *, recompute: bool = False, url_ids: Collection[int] | None = None
) -> int:
    if url_ids is not None:
        return len(set(url_ids))
    query = select(func.count()).select_from(Notice)
    if not recompute:
        query = query.where(~exists().where(Attribution.notice_id == Notice.id))
    return int(session.scalar(query) or 0)


@dataclass
class _Run:
    """What every chunk of one run shares: the catalogue, providers, contacts, clients."""

    settings: Settings
    clock: Clock
    at: datetime | None
    catalog: ReferenceCatalog
    providers: ProviderIndex
    contacts: ContactIndex
    rdap: Any
    summary: AttributionSummary
    limits: TimeLimits
    resolve_historical: bool = False
    lab_networks: PrefixIndex | None = None


def attribute_pending(
    settings: Settings,
    *,
    at: datetime | None = None,
    recompute: bool = False,
    progress: bool = True,
    chunk_size: int = 200_000,
    rdap: bool = False,
    clock: Clock | None = None,
    url_ids: Collection[int] | None = None,
    resolve_historical: bool = False,
) -> AttributionSummary:
    """Attribute every notice without an attribution (all notices with ``recompute``).

    Files of the reference store (``hostwatch data import|fetch``) are catalogued first.
    ``at`` attributes as of that instant instead of each notice's ``received_at``. ``rdap``
    asks RDAP (cached, rate-limited) for abuse contacts that no manual entry or WHOIS dump gives,
    and for the registrar of each registered domain (automatic registrar contacts).
    ``url_ids`` attributes only the newest notice of each of these URLs again (with ``recompute``
    and ``at``: "attribute anew" when a check saw a URL answer from another address).
    ``resolve_historical`` resolves, with today's DNS, the hosts of historical notices that have
    no reported or contemporaneous address (their attributions are then stale: resolved later).
    """
    clock = clock or settings.clock()
    if at is not None and at > clock.now():
        raise ValueError(f"cannot attribute as of {at.isoformat()}: it is after now")
    summary = AttributionSummary()
    started = time.perf_counter()
    with session_scope(settings.database_url) as session:
        sync_reference_store(session, settings.state_dir, loaded_at=clock.now())
        total = count_pending(session, recompute=recompute, url_ids=url_ids)
        if not total:  # the common case of a workflow pass: nothing new to attribute
            summary.seconds = time.perf_counter() - started
            return summary
        run = _Run(
            settings=settings,
            clock=clock,
            at=at,
            catalog=ReferenceCatalog.from_session(session),
            providers=ProviderIndex.load(session),
            contacts=ContactIndex.load(session),
            rdap=_rdap_client(settings, clock) if rdap else None,
            summary=summary,
            limits=TimeLimits.from_settings(settings),
            resolve_historical=resolve_historical,
            lab_networks=PrefixIndex((cidr, i) for i, cidr in enumerate(settings.allow_networks)),
        )
    known_providers = len(run.providers.providers)
    bar = _progress_bar(progress, total)
    try:
        last_id = 0
        while True:
            # A chunk writes only rows whose keys it holds (notices just read, providers it
            # creates first): its inserts need not be looked up again (trusted_session_scope).
            with trusted_session_scope(settings.database_url) as session:
                t0 = time.perf_counter()
                columns, texts = _read_chunk(session, recompute, last_id, chunk_size, url_ids)
                summary.database_seconds += time.perf_counter() - t0
                if not columns:
                    break
                last_id = columns[0][-1]
                _attribute_chunk(session, run, columns, texts)
            if bar is not None:
                bar[0].update(bar[1], advance=len(columns[0]))
        if run.rdap is not None:
            from hostwatch.attribution.rdap import registrar_contacts

            with session_scope(settings.database_url) as session:
                found = registrar_contacts(session, run.rdap, now=clock.now(), progress=progress)
            summary.registrar_contacts = found.written
    finally:
        if bar is not None:
            bar[0].stop()
        if run.rdap is not None:
            run.rdap.close()
    summary.providers_created = len(run.providers.providers) - known_providers
    summary.seconds = time.perf_counter() - started
    return summary


def _attribute_chunk(
    session: Session, run: _Run, columns: list[list[Any]], texts: list[str] | None
) -> None:
    summary = run.summary
    builder = ProviderBuilder(session, run.providers, run.clock.now())
    notice_ids, url_ids, received, reported, hosts, host_types = columns
    times = [run.at] * len(notice_ids) if run.at is not None else received
    # on SQLite, ``at`` is written as the text the notice's time is stored as (no reformatting)
    stored = texts
    if texts is not None and run.at is not None:
        stored = [sqlite_instant(run.at)] * len(times)
    choices = run.catalog.choose_many(times)  # one shared tuple per distinct choice
    groups: dict[int, list[int]] = defaultdict(list)
    chosen: dict[int, tuple[SnapshotRef, ...]] = {}
    for i, choice in enumerate(choices):
        groups[id(choice)].append(i)
        chosen.setdefault(id(choice), choice)
    for key, members in groups.items():
        choice = chosen[key]
        if len(members) == len(notice_ids):
            targets = Targets(notice_ids, url_ids, hosts, host_types, reported, times, stored)
        else:
            targets = Targets(
                notice_id=[notice_ids[i] for i in members],
                url_id=[url_ids[i] for i in members],
                host=[hosts[i] for i in members],
                host_type=[host_types[i] for i in members],
                reported_ip=[reported[i] for i in members],
                at=[times[i] for i in members],
                stored_at=[stored[i] for i in members] if stored else None,
            )
        dns = answers_for_rows(
            session,
            targets,
            resolver=run.settings.resolver,
            clock=run.clock,
            limits=run.limits,
            resolve_historical=run.resolve_historical,
        )
        summary.dns_seconds += dns.seconds
        summary.resolved_hosts += dns.resolved_hosts
        t1 = time.perf_counter()
        computed_at = run.clock.now()
        ctx = Context(
            reference=load_reference_set(choice),
            providers=run.providers,
            builder=builder,
            contacts=run.contacts,
            computed_at=computed_at,
            limits=run.limits,
            rdap=run.rdap,
            lab_networks=run.lab_networks,
            stored_computed_at=sqlite_instant(computed_at) if texts is not None else None,
        )
        rows, statuses = attribute(targets, ctx, dns)
        summary.attribute_seconds += time.perf_counter() - t1
        summary.lookup_seconds += ctx.lookup_seconds
        summary.by_status.update(statuses)
        summary.by_ip_origin.update(row[_IP_ORIGIN] for row in rows)
        summary.stale += sum(row[_STALE] for row in rows)
        summary.notices += len(rows)
        summary.snapshots.update(ref.tag for ref in choice)
        t2 = time.perf_counter()
        write_rows(session, rows)
        summary.database_seconds += time.perf_counter() - t2


def _rdap_client(settings: Settings, clock: Clock) -> Any:
    from hostwatch.net.rdap import RdapBootstrap, RdapClient

    bootstrap_dir = settings.state_dir / "reference" / "rdap-bootstrap"
    bootstrap = RdapBootstrap.load(bootstrap_dir) if bootstrap_dir.exists() else None
    if bootstrap is None:
        return None
    return RdapClient.from_settings(settings, bootstrap=bootstrap, clock=clock)


def _progress_bar(enabled: bool, total: int) -> Any:
    if not enabled or not total:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    task = bar.add_task("attributing notices", total=total)
    bar.start()
    return bar, task
