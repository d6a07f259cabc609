"""AS names, countries, classes and category tags from several public lists, merged per ASN.

No single list is complete or current: bgp.tools (2026) is recent and carries class and tags such
as ``cdn`` and ``vpsh`` (VPS/server hosting), pyasn's asnames.json is older but wide, the
AS-Prefix names fill gaps, and CAIDA's as2org adds the organisation and its sibling ASes. The
registry answers per ASN with the best value of each field and says where the name came from.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hostwatch.net.asn_numbers import parse_asn
from hostwatch.net.asorg import AsOrgTable
from hostwatch.net.compressed import iter_lines
from hostwatch.net.load_warnings import WarningLog

CDN_TAG = "cdn"
HOSTING_TAG = "vpsh"

_PYASN_COUNTRY = re.compile(r",\s*([A-Z]{2})\s*$")
_TAG_FILE = re.compile(r"^tags-([a-z0-9_]+)(\.\d{8})?\.csv(\.gz)?$")


@dataclass(frozen=True, slots=True)
class AsInfo:
    """What the lists say about one AS."""

    asn: int
    name: str | None
    handle: str | None
    country: str | None
    as_class: str | None
    tags: frozenset[str]
    org_id: str | None
    org_name: str | None
    siblings: tuple[int, ...]
    name_source: str | None

    @property
    def is_cdn(self) -> bool:
        return CDN_TAG in self.tags

    @property
    def is_hosting(self) -> bool:
        return HOSTING_TAG in self.tags


@dataclass(frozen=True, slots=True)
class _Named:
    name: str
    handle: str | None = None
    country: str | None = None
    as_class: str | None = None


@dataclass
class AsRegistry:
    """Merged AS facts; add lists in any order, precedence is fixed by source quality."""

    bgptools: dict[int, _Named] = field(default_factory=dict)
    asprefix: dict[int, _Named] = field(default_factory=dict)
    pyasn: dict[int, _Named] = field(default_factory=dict)
    tags: dict[int, frozenset[str]] = field(default_factory=dict)
    as2org: AsOrgTable | None = None
    warnings: WarningLog = field(default_factory=WarningLog)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, paths: Iterable[Path | str | tuple[Path | str, str | None]]) -> AsRegistry:
        """Read each list, recognised by its content; ``(path, tag)`` names a tag list's tag.

        A folder is bgp.tools' layout: ``asns.csv.gz`` and ``tags/tags-<tag>.csv``.
        """
        registry = cls()
        for item in paths:
            path, tag = item if isinstance(item, tuple) else (item, None)
            registry.add(Path(path), tag=tag)
        return registry

    def add(self, path: Path, *, tag: str | None = None) -> None:
        """Add one list; a file hostwatch cannot read as AS data is an error naming it."""
        from hostwatch.net.fetch.detect import detect

        if path.is_dir():
            if (path / "tags").is_dir():
                self.add_bgptools_tags(path / "tags")
                if (path / "asns.csv.gz").exists():
                    self.add_bgptools_asns(path / "asns.csv.gz")
            else:
                self.add_bgptools_tags(path)
            return
        found = detect(path)
        fmt = found.format if found is not None else None
        if found is None and not next(iter_lines(path, lambda n, why: None), "").strip():
            self.warnings.add(str(path), 0, "empty list")  # nothing to add, nothing lost
        elif fmt == "bgp.tools-asns":
            self.add_bgptools_asns(path)
        elif fmt == "bgp.tools-tags":
            tag = tag or tag_in_name(path.name)
            if tag is None:
                raise ValueError(
                    f"{path}: a bgp.tools tag list, but its tag is unknown "
                    "(name it tags-<tag>.csv, or import it with --tag)"
                )
            self.add_bgptools_tags(path, tag=tag)
        elif fmt == "pyasn-asnames":
            self.add_pyasn_names(path)
        elif fmt == "as-prefix-asnames":
            self.add_asprefix_names(path)
        elif fmt == "caida-as2org":
            self.add_as2org(AsOrgTable.load(path))
        else:
            what = found.format if found is not None else "not recognised"
            raise ValueError(
                f"{path}: not an AS list hostwatch reads ({what}); expected bgp.tools asns.csv "
                "or tags, pyasn asnames.json, AS-Prefix asnames or CAIDA as2org"
            )

    def add_bgptools_asns(self, path: Path | str) -> None:
        """bgp.tools asns.csv: ``asn,name,class,cc`` with ASNs written ``AS123``."""
        self.sources.append(str(path))
        rows = csv.reader(self._lines(path))
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header[:4]] != [
            "asn",
            "name",
            "class",
            "cc",
        ]:
            self.warnings.add(str(path), 1, f"unexpected header {header!r}")
            return
        for row in rows:
            number = rows.line_num
            if len(row) < 4:
                self.warnings.add(str(path), number, f"{len(row)} fields, expected 4")
                continue
            asn = parse_asn(row[0])
            if asn is None:
                self.warnings.add(str(path), number, f"not an AS number: {row[0]!r}")
                continue
            cc = row[3].strip().upper() or None
            self.bgptools[asn] = _Named(row[1].strip(), None, cc, row[2].strip() or None)

    def add_bgptools_tags(self, path: Path | str, *, tag: str | None = None) -> None:
        """bgp.tools tag lists: one ``tags-<tag>.csv`` per tag, rows ``AS123,<name>``.

        Only the ASN is taken: upstream quoting of names with commas is broken, and the name is
        in asns.csv anyway. ``tag`` names the tag of a single file (else its name does).
        """
        path = Path(path)
        files = sorted(path.glob("tags-*.csv*")) if path.is_dir() else [path]
        collected: dict[int, set[str]] = {asn: set(tags) for asn, tags in self.tags.items()}
        for file in files:
            match = _TAG_FILE.match(file.name)
            if tag is None and match is None:
                self.warnings.add(str(file), None, "not named tags-<tag>.csv; skipped")
                continue
            file_tag = tag or match.group(1)  # type: ignore[union-attr]
            self.sources.append(str(file))
            for number, line in enumerate(self._lines(file), start=1):
                if not line.strip():
                    continue
                asn = parse_asn(line.split(",", 1)[0])
                if asn is None:
                    self.warnings.add(str(file), number, f"not an AS number: {line[:40]!r}")
                    continue
                collected.setdefault(asn, set()).add(file_tag)
        self.tags = {asn: frozenset(tags) for asn, tags in collected.items()}

    def add_pyasn_names(self, path: Path | str) -> None:
        """pyasn asnames.json: ``{"<asn>": "<HANDLE> - <Org>, <CC>"}``."""
        self.sources.append(str(path))
        try:
            data = json.loads("".join(self._lines(path)))
        except json.JSONDecodeError as exc:
            self.warnings.add(str(path), exc.lineno, f"not JSON: {exc.msg}")
            return
        if not isinstance(data, dict):
            self.warnings.add(str(path), 1, "expected a JSON object of ASN -> name")
            return
        for key, value in data.items():
            asn = parse_asn(str(key))
            if asn is None or not isinstance(value, str):
                self.warnings.add(str(path), None, f"bad entry {key!r}: {value!r}"[:120])
                continue
            self.pyasn[asn] = _split_pyasn_name(value)

    def add_asprefix_names(self, path: Path | str) -> None:
        """AS-Prefix asnames TSV: header ``asn<TAB>as_name``."""
        self.sources.append(str(path))
        for number, line in enumerate(self._lines(path), start=1):
            parts = line.rstrip("\n").split("\t")
            if number == 1 and parts[0].strip().lower() == "asn":
                continue
            if len(parts) < 2:
                self.warnings.add(str(path), number, "expected asn<TAB>name")
                continue
            asn = parse_asn(parts[0])
            if asn is None:
                self.warnings.add(str(path), number, f"not an AS number: {parts[0]!r}")
                continue
            self.asprefix[asn] = _Named(parts[1].strip())

    def _lines(self, path: Path | str) -> Iterator[str]:
        return iter_lines(path, lambda n, why: self.warnings.add(str(path), n, why))

    def add_as2org(self, table: AsOrgTable) -> None:
        self.as2org = table
        self.sources.append(table.source)
        self.warnings.extend(table.warnings)

    def get(self, asn: int) -> AsInfo | None:
        asn = int(asn)
        recent, wide, old = self.bgptools.get(asn), self.asprefix.get(asn), self.pyasn.get(asn)
        entry = self.as2org.entries.get(asn) if self.as2org else None
        org = self.as2org.organisation(asn) if self.as2org else None
        tags = self.tags.get(asn, frozenset())
        if not (recent or wide or old or entry or tags):
            return None
        name, name_source = None, None
        for candidate, source in (
            (recent, "bgp.tools"),
            (org and _Named(org.name), "caida-as2org"),
            (wide, "as-prefix"),
            (old, "pyasn"),
        ):
            if candidate and candidate.name:
                name, name_source = candidate.name, source
                break
        handle = (entry.as_name if entry else None) or (old.handle if old else None)
        country = (
            (recent.country if recent else None)
            or (org.country if org and org.country else None)
            or (old.country if old else None)
        )
        return AsInfo(
            asn=asn,
            name=name,
            handle=handle or None,
            country=country,
            as_class=recent.as_class if recent else None,
            tags=tags,
            org_id=entry.org_id if entry else None,
            org_name=org.name if org else None,
            siblings=self.as2org.siblings(asn) if self.as2org else (),
            name_source=name_source,
        )

    def __getitem__(self, asn: int) -> AsInfo:
        info = self.get(asn)
        if info is None:
            raise KeyError(asn)
        return info

    def __contains__(self, asn: object) -> bool:
        return isinstance(asn, int) and self.get(asn) is not None

    def asns(self) -> frozenset[int]:
        known = set(self.bgptools) | set(self.asprefix) | set(self.pyasn) | set(self.tags)
        if self.as2org:
            known |= set(self.as2org.entries)
        return frozenset(known)

    def __len__(self) -> int:
        return len(self.asns())

    def with_tag(self, tag: str) -> frozenset[int]:
        return frozenset(asn for asn, tags in self.tags.items() if tag in tags)

    def names(self, asns: Sequence[int] | Iterable[int]) -> list[str | None]:
        """Names for many ASNs in order (0 or unknown -> None); for CSV columns."""
        cache: dict[int, str | None] = {}
        out: list[str | None] = []
        for asn in asns:
            key = int(asn)
            if key not in cache:
                info = self.get(key) if key else None
                cache[key] = info.name if info else None
            out.append(cache[key])
        return out


def tag_in_name(name: str) -> str | None:
    """The tag a bgp.tools tag list's file name gives (``tags-vpsh.csv`` -> ``vpsh``)."""
    match = _TAG_FILE.match(name.lower())
    return match.group(1) if match else None


def _split_pyasn_name(value: str) -> _Named:
    """'CLOUDFLARENET - Cloudflare, Inc., US' -> handle, organisation name, country."""
    text = value.strip()
    country = None
    match = _PYASN_COUNTRY.search(text)
    if match:
        country = match.group(1)
        text = text[: match.start()].rstrip()
    handle = None
    if " - " in text:
        handle, text = (part.strip() for part in text.split(" - ", 1))
    elif " " in text:
        head, rest = text.split(" ", 1)
        if head.isupper() and len(head) > 1:
            handle, text = head, rest.strip()
    return _Named(text, handle, country)
