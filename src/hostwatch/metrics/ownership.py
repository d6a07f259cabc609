"""Who is responsible, in figures: nationality and kind of each level of the chain, and the
resellers beside their network holders.

Reads the same episodes as every other measure (the frame of :mod:`hostwatch.metrics.frame`)
and, per URL, the parties of its latest attribution (:mod:`hostwatch.attribution.parties`),
chosen by the frame's rule (latest ``at``, then ``computed_at``, then id).

- ``hosted_in_country``: of the reported URLs hosted in the country (the frame's ``country``, as
  :mod:`.exposure` counts them), how many have a domestic, foreign or unknown-country party at
  each level (``none``: no party known at that level), how many per country, and per level how
  many parties are organisations, natural persons or unknown. The reseller level is the reseller
  nearest the customer (the one the frame's ``reseller`` names).
- ``responsible``: per URL the most specific party known (customer, else reseller, else network
  holder): company, private (a natural person) or unknown. Natural persons are counted, never
  named (:func:`hostwatch.attribution.parties.shown_name` is the only way to a name).
- ``resellers``: takedown time (from :mod:`.takedown`, the one definition) and exposure (from
  :mod:`.exposure`) per reseller, over exactly the episodes ``metrics takedown --by reseller``
  partitions ('unattributed' and '(no reseller)' are groups), each beside the network holder(s)
  it sits under.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import polars as pl
from sqlalchemy import String, cast, func, select
from sqlalchemy.engine import Connection

from hostwatch.attribution.parties import CUSTOMER, LEVELS, NETWORK_HOLDER, RESELLER, shown_name
from hostwatch.metrics import exposure, takedown
from hostwatch.metrics.frame import load_frame
from hostwatch.metrics.groups import with_group
from hostwatch.metrics.period import Period
from hostwatch.model.attribution import Attribution
from hostwatch.net.party_kind import KINDS, NATURAL_PERSON, ORGANISATION, UNKNOWN

DOMESTIC, FOREIGN, NONE = "domestic", "foreign", "none"
NATIONALITIES = (DOMESTIC, FOREIGN, UNKNOWN, NONE)
RESPONSIBLE = {ORGANISATION: "company", NATURAL_PERSON: "private", UNKNOWN: "unknown"}
RESELLER_COLUMNS = (
    "reseller",
    "network_holder",
    "episodes",
    "urls",
    "url_hours_online",
    "share_of_country",
    "n",
    "removed",
    "censored",
    "removed_within_24h",
    "removed_within_24h_upper",
    "median_hours",
    "median_status",
    "median_lower_hours",
    "median_upper_hours",
    "online_after_24h",
)


def read_parties(conn: Connection) -> dict[int, list[dict[str, Any]]]:
    """Per URL, the parties of its latest attribution (the frame's choice of attribution)."""
    ranked = select(
        Attribution.url_id,
        Attribution.parties,
        func.row_number()
        .over(
            partition_by=Attribution.url_id,
            order_by=(Attribution.at.desc(), Attribution.computed_at.desc(), Attribution.id.desc()),
        )
        .label("rank"),
    ).subquery()
    query = select(ranked.c.url_id, cast(ranked.c.parties, String)).where(ranked.c.rank == 1)
    out: dict[int, list[dict[str, Any]]] = {}
    # URLs on one reseller's or holder's space share a chain: one list per distinct chain, so
    # that the counts below go by chain, not by URL (a year holds a million URLs, few chains)
    chains: dict[str | None, list[dict[str, Any]]] = {}
    for url_id, text in conn.execute(query):
        chain = chains.get(text)
        if chain is None:
            chain = chains[text] = list(json.loads(text) or []) if text else []
        out[int(url_id)] = chain
    return out


def _by_chain(
    parties: dict[int, list[dict[str, Any]]], url_ids: list[int]
) -> list[tuple[list[dict[str, Any]], int]]:
    """The distinct chains (lists shared by :func:`read_parties`) of ``url_ids``, each with how
    many of the URLs have it (a URL without a chain has the empty one)."""
    none: list[dict[str, Any]] = []
    counts: Counter[int] = Counter()
    chains: dict[int, list[dict[str, Any]]] = {}
    for url_id in url_ids:
        chain = parties.get(url_id, none)
        counts[id(chain)] += 1
        chains[id(chain)] = chain
    return [(chains[key], n) for key, n in counts.items()]


def _at_level(parties: list[dict[str, Any]], level: str) -> dict[str, Any] | None:
    """The party of a level; of several resellers, the one nearest the customer."""
    found = [p for p in parties if p.get("level") == level]
    return found[-1] if found else None


def _nationality(party: dict[str, Any] | None, country: str) -> str:
    if party is None:
        return NONE
    cc = party.get("country")
    if not cc:
        return UNKNOWN
    return DOMESTIC if cc == country else FOREIGN


def _responsible(parties: list[dict[str, Any]]) -> str:
    for level in (CUSTOMER, RESELLER, NETWORK_HOLDER):
        party = _at_level(parties, level)
        if party is not None:
            return RESPONSIBLE.get(party.get("kind") or UNKNOWN, "unknown")
    return "unknown"


def hosted_in_country(
    frame: pl.DataFrame, parties: dict[int, list[dict[str, Any]]], country: str
) -> dict[str, Any]:
    """Counts of the URLs hosted in ``country``, by nationality and kind of each level."""
    urls = frame.filter(pl.col("country") == country)["url_id"].unique().sort().to_list()
    nationality = {level: Counter[str]() for level in LEVELS}
    countries = {level: Counter[str]() for level in LEVELS}
    kinds = {level: Counter[str]() for level in LEVELS}
    responsible: Counter[str] = Counter()
    for chain, n in _by_chain(parties, urls):
        for level in LEVELS:
            party = _at_level(chain, level)
            nationality[level][_nationality(party, country)] += n
            if party is not None:
                countries[level][party.get("country") or UNKNOWN] += n
                kinds[level][party.get("kind") or UNKNOWN] += n
        responsible[_responsible(chain)] += n
    return {
        "country": country,
        "urls": len(urls),
        "levels": {
            level: {
                "nationality": {name: nationality[level][name] for name in NATIONALITIES},
                "countries": dict(sorted(countries[level].items(), key=lambda kv: (-kv[1], kv[0]))),
                "kinds": {name: kinds[level][name] for name in KINDS},
            }
            for level in LEVELS
        },
        "responsible": {name: responsible[name] for name in ("company", "private", "unknown")},
    }


def _holders(frame: pl.DataFrame, parties: dict[int, list[dict[str, Any]]]) -> dict[str, str]:
    """Per reseller group, its network holder(s) by number of episodes, shown names only."""
    names: dict[str, str] = {}  # one shown name per distinct holder name, not per URL
    shown_for: dict[int, str | None] = {}  # per distinct chain (read_parties shares them)
    urls, holders = [], []
    for url_id in frame["url_id"].unique().to_list():
        chain = parties.get(url_id)
        if chain is None:
            continue
        if id(chain) not in shown_for:
            holder = _at_level(chain, NETWORK_HOLDER)
            shown_for[id(chain)] = None
            if holder is not None:
                key = f"{holder.get('kind')}\x00{holder.get('name')}\x00{holder.get('handle')}"
                shown = names.get(key)
                if shown is None:
                    shown = names[key] = shown_name(holder)
                shown_for[id(chain)] = shown
        shown = shown_for[id(chain)]
        if shown is not None:
            urls.append(url_id)
            holders.append(shown)
    lookup = pl.DataFrame(
        {"url_id": urls, "holder": holders}, schema={"url_id": pl.Int64, "holder": pl.Utf8}
    )
    counted = (
        with_group(frame, "reseller")
        .join(lookup, on="url_id", how="inner")
        .group_by("group", "holder")
        .len()
        .sort(["group", "len", "holder"], descending=[False, True, False])
        .group_by("group", maintain_order=True)
        .agg(pl.col("holder").str.join("; "))
    )
    return dict(counted.iter_rows())


def reseller_table(
    frame: pl.DataFrame, parties: dict[int, list[dict[str, Any]]], country: str
) -> pl.DataFrame:
    """Takedown time and exposure per reseller beside its network holder, largest first."""
    schema = {name: dtype for name, dtype in _reseller_schema().items()}
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    times = takedown.takedown_table(frame, "reseller").rename({"group": "reseller"})
    exposed = exposure.exposure_table(frame, "reseller", country).rename({"group": "reseller"})
    holders = pl.DataFrame(
        list(_holders(frame, parties).items()),
        schema={"reseller": pl.Utf8, "network_holder": pl.Utf8},
        orient="row",
    )
    table = (
        times.join(exposed, on="reseller", how="left")
        .join(holders, on="reseller", how="left")
        .select(RESELLER_COLUMNS)
    )
    return table.sort(["episodes", "reseller"], descending=[True, False])


def _reseller_schema() -> dict[str, Any]:
    texts = {"reseller", "network_holder", "median_status"}
    ints = {"episodes", "urls", "n", "removed", "censored", "online_after_24h"}
    return {
        name: pl.Utf8 if name in texts else pl.Int64 if name in ints else pl.Float64
        for name in RESELLER_COLUMNS
    }


def ownership_report(
    frame: pl.DataFrame, parties: dict[int, list[dict[str, Any]]], country: str
) -> dict[str, Any]:
    """The document of ``hostwatch metrics ownership --format json``."""
    resellers = reseller_table(frame, parties, country)
    return {
        "episodes": frame.height,
        "urls": frame["url_id"].n_unique(),
        "hosted_in_country": hosted_in_country(frame, parties, country),
        "resellers": resellers.to_dicts(),
    }


def load_parties(database_url: str) -> dict[int, list[dict[str, Any]]]:
    from hostwatch.model.db import engine_for

    with engine_for(database_url).connect() as conn:
        return read_parties(conn)


def load_ownership_report(
    database_url: str, period: Period, *, country: str, offline_after: int = 3
) -> dict[str, Any]:
    """:func:`ownership_report` of the database's episodes in ``period``."""
    frame = load_frame(database_url, period, offline_after=offline_after)
    return ownership_report(frame, load_parties(database_url), country)


def levels_table(doc: dict[str, Any]) -> pl.DataFrame:
    """One row per level of the chain: nationality and kind counts of the URLs in the country."""
    rows = []
    for level, part in doc["hosted_in_country"]["levels"].items():
        rows.append(
            {
                "level": level,
                **part["nationality"],
                **{f"kind_{name.replace('-', '_')}": part["kinds"][name] for name in KINDS},
            }
        )
    return pl.DataFrame(rows)


def with_network_holders(
    table: pl.DataFrame, frame: pl.DataFrame, parties: dict[int, list[dict[str, Any]]]
) -> pl.DataFrame:
    """A ``--by reseller`` takedown table with each reseller's network holder(s) beside it."""
    holders = pl.DataFrame(
        list(_holders(frame, parties).items()),
        schema={"reseller": pl.Utf8, "network_holder": pl.Utf8},
        orient="row",
    )
    joined = table.join(holders, on="reseller", how="left", maintain_order="left")
    order = ["reseller", "network_holder", *[c for c in table.columns if c != "reseller"]]
    return joined.select(order)
