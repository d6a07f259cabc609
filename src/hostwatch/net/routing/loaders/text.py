"""Shared reading of line-based tables: comments, an optional header, ``prefix<sep>asn`` rows."""

from __future__ import annotations

from collections.abc import Iterator

from hostwatch.net.routing.routes import RawRoutes


def text_lines(data: bytes) -> Iterator[tuple[int, str]]:
    """Numbered (1-based) lines, decoded leniently: a stray byte is reported by the row check."""
    text = data.decode("utf-8", "replace")
    yield from enumerate(text.splitlines(), start=1)


def parse_asn(text: str) -> int:
    """``64500`` or ``AS64500`` or asdot ``1.10`` (RFC 5396) to an int; ValueError otherwise."""
    text = text.strip()
    if text[:2].upper() == "AS":
        text = text[2:]
    if "." in text:
        high, _, low = text.partition(".")
        return (int(high) << 16) + int(low)
    return int(text)


def read_prefix_asn_rows(data: bytes, raw: RawRoutes, comments: str) -> None:
    """Rows ``prefix<TAB or spaces>asn``; a first row whose prefix has no ``/`` is a header.

    The loop is written for the common, clean row (tab-separated, plain number): a million rows
    pass through it; anything unusual takes the slower, careful branch.
    """
    addresses, lengths, origins, lines = raw.addresses, raw.lengths, raw.origins, raw.lines
    seen_row = False
    for number, line in text_lines(data):
        prefix, tab, asn_text = line.partition("\t")
        address, slash, length = prefix.partition("/")
        if tab and slash and seen_row and asn_text.isascii() and asn_text.isdigit():
            addresses.append(address)
            lengths.append(length)
            origins.append((int(asn_text),))
            lines.append(number)
            continue
        stripped = line.strip()
        if not stripped or stripped[0] in comments:
            continue
        fields = stripped.split("\t") if "\t" in stripped else stripped.split()
        if len(fields) < 2:
            raw.problem(number, f"expected 'prefix<TAB>asn', got {clip(line)!r}")
            continue
        prefix, asn_text = fields[0].strip(), fields[1].strip()
        if not seen_row and "/" not in prefix:
            seen_row = True
            continue
        seen_row = True
        address, slash, length = prefix.partition("/")
        if not slash:
            raw.problem(number, f"prefix without length {clip(prefix)!r}")
            continue
        try:
            asn = parse_asn(asn_text)
        except ValueError:
            raw.problem(number, f"origin AS is not a number: {clip(asn_text)!r}")
            continue
        raw.add(address, length, (asn,), number)


def clip(text: str, limit: int = 80) -> str:
    """A long hostile line shortened for a message."""
    return text if len(text) <= limit else text[:limit] + "..."
