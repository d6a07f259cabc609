"""The analysis frame: one row per case episode, read from the records.

A row is one stretch of one URL at one party, from the clock start to removal or to the end of
observation. The clock starts at the first successfully delivered message of the case; where no
message was sent (feed histories imported without a case) it starts at the first notice, and
``clock_start`` says which. Removal lies between the last online sighting and the first sighting
of the offline run that confirmed it (``settings.offline_after`` failed checks in a row, or one
feed listing that no longer shows the URL): ``left_hours``/``right_hours``, ``right_hours = inf``
while still online at the period end. Content that comes back after a confirmed removal starts a
new episode (``clock_start = 'reappearance'``) at its first sighting online.

Only conclusive evidence counts: a check with ``inconclusive_reason`` set (hostwatch's own
resolver or network failed, a control probe failed) or one the policy refused
(``blocked-by-policy``) says nothing about the target and is left out. ``evidence`` says what an
episode rests on: ``online`` (seen online by a conclusive check or a feed listing: takedown time
is measured on these), ``not-confirmed-online`` (never seen online: no takedown, no "still
online") or ``not-checkable`` (never seen online, and the policy forbids checking it).

Timing comes from checks, listing observations and deliveries, not from the case columns, so the
frame can be recomputed from the immutable records at any time. Times are fetched as epoch seconds
computed in SQL (the same expression on SQLite and PostgreSQL) and the episode logic is columnar
(Polars), so a million cases cost seconds, not a Python loop. Results travel column-wise
(:mod:`.columnar_read`: COPY on PostgreSQL, Arrow through ADBC on SQLite), never as a Python
tuple per row.

The checks themselves mostly stay in the database: it counts each history (per URL and case:
first and last sighting online and offline, how many, which were inconclusive) and returns a few
rows per case (:func:`summary_query`). A history that is online until it is offline, as nearly all
are, gives its episode straight from those counts; only the others (flapping, reappearing)
have their sightings read and cut into runs (:func:`episodes`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from hostwatch.metrics.columnar_read import FrameReader
from hostwatch.metrics.period import Period
from hostwatch.model.attribution import Attribution
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.message import Delivery, MessageCase
from hostwatch.model.notice import Notice
from hostwatch.model.observation import Observation
from hostwatch.model.party import Provider
from hostwatch.model.url import Url

UNATTRIBUTED = "unattributed"
# The checker's Outcome.BLOCKED (hostwatch.takedown.checker.result), spelled out so reading the
# frame does not import the checker's network stack; tests/metrics holds the two together.
BLOCKED_OUTCOME = "blocked-by-policy"
HOUR = 3600.0

FRAME_SCHEMA: dict[str, Any] = {
    "row_id": pl.Int64,
    "case_id": pl.Int64,
    "url_id": pl.Int64,
    "episode": pl.Int32,
    "clock_start": pl.Utf8,
    "start_at": pl.Datetime("us", "UTC"),
    "notice_at": pl.Datetime("us", "UTC"),
    "first_message_at": pl.Datetime("us", "UTC"),
    "last_online_at": pl.Datetime("us", "UTC"),
    "first_offline_at": pl.Datetime("us", "UTC"),
    "left_hours": pl.Float64,
    "right_hours": pl.Float64,
    "removed": pl.Boolean,
    "evidence": pl.Utf8,
    "hotline_hours": pl.Float64,
    "notices": pl.Int32,
    "provider": pl.Utf8,
    "reseller": pl.Utf8,
    "asn": pl.Int64,
    "as_name": pl.Utf8,
    "country": pl.Utf8,
    "is_cdn": pl.Boolean,
    "url": pl.Utf8,
    "host": pl.Utf8,
    "registered_domain": pl.Utf8,
    "ip": pl.Utf8,
    # the attribution the grouping rests on is stale (hostwatch.attribution.staleness)
    "stale": pl.Boolean,
}


class epoch_seconds(FunctionElement[float]):
    """Seconds since 1970 of a stored UTC instant, computed by the database."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]'; julianday() would lose microseconds. The whole
    # seconds come from the first 19 characters: SQLite before 3.42 rounds strftime('%s') of
    # '...:49.9995' up to :50, which put such instants a second late. unixepoch() (SQLite 3.38)
    # costs a third of strftime() over tens of millions of checks.
    col = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(unixepoch(substr({col}, 1, 19)) AS REAL)"
        f" + COALESCE(CAST(NULLIF('0.' || substr({col}, 21), '0.') AS REAL), 0.0))"
    )


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


