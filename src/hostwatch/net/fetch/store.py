"""The reference store: dated snapshots per kind under ``<state_dir>/reference``, and a manifest.

Every file that attribution may use is recorded with its kind, the day it describes, where it came
from, its size and SHA-256, so an attribution can name the snapshot it used and a later run can
tell an unchanged download from a new one. Files enter the store only whole: written to a
temporary name in the same folder, then renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath

MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One stored file. ``path`` is relative to the store root."""

    kind: str
    path: str
    sha256: str
    size: int
    snapshot: str | None
    source: str
    method: str
    added_at: str
    etag: str | None = None
    last_modified: str | None = None
    name: str | None = None
    format: str | None = None
    rows: int | None = None
    series: str | None = None
    binary: str | None = None

    @property
    def snapshot_date(self) -> date | None:
        return date.fromisoformat(self.snapshot) if self.snapshot else None

    @property
    def shown_name(self) -> str:
        """The name the file was imported under (fetched files: the stored file's name)."""
        return self.name or PurePosixPath(self.path).name

    def answers_to(self, given: str) -> bool:
        """Whether ``given`` names this entry: its imported name, stored file or binary form."""
        names = {self.shown_name, self.path, PurePosixPath(self.path).name}
        if self.binary:
            names |= {self.binary, PurePosixPath(self.binary).name}
        return given in names


class ReferenceStore:
    """Files and manifest under one root folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @classmethod
    def under(cls, state_dir: Path | str) -> ReferenceStore:
        return cls(Path(state_dir) / "reference")

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def entries(self, kind: str | None = None) -> list[ManifestEntry]:
        if not self.manifest_path.exists():
            return []
        try:
            rows = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            entries = [ManifestEntry(**row) for row in rows]
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{self.manifest_path}: damaged manifest ({exc})") from exc
        return [e for e in entries if kind is None or e.kind == kind]

    def entry_for(self, relative: str) -> ManifestEntry | None:
        for entry in self.entries():
            if entry.path == relative:
                return entry
        return None

    def record(self, entry: ManifestEntry) -> None:
        """Add or replace the entry for ``entry.path``; the manifest is rewritten atomically."""
        entries = [e for e in self.entries() if e.path != entry.path]
        entries.append(entry)
        entries.sort(key=lambda e: (e.kind, e.snapshot or "", e.path))
        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(
            self.manifest_path, json.dumps([asdict(e) for e in entries], indent=1) + "\n"
        )

    def target(self, kind: str, filename: str) -> Path:
        return self.root / kind / filename

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def latest(self, kind: str, not_after: date | None = None) -> ManifestEntry | None:
        """The newest snapshot of a kind not after a day (the one an attribution at t uses)."""
        candidates = [
            e
            for e in self.entries(kind)
            if e.snapshot_date is not None and (not_after is None or e.snapshot_date <= not_after)
        ]
        return max(candidates, key=lambda e: (e.snapshot or "", e.added_at), default=None)

    def paths(self, kind: str, not_after: date | None = None) -> list[Path]:
        """Every stored file of a kind dated on or before a day (DelegatedStats picks per RIR)."""
        return [
            self.root / e.path
            for e in self.entries(kind)
            if e.snapshot_date is not None and (not_after is None or e.snapshot_date <= not_after)
        ]

    def newest_day_paths(self, kind: str, not_after: date | None = None) -> list[Path]:
        """The files of the newest day not after ``not_after`` (e.g. all RIPE split dumps)."""
        newest = self.latest(kind, not_after)
        if newest is None:
            return []
        return [self.root / e.path for e in self.entries(kind) if e.snapshot == newest.snapshot]

    def routing_table_path(self, given: str) -> Path:
        """The file ``hostwatch lookup --table`` reads for ``given``.

        A routing table imported under that name (or stored under it) is read in its binary form;
        so is a file given by path whose content was imported (same SHA-256). Any other existing
        file is read as it is. Among several snapshots imported under one name the newest wins.
        A catalogued table whose binary form is gone is an error naming it.
        """
        from hostwatch.net.fetch.detect import ROUTING_KINDS

        tables = [e for e in self.entries() if e.kind in ROUTING_KINDS]
        chosen = [e for e in tables if e.answers_to(given)]
        path = Path(given)
        if path.is_file():
            digest = sha256_of(path)
            same = [e for e in tables if e.sha256 == digest]
            if not same:
                return path
            chosen = same
        if not chosen:
            raise FileNotFoundError(
                f"{given}: no such file, and no routing table was imported under that name "
                "(hostwatch data list shows the names)"
            )
        entry = max(chosen, key=lambda e: (e.snapshot or "", e.added_at))
        stored = self.root / (entry.binary or entry.path)
        if not stored.is_file():
            raise FileNotFoundError(
                f"{given}: imported as {stored}, but that file is missing; import it again"
            )
        return stored

    def is_intact(self, entry: ManifestEntry) -> bool:
        path = self.root / entry.path
        return (
            path.exists()
            and path.stat().st_size == entry.size
            and sha256_of(path) == (entry.sha256)
        )

    def place(self, source: Path, kind: str, filename: str, *, link: bool = False) -> Path:
        """Put a local file into the store atomically (hard link when asked and possible)."""
        target = self.target(kind, filename)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{filename}.", suffix=".tmp"
        )
        os.close(handle)
        temp_path = Path(temporary)
        try:
            if link:
                temp_path.unlink()
                try:
                    os.link(source, temp_path)
                except OSError:
                    shutil.copyfile(source, temp_path)
            else:
                shutil.copyfile(source, temp_path)
            temp_path.replace(target)
        finally:
            temp_path.unlink(missing_ok=True)
        return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def now_text(instant: datetime) -> str:
    return instant.isoformat(timespec="seconds")


def _atomic_write_text(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    Path(temporary).replace(path)
