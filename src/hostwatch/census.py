"""A census of any list of URLs: which are online now, which offline, at whom, in which country.

Parliament asked how many of the URLs a foreign hotline listed as hosted in the Netherlands are
offline by now. A census answers that for any list without making it hostwatch's work: every
distinct URL is checked once by the liveness checker (content-free, with its health rules:
control probes around each batch, hostwatch's own failures inconclusive, never "offline") and
attributed with the same chain as a notice, as of now, to the address the check reached. Nothing
is written: no notice, case, check, message or observation; the automatic providers attribution
would create live in a transaction that is rolled back.

A URL ends in one of four states: ``online`` (the server answered), ``offline`` (a failure the
target caused: NXDOMAIN, refused, 404, ...), ``not-checkable`` (the policy forbids checking it:
private or reserved space, a URL that cannot be requested) and ``inconclusive`` (the check
failed on our side or a control probe failed: evidence of nothing, counted apart).

Input: a plain list (one URL a line; what no other format claims is read as one) or any format
``hostwatch ingest`` reads. A line that gives no usable URL is reported with its number and the
reason; the rest is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from hostwatch.clock import Clock
from hostwatch.settings import Settings

ONLINE, OFFLINE, NOT_CHECKABLE, INCONCLUSIVE = "online", "offline", "not-checkable", "inconclusive"
STATES = (ONLINE, OFFLINE, NOT_CHECKABLE, INCONCLUSIVE)
#: The groupings a census reports, in this order; a URL without the value is in ``UNKNOWN``.
DIMENSIONS = ("provider", "reseller", "country")
UNATTRIBUTED = "unattributed"
UNKNOWN = "unknown"
NONE = "none"
_LABEL_OF_MISSING = {"provider": UNATTRIBUTED, "reseller": NONE, "country": UNKNOWN}


@dataclass(frozen=True, slots=True)
class Listed:
    """One distinct URL of the list, canonical, with the first line that gave it."""

    line: int
    url: str
    host: str
    host_type: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A line of the list that gave no URL to check."""

    line: int
    reason: str


@dataclass
class UrlList:
    urls: list[Listed] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0  # lines (records) that named a URL, duplicates included
    format: str = "list"


@dataclass
class Census:
    """What the census found: one row per distinct URL (``rows``) and the list's problems."""

    rows: pl.DataFrame
    problems: list[Problem]
    lines: int
    format: str
    checked_at: datetime
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per phase: read, check, attribute."""

    def totals(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for state, n in self.rows.group_by("state").len().iter_rows():
            counts[state] = n
        return {"urls": self.rows.height, **counts}

    def reasons(self) -> dict[str, int]:
        """URLs per inconclusive reason or not-checkable kind, most first: whose fault it was."""
        counts = self.rows.drop_nulls("reason").group_by("reason").len()
        return dict(counts.sort(["len", "reason"], descending=[True, False]).iter_rows())

    def by(self, dimension: str) -> pl.DataFrame:
        """Counts per state for each value of ``dimension``; most URLs first, then by name."""
        counts = (
            self.rows.group_by(dimension)
            .agg(
                pl.len().alias("urls"),
                *[(pl.col("state") == s).sum().alias(s) for s in STATES],
            )
            .sort([pl.col("urls"), pl.col(dimension)], descending=[True, False])
        )
        return counts.rename({dimension: "name"}).with_columns(
            pl.col(s).cast(pl.Int64) for s in ("urls", *STATES)
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON document (its shape is documented in README.md, "A census of any list")."""
        return {
            "checked_at": self.checked_at.isoformat(),
            "format": self.format,
            "lines": self.lines,
            "totals": self.totals(),
            "reasons": self.reasons(),
            **{f"by_{d}": self.by(d).to_dicts() for d in DIMENSIONS},
            "urls": self.rows.select(
                "line", "url", "state", "outcome", "reason", *DIMENSIONS
            ).to_dicts(),
            "rejected": [{"line": p.line, "reason": p.reason} for p in self.problems],
        }

    def long_table(self) -> pl.DataFrame:
        """Every grouping in one table (``dimension``, ``name``, counts): the CSV output."""
        overall = pl.DataFrame(
            [{"dimension": "all", "name": "all", **self.totals()}],
            schema={"dimension": pl.Utf8, "name": pl.Utf8, "urls": pl.Int64}
            | dict.fromkeys(STATES, pl.Int64),
        )
        parts = [overall] + [
            self.by(d).select(pl.lit(d).alias("dimension"), pl.all()) for d in DIMENSIONS
        ]
        return pl.concat(parts, how="vertical_relaxed")


