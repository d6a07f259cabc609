"""CAIDA RouteViews prefix-to-AS files: ``address<TAB>length<TAB>origins``.

Origins are ``64500``, ``64500_64501`` (several origins: MOAS, first is primary) or
``64500,64501`` (an AS_SET, every member kept as an origin).
"""

from __future__ import annotations

from hostwatch.net.routing.routes import RawRoutes

from .text import clip, parse_asn, text_lines

FORMAT = "caida-pfx2as"


def read(data: bytes, raw: RawRoutes) -> None:
    for number, line in text_lines(data):
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        fields = stripped.split("\t") if "\t" in stripped else stripped.split()
        if len(fields) != 3:
            raw.problem(number, f"expected 'address<TAB>length<TAB>asn', got {clip(line)!r}")
            continue
        try:
            origins = tuple(
                dict.fromkeys(
                    parse_asn(part) for group in fields[2].split("_") for part in group.split(",")
                )
            )
        except ValueError:
            raw.problem(number, f"origin AS is not a number: {clip(fields[2])!r}")
            continue
        raw.add(fields[0], fields[1], origins, number)


def looks_like(line: str) -> bool:
    fields = line.split("\t") if "\t" in line else line.split()
    return len(fields) == 3 and "/" not in fields[0] and fields[1].isdigit()
