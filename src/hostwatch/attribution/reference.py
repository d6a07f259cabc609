"""The reference data for a time t: which routing table, AS lists, RIR statistics and WHOIS dump.

Reference files are catalogued as ``Snapshot`` rows (kind, path, the date the data describes).
For an attribution at time t each kind uses its newest snapshot not after t, per series (a series
is one source of that kind: bgp.tools names and CAIDA as2org are both AS-name data but are read
together, each at its own newest date). When every snapshot of a kind is newer than t the oldest
one is used and the attribution says so. Loaded sets are cached per process: a batch over a
million notices loads each table once.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model import Snapshot
from hostwatch.net.routing.snapshots import date_from_name

if TYPE_CHECKING:
    from hostwatch.net.asnames import AsRegistry
    from hostwatch.net.delegated import DelegatedStats
    from hostwatch.net.routing import RoutingTable
    from hostwatch.net.whois_tree import WhoisTree

KINDS = ("routing", "asnames", "as2org", "delegated", "rpsl")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """One catalogued reference file, as an attribution names it in ``sources``."""

    id: int
    kind: str
    series: str
    name: str
    path: str
    valid_at: datetime

    @property
    def tag(self) -> str:
        return f"{self.kind}:{self.id}"


def file_digest(path: Path) -> str:
    """sha256 of a file, or of the names and digests of a folder's files (tag folders)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def series_of(kind: str, path: Path) -> str:
    """Which source of a kind a file belongs to; files of one series replace each other.

    Read from the content where it tells (``hostwatch data import`` records it so), else from
    the name (folders of tag lists, routing tables).
    """
    if path.is_file() and kind in ("asnames", "as2org", "delegated", "rpsl"):
        from hostwatch.net.fetch.prepare import series_by_content

        found = series_by_content(path, kind)
        if found is not None:
            return found
    name = path.name.lower()
    if kind == "delegated":
        for registry in ("afrinic", "apnic", "arin", "lacnic", "ripencc"):
            if registry in name:
                return registry
    if kind == "asnames":
        if path.is_dir() or name.startswith(("asns.csv", "tags")):
            return "bgp.tools"
        if name.startswith("asnames.json"):
            return "pyasn"
        if "asnames.tsv" in name:
            return "as-prefix"
    if kind == "routing" and ("ipasn6" in name or "rib6" in name):
        return "routing-v6"
    if kind == "rpsl":  # split dumps: ripe.db.inetnum.gz, ripe.db.organisation.gz, ...
        return "rpsl:" + re.sub(r"[-_.]?\d{8}|(\.(gz|bz2|xz|txt))+$", "", name)
    return kind


# kinds of the reference store (``hostwatch data import|fetch``) -> snapshot kinds
STORE_KINDS = {
    "rib": "routing",
    "ris": "routing",
    "pfx2as": "routing",
    "ipasn": "routing",
    "prefix-table": "routing",
    "ranges": "routing",
    "asnames": "asnames",
    "tags": "asnames",
    "as2org": "as2org",
    "delegated": "delegated",
    "ripedb": "rpsl",
}


def register_snapshot(
    session: Session,
    kind: str,
    path: Path | str,
    *,
    loaded_at: datetime,
    valid_at: datetime | None = None,
    series: str | None = None,
    name: str | None = None,
    sha256: str | None = None,
) -> Snapshot:
    """Catalogue a reference file (idempotent: the same content is registered once per kind)."""
    if kind not in KINDS:
        raise ValueError(f"unknown snapshot kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = Path(path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such reference file")
    valid_at = valid_at or date_from_name(path)
    if valid_at is None:
        raise ValueError(f"{path}: no date in the name; give the date the data describes")
    sha = sha256 or file_digest(path)
    existing = session.scalar(select(Snapshot).where(Snapshot.kind == kind, Snapshot.sha256 == sha))
    if existing is not None:
        return existing
    snapshot = Snapshot(
        kind=kind,
        name=name or path.name,
        valid_at=valid_at,
        loaded_at=loaded_at,
        path=str(path),
        sha256=sha,
        meta={"series": series or series_of(kind, path)},
    )
    session.add(snapshot)
    session.flush()
    return snapshot


@dataclass(frozen=True)
class ReferenceCatalog:
    """Every catalogued snapshot, and the choice of snapshots for a time."""

    refs: tuple[SnapshotRef, ...]

    @classmethod
    def from_session(cls, session: Session) -> ReferenceCatalog:
        refs = []
        for row in session.scalars(select(Snapshot).where(Snapshot.kind.in_(KINDS))):
            series = (row.meta or {}).get("series") or series_of(row.kind, Path(row.path))
            refs.append(SnapshotRef(row.id, row.kind, series, row.name, row.path, row.valid_at))
        return cls(tuple(sorted(refs, key=lambda r: (r.kind, r.series, r.valid_at, r.id))))

    def choose(self, at: datetime) -> tuple[SnapshotRef, ...]:
        """Per kind and series: the newest snapshot not after ``at`` (else the oldest one)."""
        best: dict[tuple[str, str], SnapshotRef] = {}
        for ref in self.refs:  # sorted oldest first within each series
            key = (ref.kind, ref.series)
            current = best.get(key)
            if current is None or ref.valid_at <= at:
                best[key] = ref
        return tuple(best[key] for key in sorted(best))

    def choose_many(self, times: Sequence[datetime]) -> list[tuple[SnapshotRef, ...]]:
        """The choice per time, computed once per distinct set of boundaries crossed."""
        bounds = sorted({ref.valid_at for ref in self.refs})
        if not times:
            return []
        if bisect.bisect_right(bounds, min(times)) == bisect.bisect_right(bounds, max(times)):
            return [self.choose(times[0])] * len(times)  # all between the same two snapshots
        cache: dict[int, tuple[SnapshotRef, ...]] = {}
        out = []
        for at in times:
            slot = bisect.bisect_right(bounds, at)
            choice = cache.get(slot)
            if choice is None:
                choice = cache[slot] = self.choose(at)
            out.append(choice)
        return out


