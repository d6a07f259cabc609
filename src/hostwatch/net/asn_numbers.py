"""AS numbers as written in the wild: '123', 'AS123', 'as123', asdot '1.10'."""

from __future__ import annotations

AS_TRANS = 23456


def parse_asn(text: str) -> int | None:
    """The AS number, or None when the text is not one (so callers can report the line)."""
    text = text.strip().upper().removeprefix("AS")
    try:
        if "." in text:
            high, low = (int(part) for part in text.split(".", 1))
            if not (0 <= high < 2**16 and 0 <= low < 2**16):
                return None
            return (high << 16) + low
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value < 2**32 else None