class before(FunctionElement[bool]):
    """``column < instant`` for a stored UTC instant, as each database compares it fastest.

    PostgreSQL compares timestamptz. SQLite stores instants as text, 'YYYY-MM-DD HH:MM:SS' and a
    fraction when there is one, and text of that layout sorts as time: the instant is compared as
    text, without its fraction when it has none ('...:00' < '...:00.5' as 12:00 < 12:00.5), so
    the comparison is exact and costs no date arithmetic per row (tens of millions of checks).
    """

    type = Boolean()
    inherit_cache = True

    def __init__(self, column: Any, instant: datetime) -> None:
        utc = instant.astimezone(UTC)
        layout = "%Y-%m-%d %H:%M:%S.%f" if utc.microsecond else "%Y-%m-%d %H:%M:%S"
        super().__init__(column, literal(utc), literal(utc.strftime(layout), String()))


@compiles(before, "sqlite")
def _before_sqlite(element: before, compiler: Any, **kw: Any) -> str:
    column, _, text = element.clauses
    return f"{compiler.process(column, **kw)} < {compiler.process(text, **kw)}"


@compiles(before)
def _before_default(element: before, compiler: Any, **kw: Any) -> str:
    column, instant, _ = element.clauses
    return f"{compiler.process(column, **kw)} < {compiler.process(instant, **kw)}"


def _flag(column: Any) -> Any:
    return cast(column, Integer)


def _units(reader: FrameReader) -> pl.DataFrame:
    """Cases, plus one unit per noticed URL that has no case (imported histories)."""
    cases = select(
        Case.id.label("case_id"),
        Case.url_id,
        Provider.name.label("case_provider"),
        Case.reseller.label("case_reseller"),
        Case.country.label("case_country"),
        _flag(Provider.is_cdn).label("case_is_cdn"),
    ).select_from(Case.__table__.outerjoin(Provider, Provider.id == Case.provider_id))
    orphans = (
        select(
            null().label("case_id"),
            Notice.url_id,
            null(),
            null(),
            null(),
            null(),
        )
        .where(~select(Case.id).where(Case.url_id == Notice.url_id).exists())
        .group_by(Notice.url_id)
    )
    return reader.read(
        union_all(cases, orphans),
        {
            "case_id": pl.Int64,
            "url_id": pl.Int64,
            "case_provider": pl.Utf8,
            "case_reseller": pl.Utf8,
            "case_country": pl.Utf8,
            "case_is_cdn": pl.Boolean,
        },
    )


def _notices(reader: FrameReader, period: Period) -> pl.DataFrame:
    query = (
        select(
            Notice.url_id,
            func.min(epoch_seconds(Notice.received_at)),
            func.count(),
        )
        .where(before(Notice.received_at, period.end))
        .group_by(Notice.url_id)
    )
    return reader.read(query, {"url_id": pl.Int64, "notice_s": pl.Float64, "notices": pl.Int32})


def _first_delivery(reader: FrameReader) -> pl.DataFrame:
    query = (
        select(MessageCase.case_id, func.min(epoch_seconds(Delivery.attempted_at)))
        .join(Delivery, Delivery.message_id == MessageCase.message_id)
        .where(Delivery.outcome == "sent")
        .group_by(MessageCase.case_id)
    )
    return reader.read(query, {"case_id": pl.Int64, "message_s": pl.Float64})


def _latest_attribution(reader: FrameReader) -> pl.DataFrame:
    ranked = select(
        Attribution.url_id,
        Attribution.provider_id,
        Attribution.reseller,
        Attribution.origin_asn,
        Attribution.as_name,
        Attribution.country,
        Attribution.ip,
        Attribution.behind_cdn,
        Attribution.stale,
        func.row_number()
        .over(
            partition_by=Attribution.url_id,
            order_by=(Attribution.at.desc(), Attribution.computed_at.desc(), Attribution.id.desc()),
        )
        .label("rank"),
    ).subquery()
    query = (
        select(
            ranked.c.url_id,
            Provider.name,
            ranked.c.reseller,
            ranked.c.origin_asn,
            ranked.c.as_name,
            ranked.c.country,
            ranked.c.ip,
            _flag(func.coalesce(Provider.is_cdn, ranked.c.behind_cdn)),
            _flag(ranked.c.stale),
        )
        .select_from(ranked.outerjoin(Provider, Provider.id == ranked.c.provider_id))
        .where(ranked.c.rank == 1)
    )
    return reader.read(
        query,
        {
            "url_id": pl.Int64,
            "attr_provider": pl.Utf8,
            "attr_reseller": pl.Utf8,
            "asn": pl.Int64,
            "as_name": pl.Utf8,
            "attr_country": pl.Utf8,
            "ip": pl.Utf8,
            "attr_is_cdn": pl.Boolean,
            "attr_stale": pl.Boolean,
        },
    )