def read_list(path: Path) -> UrlList:
    """The distinct canonical URLs of ``path`` in the order first listed, and the bad lines."""
    from hostwatch.ingest.canonical import UrlRejected, canonicalize
    from hostwatch.ingest.detect import FormatUndecided, detect_format
    from hostwatch.ingest.readers import READERS, ReadOptions
    from hostwatch.ingest.readers.base import FormatError
    from hostwatch.ingest.streams import Rejected, TextSource

    try:
        fmt = detect_format(path)
    except FormatUndecided:
        fmt = "openphish"  # a plain list; lines that are no URL are reported one by one
    out = UrlList(format="list" if fmt == "openphish" else fmt)
    seen: set[str] = set()
    with TextSource(path) as source:
        try:
            for record in READERS[fmt](source, ReadOptions()):
                if isinstance(record, Rejected):
                    out.problems.append(Problem(record.line, record.reason))
                    continue
                out.lines += 1
                try:
                    canonical = canonicalize(record.url.strip())
                except UrlRejected as exc:
                    out.problems.append(Problem(record.line, exc.reason))
                    continue
                if canonical.url not in seen:
                    seen.add(canonical.url)
                    out.urls.append(
                        Listed(record.line, canonical.url, canonical.host, canonical.host_type)
                    )
        except FormatError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        if source.error:
            raise ValueError(f"{path}: {source.error}")
    return out


def state_of(result: Any) -> tuple[str, str | None]:
    """A check result's census state and the reason for a state other than online/offline."""
    from hostwatch.takedown.checker.fault import NOT_CHECKABLE as REFUSED_KINDS

    if result.online:
        return ONLINE, None
    if result.failure in REFUSED_KINDS:
        return NOT_CHECKABLE, result.failure
    if result.inconclusive:
        return INCONCLUSIVE, result.inconclusive
    return OFFLINE, None


def in_turns(listed: list[Listed]) -> list[str]:
    """The URLs in the order to check them: each host's first URL, then each host's second...

    The checker's politeness starts one check a second per host, and the runner hands URLs to
    its workers in order: a list naming one host's URLs in a row (a hotline's list of one
    file-sharing site) would hold every worker at that host's gate while the other hosts wait.
    """
    turn: dict[str, int] = {}
    ranked: list[tuple[int, int]] = []
    for k, item in enumerate(listed):
        ranked.append((turn.get(item.host, 0), k))
        turn[item.host] = ranked[-1][0] + 1
    return [listed[k].url for _, k in sorted(ranked)]


def check_all(
    urls: list[str],
    settings: Settings,
    clock: Clock,
    on_result: Callable[[Any], None],
    *,
    concurrency: int = 200,
) -> None:
    """Check every URL once through the checker, its control probes and health rules; each
    host is resolved once for the whole census (``CheckOptions.one_answer_per_host``)."""
    from hostwatch.takedown.checker import (
        CheckOptions,
        CheckRunner,
        Controls,
        Politeness,
        open_checker,
    )

    options = CheckOptions(one_answer_per_host=True)

    async def main() -> None:
        async with open_checker(settings, clock, options) as checker:
            runner = CheckRunner(
                checker,
                concurrency=concurrency,
                politeness=Politeness(),
                controls=Controls.from_settings(settings),
            )
            async for result in runner.stream(urls):
                on_result(result)

    asyncio.run(main())


