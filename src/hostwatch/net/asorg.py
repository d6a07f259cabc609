"""AS -> organisation and siblings from CAIDA's AS-to-Organization dataset.

CAIDA groups the ASes one company registered (often in several RIRs) under one org_id; ASes that
share an org_id are siblings. That is the first step from "the origin AS" to "the hosting
provider". Both the classic pipe format (two ``# format:`` sections) and the newer JSON-lines
format are read.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hostwatch.net.asn_numbers import parse_asn
from hostwatch.net.compressed import iter_lines
from hostwatch.net.load_warnings import WarningLog

_ORG_FIELDS = ("org_id", "changed", "org_name", "country", "source")
_AS_FIELDS = ("aut", "changed", "aut_name", "org_id", "opaque_id", "source")


@dataclass(frozen=True, slots=True)
class AsOrganisation:
    """One organisation as CAIDA names it."""

    org_id: str
    name: str
    country: str
    source: str
    changed: str


@dataclass(frozen=True, slots=True)
class AsOrgEntry:
    """One AS and the organisation it belongs to."""

    asn: int
    as_name: str
    org_id: str
    opaque_id: str
    source: str
    changed: str


@dataclass
class AsOrgTable:
    """The whole dataset: ASes, organisations, and the AS groups per organisation."""

    entries: dict[int, AsOrgEntry] = field(default_factory=dict)
    organisations: dict[str, AsOrganisation] = field(default_factory=dict)
    members_of: dict[str, tuple[int, ...]] = field(default_factory=dict)
    warnings: WarningLog = field(default_factory=WarningLog)
    source: str = ""

    @classmethod
    def load(cls, path: Path | str) -> AsOrgTable:
        table = cls(source=str(path))
        source = str(path)
        stream = iter_lines(path, lambda n, why: table.warnings.add(source, n, why))
        first = next(stream, "")
        lines = enumerate(itertools.chain([first], stream), start=1)
        if first.lstrip().startswith("{"):
            table._read_jsonl(lines)
        else:
            table._read_pipe(lines)
        table._group()
        return table

    def organisation(self, asn: int) -> AsOrganisation | None:
        entry = self.entries.get(int(asn))
        if entry is None:
            return None
        return self.organisations.get(entry.org_id)

    def siblings(self, asn: int) -> tuple[int, ...]:
        """The other ASes of the same organisation, ascending; empty when unknown or alone."""
        entry = self.entries.get(int(asn))
        if entry is None:
            return ()
        return tuple(a for a in self.members_of.get(entry.org_id, ()) if a != entry.asn)

    def __len__(self) -> int:
        return len(self.entries)

    def _read_pipe(self, lines: Iterable[tuple[int, str]]) -> None:
        section: str | None = None
        for number, raw in lines:
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                header = line.lstrip("# ").lower()
                if header.startswith("format:"):
                    names = tuple(p.strip() for p in header[len("format:") :].split("|"))
                    if names[:1] == ("org_id",):
                        section = "org"
                    elif names[:1] == ("aut",):
                        section = "aut"
                    else:
                        section = None
                        self.warnings.add(self.source, number, f"unknown format line {line!r}")
                continue
            parts = line.split("|")
            if section == "org":
                self._add_org(number, parts)
            elif section == "aut":
                self._add_aut(number, parts)
            else:
                self.warnings.add(self.source, number, "data line before any '# format:' line")

    def _add_org(self, number: int, parts: list[str]) -> None:
        if len(parts) < len(_ORG_FIELDS) or not parts[0]:
            self.warnings.add(self.source, number, f"organisation line has {len(parts)} fields")
            return
        org_id, changed, name, country, source = parts[:5]
        self.organisations[org_id] = AsOrganisation(org_id, name, country.upper(), source, changed)

    def _add_aut(self, number: int, parts: list[str]) -> None:
        if len(parts) < len(_AS_FIELDS):
            self.warnings.add(self.source, number, f"AS line has {len(parts)} fields, not 6")
            return
        asn = parse_asn(parts[0])
        if asn is None:
            self.warnings.add(self.source, number, f"not an AS number: {parts[0]!r}")
            return
        _, changed, as_name, org_id, opaque_id, source = parts[:6]
        self.entries[asn] = AsOrgEntry(asn, as_name, org_id, opaque_id, source, changed)

    def _read_jsonl(self, lines: Iterable[tuple[int, str]]) -> None:
        for number, raw in lines:
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                self.warnings.add(self.source, number, f"not JSON: {exc.msg}")
                continue
            if not isinstance(record, dict):
                self.warnings.add(self.source, number, "JSON line is not an object")
                continue
            kind = str(record.get("type", "")).lower()
            org_id = str(record.get("organizationId") or record.get("org_id") or "")
            changed = str(record.get("changed") or "")
            source = str(record.get("source") or "")
            if kind.startswith("org"):
                if not org_id:
                    self.warnings.add(self.source, number, "organisation without organizationId")
                    continue
                country = str(record.get("country") or "").upper()
                name = str(record.get("name") or "")
                self.organisations[org_id] = AsOrganisation(org_id, name, country, source, changed)
            elif kind == "asn":
                raw_asn = str(record.get("asn", ""))
                asn = parse_asn(raw_asn)
                if asn is None:
                    self.warnings.add(self.source, number, f"not an AS number: {raw_asn!r}")
                    continue
                opaque = str(record.get("opaqueId") or record.get("opaque_id") or "")
                name = str(record.get("name") or "")
                self.entries[asn] = AsOrgEntry(asn, name, org_id, opaque, source, changed)
            else:
                self.warnings.add(self.source, number, f"unknown record type {kind!r}")

    def _group(self) -> None:
        groups: dict[str, list[int]] = defaultdict(list)
        for entry in self.entries.values():
            if entry.org_id not in self.organisations:
                self.warnings.add(self.source, None, f"AS{entry.asn}: unknown org {entry.org_id!r}")
            groups[entry.org_id].append(entry.asn)
        self.members_of = {org: tuple(sorted(asns)) for org, asns in groups.items()}