def _urls(reader: FrameReader) -> pl.DataFrame:
    query = select(Url.id, Url.url, Url.host, Url.registered_domain)
    return reader.read(
        query,
        {"url_id": pl.Int64, "url": pl.Utf8, "host": pl.Utf8, "registered_domain": pl.Utf8},
    )


def refused_by_policy(outcome: Any = Check.outcome, reason: Any = Check.inconclusive_reason) -> Any:
    """Checks the policy refused: the target may not be checked (``not-checkable``)."""
    return or_(outcome == BLOCKED_OUTCOME, reason.like("%policy%"))


def _evidence(outcome: Any = Check.outcome, reason: Any = Check.inconclusive_reason) -> Any:
    """0 for a conclusive sighting, 1 for a check the policy refused, 2 for another inconclusive
    check (hostwatch's own fault: it says nothing about the target). Of the checks' columns, or
    of the same columns of a grouping of checks."""
    return case(
        (and_(reason.is_(None), outcome != BLOCKED_OUTCOME), 0),
        (refused_by_policy(outcome, reason), 1),
        else_=2,
    )


def _listed(period: Period) -> Any:
    return and_(
        Observation.kind == "listing",
        Observation.url_id.is_not(None),
        Observation.online.is_not(None),
        before(Observation.observed_at, period.end),
    )


def summary_query(period: Period) -> Any:
    """Every sighting up to the period end, collapsed in the database: per URL, case (null: about
    the URL, as feed listings are), online, listing and evidence (as in :func:`_evidence`), how
    many sightings there are and the first and the last.

    A case checked every 6 h for months is a few rows here instead of hundreds, so the database
    does the counting and only a few rows per case travel (the whole point: shipping every check
    to Python cost most of the frame's time). First and last are taken of the stored instants
    and only then turned into epoch seconds: both databases order stored instants as time (SQLite
    stores them as fixed-layout text), so this is the very number the row-wise path computes.
    """
    # grouped by the very columns of the index ix_checks_histories, in its order: SQLite reads
    # the index alone, in order, and never sorts
    groups = (
        select(
            Check.url_id,
            Check.case_id,
            Check.online,
            Check.outcome,
            Check.inconclusive_reason,
            func.count().label("n"),
            func.min(Check.checked_at).label("first_at"),
            func.max(Check.checked_at).label("last_at"),
        )
        .where(before(Check.checked_at, period.end))
        .group_by(
            Check.url_id, Check.case_id, Check.online, Check.outcome, Check.inconclusive_reason
        )
        .subquery()
    )
    per_check = select(
        groups.c.url_id,
        groups.c.case_id,
        _flag(groups.c.online),
        literal(0),
        _evidence(groups.c.outcome, groups.c.inconclusive_reason),
        groups.c.n,
        epoch_seconds(groups.c.first_at),
        epoch_seconds(groups.c.last_at),
    )
    listings = (
        select(
            Observation.url_id,
            null(),
            _flag(Observation.online),
            literal(1),
            literal(0),
            func.count(),
            epoch_seconds(func.min(Observation.observed_at)),
            epoch_seconds(func.max(Observation.observed_at)),
        )
        .where(_listed(period))
        .group_by(Observation.url_id, Observation.online)
    )
    return union_all(per_check, listings)


def _summary(reader: FrameReader, period: Period) -> pl.DataFrame:
    return reader.read(
        summary_query(period),
        {
            "url_id": pl.Int64,
            "event_case_id": pl.Int64,
            "online": pl.Boolean,
            "listing": pl.Boolean,
            "evidence": pl.Int8,
            "count": pl.Int64,
            "first_t": pl.Float64,
            "last_t": pl.Float64,
        },
    )


#: URL ids per query when reading the sightings of the cases whose history needs them: twice
#: (checks and listings) below the bound-parameter limits of SQLite (32,766) and PostgreSQL
#: (65,535).
_IDS_PER_READ = 10_000