def attribute_now(
    settings: Settings, clock: Clock, listed: list[Listed], addresses: list[str | None]
) -> list[tuple[str | None, str | None, str | None]]:
    """(provider, reseller, country) per URL, attributed as of now to the checked address.

    The attribution chain is the one notices go through, against the reference snapshots for
    now and the providers and manual assets in the database; the check's own address stands in
    for a DNS answer (the checker resolved the host moments ago). The session is rolled back.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from hostwatch.attribution.chain import Context, Targets, attribute
    from hostwatch.attribution.contacts import ContactIndex
    from hostwatch.attribution.dns_in_time import RowAnswers
    from hostwatch.attribution.prefix_index import PrefixIndex
    from hostwatch.attribution.providers import ProviderBuilder, ProviderIndex
    from hostwatch.attribution.record import COLUMNS
    from hostwatch.attribution.reference import (
        ReferenceCatalog,
        load_reference_set,
        sync_reference_store,
    )
    from hostwatch.attribution.staleness import TimeLimits
    from hostwatch.model.db import engine_for
    from hostwatch.model.party import Provider

    n = len(listed)
    if not n:
        return []
    now = clock.now()
    provider_at, reseller_at = COLUMNS.index("provider_id"), COLUMNS.index("reseller")
    country_at = COLUMNS.index("country")
    with Session(engine_for(settings.database_url)) as session:
        try:
            sync_reference_store(session, settings.state_dir, loaded_at=now)
            catalog = ReferenceCatalog.from_session(session)
            providers = ProviderIndex.load(session)
            ctx = Context(
                reference=load_reference_set(catalog.choose_many([now])[0]),
                providers=providers,
                builder=ProviderBuilder(session, providers, now),
                contacts=ContactIndex.load(session),
                computed_at=now,
                limits=TimeLimits.from_settings(settings),
                lab_networks=PrefixIndex((c, i) for i, c in enumerate(settings.allow_networks)),
            )
            targets = Targets(
                notice_id=[0] * n,
                url_id=list(range(n)),
                host=[item.host for item in listed],
                host_type=[item.host_type for item in listed],
                reported_ip=addresses,
                at=[now] * n,
            )
            rows, _ = attribute(targets, ctx, RowAnswers([None] * n, [False] * n))
            ids = {row[provider_at] for row in rows if row[provider_at] is not None}
            names = dict(
                session.execute(
                    select(Provider.id, Provider.name).where(Provider.id.in_(ids))
                ).all()
            )
        finally:
            session.rollback()
    return [
        (names.get(row[provider_at]), row[reseller_at], row[country_at])
        for row in sorted(rows, key=lambda row: row[0])
    ]


def run_census(
    path: Path,
    settings: Settings,
    *,
    clock: Clock | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Census:
    """Read, check and attribute the list at ``path``; ``progress(done, total)`` per check."""
    from time import perf_counter

    clock = clock or settings.clock()
    started = perf_counter()
    listed = read_list(path)
    seconds = {"read": perf_counter() - started}
    index = {item.url: k for k, item in enumerate(listed.urls)}
    results: list[Any] = [None] * len(listed.urls)
    total = len(listed.urls)

    done = 0

    def record(result: Any) -> None:
        nonlocal done
        results[index[result.url]] = result
        done += 1
        if progress is not None:
            progress(done, total)

    checked_at = clock.now()
    started = perf_counter()
    check_all(in_turns(listed.urls), settings, clock, record)
    seconds["check"] = perf_counter() - started
    started = perf_counter()
    addresses = [_address(r) for r in results]
    parties = attribute_now(settings, clock, listed.urls, addresses)
    seconds["attribute"] = perf_counter() - started
    states = [state_of(r) for r in results]
    rows = pl.DataFrame(
        {
            "line": [item.line for item in listed.urls],
            "url": [item.url for item in listed.urls],
            "state": [s for s, _ in states],
            "outcome": [r.outcome.value for r in results],
            "reason": [reason for _, reason in states],
            "provider": [p for p, _, _ in parties],
            "reseller": [r for _, r, _ in parties],
            "country": [c for _, _, c in parties],
        },
        schema={
            "line": pl.Int64,
            "url": pl.Utf8,
            "state": pl.Utf8,
            "outcome": pl.Utf8,
            "reason": pl.Utf8,
            "provider": pl.Utf8,
            "reseller": pl.Utf8,
            "country": pl.Utf8,
        },
    ).with_columns(pl.col(d).fill_null(_LABEL_OF_MISSING[d]) for d in DIMENSIONS)
    return Census(
        rows=rows,
        problems=listed.problems,
        lines=listed.lines,
        format=listed.format,
        checked_at=checked_at,
        seconds=seconds,
    )


def _address(result: Any) -> str | None:
    """The address the check reached (or first resolved): the one hosting the URL now."""
    if result.ip:
        return str(result.ip)
    return next(iter(result.addresses), None)
