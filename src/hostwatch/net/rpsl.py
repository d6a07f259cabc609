"""RPSL objects as found in RIR database dumps and port-43 WHOIS answers.

The RIPE database split dumps (``ripe.db.inetnum.gz`` ...) and whois answers share one text form:
objects separated by blank lines, ``attribute: value`` lines, continuation lines starting with
space, tab or ``+``, ``%``/``#`` comment lines and ``#`` end-of-line comments. A dump has millions
of objects; one mangled object is reported with its file and line and skipped, the rest is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hostwatch.net.compressed import iter_lines
from hostwatch.net.load_warnings import WarningLog

_ATTRIBUTE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]*):(.*)$")
_ABUSE_COMMENT = re.compile(r"^%\s*Abuse contact for '([^']+)' is '([^']*)'")


@dataclass(frozen=True, slots=True)
class RpslObject:
    """One object: its class (first attribute), key (first value) and all attributes in order."""

    object_class: str
    key: str
    attributes: tuple[tuple[str, str], ...]
    source: str
    line: int

    def get(self, name: str) -> str | None:
        """The first value of an attribute, or None."""
        for attr, value in self.attributes:
            if attr == name:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        return [value for attr, value in self.attributes if attr == name]

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def iter_rpsl(
    lines: Iterable[str],
    source: str,
    warnings: WarningLog | None = None,
    classes: frozenset[str] | set[str] | None = None,
    keep: frozenset[str] | set[str] | None = None,
) -> Iterator[RpslObject]:
    """Objects from lines of RPSL text; broken objects go to ``warnings`` and are skipped.

    ``classes`` keeps only those object classes (and skips the work of building the others);
    ``keep`` keeps only those attributes besides the first, which bounds memory on full dumps.
    """
    warnings = warnings if warnings is not None else WarningLog()
    attributes: list[list[str]] = []
    start = 0
    broken: str | None = None
    wanted = True

    def finish() -> RpslObject | None:
        if not attributes:
            return None
        if broken is not None:
            warnings.add(source, start, f"broken object skipped: {broken}")
            return None
        if not wanted:
            return None
        object_class, key = attributes[0]
        if not key:
            warnings.add(source, start, f"broken object skipped: {object_class} without a key")
            return None
        kept = tuple(
            (a, v) for i, (a, v) in enumerate(attributes) if i == 0 or keep is None or a in keep
        )
        return RpslObject(object_class, key, kept, source, start)

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            done = finish()
            if done is not None:
                yield done
            attributes, broken, wanted = [], None, True
            continue
        if line[0] in "%#":
            continue
        if not wanted:
            continue
        if line[0] in " \t+":
            if not attributes:
                broken = f"line {number}: continuation line with nothing to continue"
                start = number
                attributes.append(["?", ""])
                continue
            extra = _strip_comment(line[1:]).strip()
            if extra:
                previous = attributes[-1][1]
                attributes[-1][1] = f"{previous}\n{extra}" if previous else extra
            continue
        match = _ATTRIBUTE.match(line)
        if match is None:
            if not attributes:
                start = number
            broken = broken or f"line {number}: not 'attribute: value': {line[:60]!r}"
            attributes.append(["?", ""])
            continue
        name = match.group(1).lower()
        if not attributes:
            start = number
            if classes is not None and name not in classes:
                wanted = False
                attributes.append([name, ""])
                continue
        attributes.append([name, _strip_comment(match.group(2)).strip()])
    done = finish()
    if done is not None:
        yield done


def read_rpsl(
    path: Path | str,
    warnings: WarningLog | None = None,
    classes: frozenset[str] | set[str] | None = None,
    keep: frozenset[str] | set[str] | None = None,
) -> Iterator[RpslObject]:
    """Objects of one file (plain, gzip, bzip2 or xz); a truncated dump is read up to the break."""
    warnings = warnings if warnings is not None else WarningLog()
    source = str(path)
    lines = iter_lines(path, lambda n, why: warnings.add(source, n, why))
    yield from iter_rpsl(lines, source, warnings, classes, keep)


def parse_rpsl_text(
    text: str, source: str = "<text>", warnings: WarningLog | None = None
) -> list[RpslObject]:
    """All objects of a text, e.g. one port-43 WHOIS answer."""
    return list(iter_rpsl(text.splitlines(), source, warnings))


def abuse_contacts_in_comments(text: str) -> dict[str, str]:
    """RIPE-style answers name the resolved abuse contact in a comment; range -> address."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _ABUSE_COMMENT.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _strip_comment(value: str) -> str:
    cut = value.find("#")
    return value if cut < 0 else value[:cut]