def _events(reader: FrameReader, period: Period, url_ids: pl.Series | None) -> pl.DataFrame:
    """Every online/offline sighting up to the period end (checks and feed listings) of
    ``url_ids`` (None: of every URL). ``evidence`` as in :func:`_evidence`."""
    schema = {
        "url_id": pl.Int64,
        "event_case_id": pl.Int64,
        "t": pl.Float64,
        "online": pl.Boolean,
        "listing": pl.Boolean,
        "evidence": pl.Int8,
    }
    if url_ids is None:
        batches: list[Any] = [None]
    else:
        ids = url_ids.unique().sort().to_list()
        batches = [ids[k : k + _IDS_PER_READ] for k in range(0, len(ids), _IDS_PER_READ)]
    parts = [pl.DataFrame(schema=schema)]
    for batch in batches:
        checks = select(
            Check.url_id,
            Check.case_id,
            epoch_seconds(Check.checked_at),
            _flag(Check.online),
            literal(0),
            _evidence(),
        ).where(before(Check.checked_at, period.end))
        listings = select(
            Observation.url_id,
            null(),
            epoch_seconds(Observation.observed_at),
            _flag(Observation.online),
            literal(1),
            literal(0),
        ).where(_listed(period))
        if batch is not None:
            checks = checks.where(Check.url_id.in_(batch))
            listings = listings.where(Observation.url_id.in_(batch))
        parts.append(reader.read(union_all(checks, listings), schema))
    return pl.concat(parts)


