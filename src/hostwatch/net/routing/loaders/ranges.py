"""Address-range tables (ip-location-db, iptoasn): ``start,end,asn[,organisation]``.

These are merged ranges, not BGP prefixes; each range is cut into the fewest CIDR blocks that
cover it exactly, so it can live in the same longest-prefix structures. Ranges that overlap an
earlier one are skipped with a message (they cannot both be right), as are reversed ranges and
ranges whose ends are of different families. The organisation column is left to the AS-name data.
"""

from __future__ import annotations

import socket

from hostwatch.net.routing.routes import RawRoutes

from .text import clip, parse_asn, text_lines

FORMAT = "address-ranges"


def read(data: bytes, raw: RawRoutes) -> None:
    rows: list[tuple[int, int, int, int, int]] = []
    for number, line in text_lines(data):
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        fields = stripped.split(",", 3) if "," in stripped else stripped.split("\t", 3)
        if len(fields) < 3:
            raw.problem(number, f"expected 'start,end,asn', got {clip(line)!r}")
            continue
        start, end = _address(fields[0]), _address(fields[1])
        if start is None or end is None:
            if number == 1 and not fields[2].strip().isdigit():
                continue
            raw.problem(number, f"malformed range ends {clip(fields[0])!r}, {clip(fields[1])!r}")
            continue
        if start[0] != end[0]:
            raw.problem(number, "range ends are of different address families")
            continue
        if start[1] > end[1]:
            raw.problem(number, f"range start {fields[0]} is after its end {fields[1]}")
            continue
        try:
            asn = parse_asn(fields[2])
        except ValueError:
            raw.problem(number, f"origin AS is not a number: {clip(fields[2])!r}")
            continue
        rows.append((start[0], start[1], end[1], asn, number))
    rows.sort()
    last_end: dict[int, tuple[int, int]] = {}
    for bits, first, last, asn, number in rows:
        previous = last_end.get(bits)
        if previous is not None and first <= previous[0]:
            raw.problem(number, f"range overlaps the range at line {previous[1]}; skipped")
            continue
        last_end[bits] = (last, number)
        for network, length in range_to_cidrs(first, last, bits):
            raw.add(_text(network, bits), length, (asn,), number)


def range_to_cidrs(first: int, last: int, bits: int) -> list[tuple[int, int]]:
    """The fewest aligned blocks covering ``first .. last`` (inclusive) as (network, length)."""
    out = []
    while first <= last:
        size = (first & -first).bit_length() - 1 if first else bits
        while size and (1 << size) > last - first + 1:
            size -= 1
        out.append((first, bits - size))
        first += 1 << size
    return out


def _address(text: str) -> tuple[int, int] | None:
    text = text.strip()
    family, bits = (socket.AF_INET6, 128) if ":" in text else (socket.AF_INET, 32)
    try:
        return bits, int.from_bytes(socket.inet_pton(family, text), "big")
    except OSError:
        return None


def _text(value: int, bits: int) -> str:
    if bits == 32:
        return socket.inet_ntoa(value.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


def looks_like(line: str) -> bool:
    fields = line.split(",", 3)
    return len(fields) >= 3 and _address(fields[0]) is not None and _address(fields[1]) is not None
