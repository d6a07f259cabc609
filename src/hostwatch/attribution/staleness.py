"""Attribution within its time: how far the data an attribution used lies from the notice.

An attribution describes who hosted a URL at one instant (its ``at``: the notice's receipt time,
or ``hostwatch attribute --at``). Each snapshot it was computed against and the DNS answer that
gave its address lie some distance from that instant; the distance is recorded as a signed
offset in seconds, *snapshot time minus notice time* (negative: the data is older than the
notice; positive: it describes a later internet), in ``sources["offsets"]`` per kind.

The rule, in this one place (docs/DESIGN.md, "Attribution within its time"):

* a reference snapshot (routing, AS names, as2org, RIR statistics, WHOIS/RPSL) more than
  ``stale_routing_days`` before the notice is *outdated*;
* a reference snapshot dated after the notice is *anachronistic* (used only when no older one is
  catalogued);
* a DNS answer more than ``stale_dns_days`` after the notice is *resolved later* and
  anachronistic; otherwise it is *resolved at intake*, and outdated if it lies more than
  ``stale_dns_days`` before the notice (possible only for a notice dated after the clock);
* an attribution with any outdated or anachronistic part is *stale*: ``attributions.stale`` is
  true and ``attributions.stale_reason`` lists the parts (``routing:outdated``,
  ``as2org:anachronistic``, ``dns:anachronistic``...), so figures can leave it out.

A notice for which resolving its host now would be "resolved later" is *historical*: it takes a
stored DNS answer from within ``stale_dns_days`` of its time, else stays unattributed
(``no-contemporaneous-address``) unless resolving anew is asked for explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, and_, case, func, select

from hostwatch.attribution.record import NO_CONTEMPORANEOUS_ADDRESS
from hostwatch.model import Attribution

if TYPE_CHECKING:
    from hostwatch.attribution.reference import SnapshotRef
    from hostwatch.settings import Settings

REPORTED = "reported"
RESOLVED_AT_INTAKE = "resolved-at-intake"
RESOLVED_LATER = "resolved-later"
IP_ORIGINS = (REPORTED, RESOLVED_AT_INTAKE, RESOLVED_LATER)
"""``attributions.ip_origin``: the notice carried the address (in a field or as the URL's host),
or DNS gave it within the DNS limit of the notice, or later than that. NULL: nothing resolved."""

OUTDATED = "outdated"
ANACHRONISTIC = "anachronistic"


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """How far from the notice a reference snapshot and a DNS answer may lie, in seconds."""

    reference_seconds: float
    dns_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> TimeLimits:
        return cls(settings.stale_routing_days * 86400.0, settings.stale_dns_days * 86400.0)

    def resolved_later(self, offset_seconds: float) -> bool:
        """Whether a DNS answer this far after the notice no longer describes the notice's time."""
        return offset_seconds > self.dns_seconds


def dns_origin(offset_seconds: float, limits: TimeLimits) -> tuple[str, str]:
    """The IP origin of a DNS answer this far from the notice, and its stale part ('' if none).

    An answer more than the limit *before* the notice can only come from resolving a notice
    dated after the clock; it was obtained at intake, but describes an earlier internet.
    """
    if limits.resolved_later(offset_seconds):
        return RESOLVED_LATER, f"dns:{ANACHRONISTIC}"
    if offset_seconds < -limits.dns_seconds:
        return RESOLVED_AT_INTAKE, f"dns:{OUTDATED}"
    return RESOLVED_AT_INTAKE, ""


@dataclass(frozen=True)
class ReferenceTimes:
    """Per row of a batch: the reference offsets (JSON object members) and the stale parts."""

    offsets: list[str]
    parts: list[str]


def judge_reference(
    refs: Sequence[SnapshotRef], times: np.ndarray, limits: TimeLimits
) -> ReferenceTimes:
    """Offsets and outdated/anachronistic parts of each row's reference snapshots, over arrays.

    ``times`` are the rows' instants as POSIX seconds. Where a kind has several snapshots (one
    per series, e.g. bgp.tools and CAIDA names) the offset furthest from the notice is recorded,
    and each snapshot is judged.
    """
    n = len(times)
    kinds = sorted({ref.kind for ref in refs})
    if not kinds:
        return ReferenceTimes([""] * n, [""] * n)
    columns = []
    masks = np.zeros(n, dtype=np.int64)
    for j, kind in enumerate(kinds):
        stamps = [ref.valid_at.timestamp() for ref in refs if ref.kind == kind]
        oldest, newest = min(stamps) - times, max(stamps) - times
        columns.append(np.rint(np.where(-oldest >= newest, oldest, newest)).astype(np.int64))
        masks |= (oldest < -limits.reference_seconds).astype(np.int64) << (2 * j)
        masks |= (newest > 0).astype(np.int64) << (2 * j + 1)
    template = ", ".join(f'"{kind}": %d' for kind in kinds)  # kinds are fixed names, not input
    values = zip(*(column.tolist() for column in columns), strict=True)
    offsets = list(map(template.__mod__, values))
    distinct, index = np.unique(masks, return_inverse=True)
    words = [
        " ".join(
            f"{kind}:{label}"
            for j, kind in enumerate(kinds)
            for bit, label in ((2 * j, OUTDATED), (2 * j + 1, ANACHRONISTIC))
            if mask >> bit & 1
        )
        for mask in distinct.tolist()
    ]
    return ReferenceTimes(offsets, [words[k] for k in index.tolist()])


def quality_counts(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Stale, outdated, anachronistic and not-contemporaneous attributions of a period.

    Counted over the attribution the figures use for each URL (its newest: latest ``at``, then
    ``computed_at``, then id, as :mod:`hostwatch.metrics.frame` ranks them) when its ``at``
    falls in ``[start, end)``.
    """
    ranked = select(
        Attribution.at,
        Attribution.status,
        Attribution.ip_origin,
        Attribution.stale,
        Attribution.stale_reason,
        func.row_number()
        .over(
            partition_by=Attribution.url_id,
            order_by=(Attribution.at.desc(), Attribution.computed_at.desc(), Attribution.id.desc()),
        )
        .label("rank"),
    ).subquery()
    reason = func.coalesce(ranked.c.stale_reason, "")

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = select(
        func.count(),
        count(ranked.c.stale.is_(True)),
        count(reason.like(f"%:{OUTDATED}%")),
        count(reason.like(f"%:{ANACHRONISTIC}%")),
        count(ranked.c.ip_origin == RESOLVED_LATER),
        count(ranked.c.status == NO_CONTEMPORANEOUS_ADDRESS),
    ).where(and_(ranked.c.rank == 1, ranked.c.at >= start, ranked.c.at < end))
    row = conn.execute(query).one()
    keys = (
        "attributions",
        "stale",
        "outdated",
        "anachronistic",
        "resolved_later",
        "no_contemporaneous_address",
    )
    return {key: int(value or 0) for key, value in zip(keys, row, strict=True)}