def _simple_histories(
    units: pl.DataFrame, summary: pl.DataFrame, offline_after: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The units whose conclusive sightings are all online before all offline, with their one
    episode read off the summary; and the other units, whose sightings must be cut into runs.

    Such a history is at most one online run followed by one offline run (ties sort offline
    first, as in :func:`episodes`, so an online and an offline sighting at the same instant are
    not simple), so its episode is the first: seen online from the first to the last online
    sighting, confirmed offline at the first offline one if the run is long enough or holds a
    feed listing. Nearly every case's history is simple: checked online until removed.
    """
    on, off = pl.col("online"), ~pl.col("online")
    per_unit = (
        summary.filter(pl.col("evidence") == 0)
        .join(units.select("unit", "url_id", "case_id"), on="url_id", how="inner")
        .filter(pl.col("event_case_id").is_null() | (pl.col("event_case_id") == pl.col("case_id")))
        .group_by("unit")
        .agg(
            pl.col("first_t").filter(on).min().alias("first_online_s"),
            pl.col("last_t").filter(on).max().alias("last_online_s"),
            pl.col("first_t").filter(off).min().alias("first_off_s"),
            pl.col("count").filter(off).sum().alias("offline_count"),
            pl.col("listing").filter(off).any().alias("offline_listed"),
        )
    )
    rows = units.select("unit", "start_s").join(per_unit, on="unit", how="left")
    simple = (
        pl.col("first_online_s").is_null()
        | pl.col("first_off_s").is_null()
        | (pl.col("last_online_s") < pl.col("first_off_s"))
    )
    confirmed = (pl.col("offline_count") >= offline_after) | pl.col("offline_listed")
    episodes_of_simple = rows.filter(simple).select(
        "unit",
        pl.lit(0, pl.Int32).alias("episode"),
        pl.col("start_s").alias("episode_start_s"),
        "first_online_s",
        "last_online_s",
        pl.when(confirmed).then(pl.col("first_off_s")).alias("first_offline_s"),
    )
    others = units.join(rows.filter(~simple).select("unit"), on="unit", how="semi")
    return episodes_of_simple, others


def episodes(units: pl.DataFrame, events: pl.DataFrame, offline_after: int) -> pl.DataFrame:
    """Cut each unit's sightings into episodes and bound the removal time of each.

    ``units`` needs ``unit``, ``url_id``, ``case_id`` and ``start_s`` (clock start, epoch seconds);
    ``events`` needs ``url_id``, ``event_case_id`` (null = about the URL, not one case), ``t``,
    ``online`` and ``listing``. Returns per (unit, episode): ``episode_start_s``,
    ``first_online_s`` (null: never seen online), ``last_online_s``, ``first_offline_s`` (null
    while not confirmed offline).
    """
    linked = (
        events.join(units.select("unit", "url_id", "case_id"), on="url_id", how="inner")
        .filter(pl.col("event_case_id").is_null() | (pl.col("event_case_id") == pl.col("case_id")))
        .select("unit", "t", "online", "listing")
        .sort("unit", "t", "online")
    )
    runs = (
        linked.with_columns(
            run=(
                (pl.col("online") != pl.col("online").shift(1))
                | (pl.col("unit") != pl.col("unit").shift(1))
            )
            .fill_null(True)
            .cum_sum()
        )
        .group_by("run")
        .agg(
            pl.col("unit").first(),
            pl.col("online").first(),
            pl.col("t").min().alias("first_t"),
            pl.col("t").max().alias("last_t"),
            pl.len().alias("count"),
            pl.col("listing").any().alias("has_listing"),
        )
        .sort("run")
        .with_columns(
            confirmed=~pl.col("online")
            & ((pl.col("count") >= offline_after) | pl.col("has_listing")),
        )
        .with_columns(
            episode=(
                pl.col("confirmed").cast(pl.Int32).cum_sum().over("unit")
                - pl.col("confirmed").cast(pl.Int32)
            )
        )
    )
    per_episode = runs.group_by("unit", "episode").agg(
        pl.col("first_t").filter(pl.col("online")).min().alias("first_online_s"),
        pl.col("last_t").filter(pl.col("online")).max().alias("last_online_s"),
        pl.col("first_t").filter(pl.col("confirmed")).min().alias("first_offline_s"),
    )
    # Episodes after the first begin with content seen online again; one with no online
    # sighting after a confirmed removal is only the tail of the previous offline run.
    per_episode = per_episode.filter(
        (pl.col("episode") == 0) | pl.col("first_online_s").is_not_null()
    )
    base = units.select("unit", "start_s")
    first = base.join(per_episode.filter(pl.col("episode") == 0), on="unit", how="left").select(
        "unit",
        pl.lit(0, pl.Int32).alias("episode"),
        pl.col("start_s").alias("episode_start_s"),
        "first_online_s",
        "last_online_s",
        "first_offline_s",
    )
    later = per_episode.filter(pl.col("episode") > 0).select(
        "unit",
        pl.col("episode").cast(pl.Int32),
        pl.col("first_online_s").alias("episode_start_s"),
        "first_online_s",
        "last_online_s",
        "first_offline_s",
    )
    return pl.concat([first, later], how="vertical_relaxed")


def _bounds(rows: pl.DataFrame) -> pl.DataFrame:
    """Hours from the episode start to the last online and to the confirming offline sighting."""
    start = pl.col("episode_start_s")
    left = ((pl.col("last_online_s").fill_null(start) - start) / HOUR).clip(lower_bound=0.0)
    right = ((pl.col("first_offline_s") - start) / HOUR).clip(lower_bound=0.0)
    return rows.with_columns(
        left_hours=pl.min_horizontal(left, right.fill_null(float("inf"))),
        right_hours=right.fill_null(float("inf")),
        removed=pl.col("first_offline_s").is_not_null(),
    )


def _instant(column: str) -> pl.Expr:
    return (pl.col(column) * 1_000_000).round().cast(pl.Int64).cast(pl.Datetime("us", "UTC"))


def build_frame(
    conn: Connection,
    period: Period,
    *,
    offline_after: int = 3,
    exclude_stale: bool = False,
    columnar: bool = True,
    collapse: bool = True,
) -> pl.DataFrame:
    """Read the records through ``conn`` and return the frame for episodes starting in ``period``.

    ``exclude_stale`` leaves out the episodes whose attribution is stale (a snapshot too far from
    the notice, or an address resolved too long after it): figures on the rest stand on
    contemporaneous attributions only; the data-quality section counts what was left out.

    Sightings after the period end are ignored, so an episode still online at the end is
    right-censored there and a period's figures do not change once it is over.

    ``columnar=False`` reads every query row by row through ``conn`` (the portable transport of
    :mod:`.columnar_read`); the figures are the same either way, only slower.

    ``collapse=False`` reads every sighting of every case and cuts each history into runs,
    instead of only those of the cases whose history is not simple (:func:`_simple_histories`);
    the figures are the same either way, only slower.
    """
    with FrameReader(conn, columnar=columnar) as reader:
        return _build(reader, period, offline_after, exclude_stale, collapse)


def _build(
    reader: FrameReader, period: Period, offline_after: int, exclude_stale: bool, collapse: bool
) -> pl.DataFrame:
    notices = _notices(reader, period)
    if notices.is_empty():  # nothing noticed before the period end: nothing else to read
        return conform(
            pl.DataFrame(schema={k: v for k, v in FRAME_SCHEMA.items() if k != "row_id"})
        )
    units = (
        _units(reader)
        .join(notices, on="url_id", how="inner")
        .join(_first_delivery(reader), on="case_id", how="left")
        .with_row_index("unit")
        .with_columns(
            start_s=pl.coalesce("message_s", "notice_s"),
            clock_start=pl.when(pl.col("message_s").is_not_null())
            .then(pl.lit("message"))
            .otherwise(pl.lit("notice")),
        )
    )
    if collapse:
        summary = _summary(reader, period)
        refused = summary.filter(pl.col("evidence") == 1)
        simple, others = _simple_histories(units, summary, offline_after)
        read_off = [simple]
        events = _events(reader, period, others["url_id"])
    else:
        events = _events(reader, period, None)
        refused = events.filter(pl.col("evidence") == 1)
        read_off, others = [], units
    blocked = refused.select(pl.col("url_id").unique(), blocked=pl.lit(True))
    cut = episodes(others, events.filter(pl.col("evidence") == 0), offline_after)
    rows = _bounds(pl.concat([cut, *read_off], how="vertical_relaxed"))
    rows = rows.join(units, on="unit", how="left").join(blocked, on="url_id", how="left")
    rows = rows.join(_latest_attribution(reader), on="url_id", how="left").join(
        _urls(reader), on="url_id", how="left"
    )
    frame = rows.select(
        pl.col("case_id"),
        pl.col("url_id"),
        pl.col("episode"),
        pl.when(pl.col("episode") > 0)
        .then(pl.lit("reappearance"))
        .otherwise(pl.col("clock_start"))
        .alias("clock_start"),
        _instant("episode_start_s").alias("start_at"),
        _instant("notice_s").alias("notice_at"),
        _instant("message_s").alias("first_message_at"),
        _instant("last_online_s").alias("last_online_at"),
        _instant("first_offline_s").alias("first_offline_at"),
        "left_hours",
        "right_hours",
        "removed",
        pl.when(pl.col("first_online_s").is_not_null())
        .then(pl.lit("online"))
        .when(pl.col("blocked").fill_null(False))
        .then(pl.lit("not-checkable"))
        .otherwise(pl.lit("not-confirmed-online"))
        .alias("evidence"),
        ((pl.col("message_s") - pl.col("notice_s")) / HOUR).alias("hotline_hours"),
        "notices",
        pl.coalesce("case_provider", "attr_provider").fill_null(UNATTRIBUTED).alias("provider"),
        pl.coalesce("case_reseller", "attr_reseller").alias("reseller"),
        "asn",
        "as_name",
        pl.coalesce("case_country", "attr_country").alias("country"),
        pl.coalesce("case_is_cdn", "attr_is_cdn").fill_null(False).alias("is_cdn"),
        "url",
        "host",
        "registered_domain",
        "ip",
        pl.col("attr_stale").fill_null(False).alias("stale"),
    )
    start, end = period.start, period.end
    frame = frame.filter((pl.col("start_at") >= start) & (pl.col("start_at") < end))
    if exclude_stale:
        frame = frame.filter(~pl.col("stale"))
    # case_id last: two cases of one URL can start at the same instant (the first notice)
    return conform(frame.sort("start_at", "url_id", "episode", "case_id"))


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Give any frame (database, feed history, simulation) the exact columns and types.

    A frame without ``evidence`` (feed histories, simulations) has every episode start from a
    sighting online, so its episodes are ``online``.
    """
    missing = [
        pl.lit("online" if name == "evidence" else None, dtype).alias(name)
        for name, dtype in FRAME_SCHEMA.items()
        if name not in frame.columns and name != "row_id"
    ]
    frame = frame.with_columns(missing).drop("row_id", strict=False).with_row_index("row_id")
    return frame.select(pl.col(name).cast(dtype) for name, dtype in FRAME_SCHEMA.items())


def load_frame(
    database_url: str, period: Period, *, offline_after: int = 3, exclude_stale: bool = False
) -> pl.DataFrame:
    """The frame for ``period`` from the database at ``database_url``."""
    from hostwatch.model.db import engine_for

    with engine_for(database_url).connect() as conn:
        return build_frame(conn, period, offline_after=offline_after, exclude_stale=exclude_stale)


def period_of(frame: pl.DataFrame) -> tuple[datetime | None, datetime | None]:
    """First and last clock start in the frame (for the methods section)."""
    if frame.is_empty():
        return None, None
    return frame["start_at"].min(), frame["start_at"].max()  # type: ignore[return-value]
