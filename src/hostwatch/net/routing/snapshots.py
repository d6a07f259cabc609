"""Choosing the routing snapshot for a moment in time.

Routes change, so a notice from March must be attributed with the table of March. A catalogue
lists the dated snapshots in a folder (date from the file name, or given explicitly) and, for a
time ``t``, hands out the newest snapshot not after ``t`` and says which one it was.
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from hostwatch.net.routing.table import RoutingTable

_PATTERNS = [
    # ip-location-db package versions: v2.3.2026061719 -> 2026-06-17 19h
    re.compile(r"v\d+\.\d+\.(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?P<H>\d{2})(?!\d)"),
    # rib.20080501.0644, bview.20140112.1600, routeviews-rv2-20240101-1200.pfx2as
    re.compile(r"(?<!\d)(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})[._-](?P<H>\d{2})(?P<M>\d{2})(?!\d)"),
    # ipasn_20140513.dat.gz
    re.compile(r"(?<!\d)(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?!\d)"),
    # as-prefix_2026-06-19
    re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)"),
]
_SKIP_SUFFIXES = {".txt", ".md", ".json", ".sha256", ".tmp"}


def date_from_name(path: str | Path) -> datetime | None:
    """Snapshot time (UTC) written in a file name, else in the names of its parent folders."""
    for part in [Path(path).name, *(p.name for p in Path(path).parents)]:
        for pattern in _PATTERNS:
            for match in pattern.finditer(part):
                found = _to_datetime(match.groupdict())
                if found is not None:
                    return found
    return None


def _to_datetime(fields: dict[str, str | None]) -> datetime | None:
    try:
        return datetime(
            int(fields["y"] or 0),
            int(fields["m"] or 0),
            int(fields["d"] or 0),
            int(fields.get("H") or 0),
            int(fields.get("M") or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def as_instant(moment: datetime | date | str) -> datetime:
    """An aware UTC datetime from a datetime (naive = UTC), a date (midnight) or ISO text."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, order=True)
class Snapshot:
    """The source files of one date (e.g. an IPv4 and an IPv6 file), loaded as one table."""

    date: datetime
    paths: tuple[Path, ...]

    @property
    def name(self) -> str:
        return ", ".join(str(p) for p in self.paths)


@dataclass(frozen=True)
class Selection:
    """The table chosen for a moment, and which snapshot it is."""

    snapshot: Snapshot
    table: RoutingTable
    requested: datetime

    @property
    def age_days(self) -> float:
        return (self.requested - self.snapshot.date).total_seconds() / 86400


class SnapshotCatalog:
    """Dated routing snapshots; :meth:`select` gives the newest one not after a time.

    Routing-table files in the folder (recursively) are catalogued with the date in their name
    (a stored snapshot: the date it records); ``dates`` adds or overrides dates for files whose
    names carry none. The ``keep`` most recently used tables stay loaded, so a batch of notices
    sorted by time loads each snapshot once without holding a year of tables in memory.
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        dates: Mapping[str | Path, datetime | date | str] | None = None,
        files: Iterable[str | Path] = (),
        keep: int = 2,
    ) -> None:
        found: dict[Path, datetime] = {}
        candidates = list(map(Path, files))
        if folder is not None:
            candidates += [p for p in sorted(Path(folder).rglob("*")) if p.is_file()]
        from hostwatch.net.routing.loaders import sniff_format
        from hostwatch.net.routing.store import STORED_FORMAT, stored_date

        for path in candidates:
            if path.suffix in _SKIP_SUFFIXES or path.name.startswith("."):
                continue
            fmt = sniff_format(path)
            when = date_from_name(path) if fmt else None
            if fmt == STORED_FORMAT:
                when = stored_date(path) or when
            if when is not None:
                found[path] = when
        for path, when in (dates or {}).items():
            found[Path(path)] = as_instant(when)
        by_date: dict[datetime, list[Path]] = {}
        for path, when in found.items():
            by_date.setdefault(when, []).append(path)
        self.snapshots: list[Snapshot] = [
            Snapshot(when, tuple(sorted(paths))) for when, paths in sorted(by_date.items())
        ]
        self._dates = [s.date for s in self.snapshots]
        self._tables: OrderedDict[datetime, RoutingTable] = OrderedDict()
        self._keep = max(1, keep)

    def __len__(self) -> int:
        return len(self.snapshots)

    def snapshot_for(self, moment: datetime | date | str) -> Snapshot:
        """The newest snapshot dated at or before ``moment``; LookupError if there is none."""
        instant = as_instant(moment)
        at = bisect.bisect_right(self._dates, instant) - 1
        if at < 0:
            first = self._dates[0].isoformat() if self._dates else "none"
            raise LookupError(
                f"no routing snapshot at or before {instant.isoformat()} (oldest: {first})"
            )
        return self.snapshots[at]

    def select(self, moment: datetime | date | str) -> Selection:
        """Load (once) and return the table for ``moment``, with the snapshot used."""
        snapshot = self.snapshot_for(moment)
        table = self._tables.get(snapshot.date)
        if table is None:
            parts = [RoutingTable.load(p, snapshot_date=snapshot.date) for p in snapshot.paths]
            table = RoutingTable.merge(parts)
            self._tables[snapshot.date] = table
            while len(self._tables) > self._keep:
                self._tables.popitem(last=False)
        self._tables.move_to_end(snapshot.date)
        return Selection(snapshot, table, as_instant(moment))