@dataclass
class ReferenceSet:
    """The loaded reference data of one choice of snapshots."""

    refs: tuple[SnapshotRef, ...]
    routing: list[RoutingTable] = field(default_factory=list)
    asnames: AsRegistry | None = None
    delegated: DelegatedStats | None = None
    whois: WhoisTree | None = None
    _tags: dict[tuple[str, ...], str | None] = field(default_factory=dict, repr=False)

    def of_kind(self, *kinds: str) -> list[SnapshotRef]:
        return [ref for ref in self.refs if ref.kind in kinds]

    def tag(self, *kinds: str) -> str | None:
        """The sources value for fields from these kinds, e.g. 'routing:3' or 'asnames:4+5'."""
        if kinds not in self._tags:
            refs = self.of_kind(*kinds)
            self._tags[kinds] = (
                f"{refs[0].kind}:" + "+".join(str(ref.id) for ref in refs) if refs else None
            )
        return self._tags[kinds]

    def newer_than(self, at: datetime) -> list[str]:
        """Snapshots used although they describe a later date than ``at`` (no older one exists)."""
        return [ref.tag for ref in self.refs if ref.valid_at > at]


class UnusableReferenceError(ValueError):
    """A catalogued reference file that cannot be used: attribution stops and names it."""


@lru_cache(maxsize=4)
def load_reference_set(refs: tuple[SnapshotRef, ...]) -> ReferenceSet:
    """Load the files of a choice of snapshots (cached: the same choice loads once).

    Every file is read by its content, whatever its name; one that cannot be read is an
    :class:`UnusableReferenceError` naming the snapshot and its file, never a silent gap.
    """
    out = ReferenceSet(refs)
    by_kind: dict[str, list[SnapshotRef]] = {}
    for ref in refs:
        by_kind.setdefault(ref.kind, []).append(ref)
    if "routing" in by_kind:
        from hostwatch.net.routing import RoutingTable

        out.routing = [_read(ref, RoutingTable.load, ref.path) for ref in by_kind["routing"]]
    names = by_kind.get("asnames", []) + by_kind.get("as2org", [])
    if names:
        from hostwatch.net.asnames import AsRegistry

        registry = AsRegistry()
        for ref in names:
            tag = ref.series[len("tags:") :] if ref.series.startswith("tags:") else None
            _read(ref, lambda path, tag=tag: registry.add(Path(path), tag=tag), ref.path)
        out.asnames = registry
    if "delegated" in by_kind:
        from hostwatch.net.delegated import DelegatedStats

        refs_d = by_kind["delegated"]
        out.delegated = _read(refs_d[0], DelegatedStats.load, [ref.path for ref in refs_d])
    if "rpsl" in by_kind:
        from hostwatch.net.whois_tree import WhoisTree

        refs_w = by_kind["rpsl"]
        out.whois = _read(refs_w[0], WhoisTree.load, [ref.path for ref in refs_w])
    return out


def _read(ref: SnapshotRef, reader: Callable[[Any], _T], argument: Any) -> _T:
    try:
        return reader(argument)
    except (OSError, ValueError) as exc:
        raise UnusableReferenceError(
            f"reference snapshot {ref.tag} ({ref.name}, {ref.path}) cannot be used: {exc}"
        ) from exc


def sync_reference_store(session: Session, state_dir: Path, *, loaded_at: datetime) -> int:
    """Catalogue the files of the reference store that have no snapshot row yet; how many.

    Each is catalogued under the name it was imported under, in the series its content gave
    (``hostwatch data import`` recorded both), and a routing table by its binary form.
    """
    from hostwatch.net.fetch.store import ReferenceStore

    store = ReferenceStore.under(state_dir)
    known = {(kind, sha) for kind, sha in session.execute(select(Snapshot.kind, Snapshot.sha256))}
    added = 0
    for entry in store.entries():
        kind = STORE_KINDS.get(entry.kind)
        if kind is None or entry.snapshot_date is None or (kind, entry.sha256) in known:
            continue
        day = entry.snapshot_date
        register_snapshot(
            session,
            kind,
            store.root / (entry.binary or entry.path),  # a routing table: its binary form
            loaded_at=loaded_at,
            valid_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
            series=entry.series,
            name=entry.shown_name,
            sha256=entry.sha256,
        )
        known.add((kind, entry.sha256))
        added += 1
    return added
