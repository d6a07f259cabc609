"""IP addresses as NumPy arrays, parsed in bulk; prefix masks for both families.

Lookups over millions of addresses are array operations, so text is turned into integers once,
in bulk, never one ``ipaddress`` object per string: batches of :data:`BULK_MIN` or more go through
compiled loops over one joined byte buffer (:mod:`hostwatch.net.kernels`), smaller ones through
NumPy passes (IPv4) or ``inet_pton`` joined at C level (IPv6), which need no compiler. The array
forms are the ones the rest of hostwatch stores and passes around:

* IPv4: ``uint32`` (host byte order), one element per address;
* IPv6: ``uint64`` of shape ``(n, 2)``: column 0 the high 64 bits, column 1 the low 64 bits
  (a structured array with fields ``hi`` and ``lo``, :data:`IPV6_DTYPE`, is accepted as well).

Malformed strings never raise here: they get family 0 and are listed in ``malformed`` with their
position, so one bad line in a million is reported and the rest still answered.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

IPV6_DTYPE = np.dtype([("hi", "<u8"), ("lo", "<u8")])

FAMILY_NONE = 0
FAMILY_V4 = 4
FAMILY_V6 = 6

_PTON6 = functools.partial(socket.inet_pton, socket.AF_INET6)
_NTOP6 = functools.partial(socket.inet_ntop, socket.AF_INET6)
_NEWLINE = 10
_DOT = 46


@dataclass(frozen=True, slots=True)
class AddressArray:
    """Parsed addresses in input order.

    ``family[i]`` is 4, 6 or 0 (malformed); ``v4[i]`` is meaningful where the family is 4,
    ``v6[i]`` (high, low) where it is 6. ``malformed`` lists ``(position, text)`` of the inputs that
    are not addresses.
    """

    family: np.ndarray
    v4: np.ndarray
    v6: np.ndarray
    malformed: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.family.shape[0])

    def take(self, rows: np.ndarray) -> AddressArray:
        """The addresses at ``rows`` (malformed positions are not carried over)."""
        return AddressArray(self.family[rows], self.v4[rows], self.v6[rows], [])

    @classmethod
    def from_ipv4(cls, values: np.ndarray) -> AddressArray:
        values = np.ascontiguousarray(values, dtype=np.uint32)
        n = values.shape[0]
        return cls(np.full(n, FAMILY_V4, np.uint8), values, np.zeros((n, 2), np.uint64))

    @classmethod
    def from_ipv6(cls, values: np.ndarray) -> AddressArray:
        pairs = ipv6_pairs(values)
        n = pairs.shape[0]
        return cls(np.full(n, FAMILY_V6, np.uint8), np.zeros(n, np.uint32), pairs)

    def to_text(self) -> list[str | None]:
        """The canonical text of each address (None where malformed)."""
        out: list[str | None] = [None] * len(self)
        idx4 = np.flatnonzero(self.family == FAMILY_V4)
        for i, text in zip(idx4.tolist(), ipv4_to_text(self.v4[idx4]), strict=True):
            out[i] = text
        idx6 = np.flatnonzero(self.family == FAMILY_V6)
        for i, text in zip(idx6.tolist(), ipv6_to_text(self.v6[idx6]), strict=True):
            out[i] = text
        return out


def ipv6_pairs(values: np.ndarray) -> np.ndarray:
    """Normalise an IPv6 array (``(n, 2)`` uint64 or :data:`IPV6_DTYPE`) to ``(n, 2)`` uint64."""
    if values.dtype.names:
        return np.stack([values["hi"].astype(np.uint64), values["lo"].astype(np.uint64)], axis=1)
    values = np.asarray(values)
    if values.ndim != 2 or values.shape[1] != 2:
        raise ValueError(f"IPv6 array must have shape (n, 2), got {values.shape}")
    return np.ascontiguousarray(values, dtype=np.uint64)


def as_address_array(ips: object) -> AddressArray:
    """Accept strings, parsed arrays or an :class:`AddressArray`; return an :class:`AddressArray`.

    Columns with ``to_numpy`` (Polars, pandas, Arrow) are read as their NumPy form. A 1-D integer
    array is IPv4; a ``(n, 2)`` uint64 or :data:`IPV6_DTYPE` array is IPv6; a NumPy
    string array or any sequence of ``str`` is parsed (IPv4 and IPv6 may be mixed).
    """
    if isinstance(ips, AddressArray):
        return ips
    if not isinstance(ips, np.ndarray) and hasattr(ips, "to_numpy"):
        ips = ips.to_numpy()  # a Polars/pandas/Arrow column
    if isinstance(ips, np.ndarray):
        if ips.dtype.names or (ips.ndim == 2 and ips.dtype.kind == "u"):
            return AddressArray.from_ipv6(ips)
        if ips.dtype.kind in "ui" and ips.ndim == 1:
            if ips.size and (int(ips.min()) < 0 or int(ips.max()) > 0xFFFFFFFF):
                raise ValueError("IPv4 integer array holds values outside 0 .. 2**32-1")
            return AddressArray.from_ipv4(ips)
        if ips.dtype.kind in "USO":
            return parse_addresses([_as_str(x) for x in ips.tolist()])
        raise TypeError(f"cannot read addresses from an array of dtype {ips.dtype}")
    if isinstance(ips, str | bytes):
        raise TypeError("pass a sequence of addresses, not a single string")
    if not isinstance(ips, Iterable):
        raise TypeError(f"cannot read addresses from {type(ips).__name__}")
    return parse_addresses(ips if isinstance(ips, list) else list(ips))


def _as_str(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return value if isinstance(value, str) else str(value)


def parse_addresses(texts: Sequence[str]) -> AddressArray:
    """Parse address strings (IPv4 and IPv6 mixed) in input order; never raises on bad text."""
    n = len(texts)
    family = np.zeros(n, np.uint8)
    v4 = np.zeros(n, np.uint32)
    v6 = np.zeros((n, 2), np.uint64)
    if n == 0:
        return AddressArray(family, v4, v6, [])
    if not isinstance(texts, list):
        texts = list(texts)
    # The family of the first text is tried first for all; the other takes what it refused.
    readers = [(FAMILY_V4, parse_ipv4_texts), (FAMILY_V6, parse_ipv6_texts)]
    if isinstance(texts[0], str) and ":" in texts[0]:
        readers.reverse()
    rows = np.arange(n)
    for kind, read in readers:
        values, ok = read(texts if rows.size == n else [texts[i] for i in rows.tolist()])
        if rows.size == n and ok.all():  # the common case: one family, no copies
            if kind == FAMILY_V4:
                return AddressArray(np.full(n, kind, np.uint8), values, v6, [])
            return AddressArray(np.full(n, kind, np.uint8), v4, values, [])
        (v4 if kind == FAMILY_V4 else v6)[rows[ok]] = values[ok]
        family[rows[ok]] = kind
        rows = rows[~ok]
        if not rows.size:
            break
    bad = rows
    malformed = [(int(i), _as_str(texts[i])) for i in bad.tolist()]
    return AddressArray(family, v4, v6, malformed)


_CHUNK = 1 << 14
BULK_MIN = 1 << 15
"""Batches this long or longer are read by compiled loops; shorter ones skip numba's import."""
_BULK_CHUNK = 1 << 16


def _joined_lines(texts: list[str]) -> np.ndarray | None:
    """The texts as one newline-terminated ASCII buffer (non-ASCII as ``?``); None if not all str.

    An item holding a newline makes more lines than items: the compiled readers notice that.
    """
    try:
        raw = ("\n".join(texts) + "\n").encode("ascii", "replace")
    except TypeError:
        return None
    return np.frombuffer(raw, np.uint8)


def parse_ipv4_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Dotted-quad strings to uint32, with an ok mask; strict (no leading zeros, 4 octets).

    Texts are joined into one byte buffer; one pass finds the separators, and each octet is read
    with one 4-byte gather ending at its separator (SWAR: the digits are the low bytes), so the
    cost is a handful of vector operations per address instead of a C call per string. Work goes
    in chunks of 16k addresses: the temporaries then stay in cache and their memory is reused,
    where one pass over a million would fault in hundreds of fresh megabytes.
    """
    n = len(texts)
    if n >= BULK_MIN:
        return _parse_ipv4_bulk(texts)
    if n <= _CHUNK:
        return _parse_ipv4_chunk(texts)
    values = np.empty(n, np.uint32)
    ok = np.empty(n, bool)
    for start in range(0, n, _CHUNK):
        stop = start + _CHUNK
        values[start:stop], ok[start:stop] = _parse_ipv4_chunk(texts[start:stop])
    return values, ok


def _parse_ipv4_bulk(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The compiled reader of the same strict dotted quads, chunk by chunk."""
    from hostwatch.net import kernels

    n = len(texts)
    values = np.empty(n, np.uint32)
    status = np.empty(n, np.uint8)
    for start in range(0, n, _BULK_CHUNK):
        stop = min(start + _BULK_CHUNK, n)
        chunk = texts[start:stop]
        buf = _joined_lines(chunk)
        if buf is None or not kernels.parse_ipv4_lines(buf, values[start:stop], status[start:stop]):
            values[start:stop], ok = _parse_ipv4_chunk(chunk)
            status[start:stop] = ok
    return values, status == kernels.OK


def _parse_ipv4_chunk(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    n = len(texts)
    if n == 0:
        return np.zeros(0, np.uint32), np.zeros(0, bool)
    try:
        raw = ("000" + "\n".join(texts) + "\n").encode("ascii", "replace")
    except TypeError:
        return _parse_one_by_one(texts, socket.AF_INET)
    if raw.count(b"\n") != n:
        return _parse_one_by_one(texts, socket.AF_INET)
    buf = np.frombuffer(raw, np.uint8)[3:]
    seps = np.flatnonzero(buf < 48)
    regular = not raw.translate(None, _V4_CHARS) and seps.size == 4 * n
    if regular and (buf[seps[3::4]] == _NEWLINE).all():
        return _parse_regular_ipv4(raw, seps)
    keep = _regular_ipv4_lines(buf, seps, n)
    values = np.zeros(n, np.uint32)
    ok = np.zeros(n, bool)
    rows = np.flatnonzero(keep)
    if rows.size:
        values[rows], ok[rows] = _parse_ipv4_chunk([texts[i] for i in rows.tolist()])
    return values, ok


_V4_CHARS = b"0123456789.\n"


def _regular_ipv4_lines(buf: np.ndarray, seps: np.ndarray, n: int) -> np.ndarray:
    """Lines made only of digits and exactly three dots (the only ones that can be IPv4)."""
    newlines = np.flatnonzero(buf == _NEWLINE)
    line_of_sep = np.searchsorted(newlines, seps)
    keep = np.bincount(line_of_sep, minlength=n)[:n] == 4
    other = ~(((buf - np.uint8(48)) < 10) | (buf == _DOT) | (buf == _NEWLINE))
    keep[np.searchsorted(newlines, np.flatnonzero(other))] = False
    return keep


# Little-endian word of the 3 bytes before a separator and the separator: digits of a field of
# length L sit in the top L of the low three bytes. Index: the step to the separator, L + 1,
# capped at 5 (L = 0 or L >= 4 is masked out).
_FIELD_MASK = np.array([0, 0, 0xFF0000, 0xFFFF00, 0xFFFFFF, 0], dtype=np.uint32)
_LEAD_SHIFT = np.array([0, 0, 16, 8, 0, 0], dtype=np.uint32)


def _steps(seps: np.ndarray, cap: int) -> np.ndarray:
    """Distance from each separator to the previous one (the first: to position -1), capped.

    Written in place: fresh 8-byte-per-field arrays are what such passes spend their time on.
    """
    step = np.empty_like(seps)
    if seps.size:
        step[0] = seps[0] + 1
        np.subtract(seps[1:], seps[:-1], out=step[1:])
        np.minimum(step, cap, out=step)
    return step


def _parse_regular_ipv4(raw: bytes, seps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Octets of lines known to be ``d.d.d.d`` shaped.

    ``raw`` starts with 3 padding bytes; ``seps`` are separator positions counted after them, so
    ``words[p]`` (bytes ``raw[p : p + 4]``) ends exactly at separator ``p``.
    """
    words = np.ndarray(shape=(len(raw) - 3,), dtype="<u4", buffer=raw, strides=(1,))
    word = words[seps]
    step = _steps(seps, 5)
    mask = _FIELD_MASK[step]
    digits = (word & mask) - (np.uint32(0x303030) & mask)
    byte, eight = np.uint32(0xFF), np.uint32(8)
    octet = (digits >> np.uint32(16)) & byte
    octet += ((digits >> eight) & byte) * np.uint32(10)
    octet += (digits & byte) * np.uint32(100)
    lead = (word >> _LEAD_SHIFT[step]) & byte
    good = (mask != 0) & (octet <= byte) & ((step < 3) | (lead != 48))
    octets = octet.reshape(-1, 4)
    packed = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
    ok = good.view(np.uint8).reshape(-1, 4).view(np.uint32).ravel() == 0x01010101
    return np.where(ok, packed, np.uint32(0)), ok


def parse_ipv6_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """IPv6 strings to ``(n, 2)`` uint64 with an ok mask.

    Large batches go through the compiled reader of the plain hex-and-colon forms; what it is
    unsure of (embedded IPv4, zone ids, junk with a colon) is handed to ``inet_pton`` row by row,
    so every spelling reads exactly as ``inet_pton`` reads it. Small batches use ``inet_pton`` over
    the whole list in one C-level ``join``; a failure anywhere falls back to one by one.
    """
    n = len(texts)
    if n >= BULK_MIN:
        return _parse_ipv6_bulk(texts)
    pairs = np.empty((n, 2), np.uint64)
    ok = np.ones(n, bool)
    for start in range(0, n, _CHUNK):
        chunk = texts[start : start + _CHUNK]
        try:
            raw = b"".join(map(_PTON6, chunk))
        except (OSError, TypeError, ValueError):
            values, good = _parse_one_by_one(chunk, socket.AF_INET6)
            pairs[start : start + len(chunk)] = values
            ok[start : start + len(chunk)] = good
            continue
        pairs[start : start + len(chunk)] = np.frombuffer(raw, ">u8").reshape(-1, 2)
    return pairs, ok


def _parse_ipv6_bulk(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from hostwatch.net import kernels

    n = len(texts)
    pairs = np.empty((n, 2), np.uint64)
    status = np.empty(n, np.uint8)
    for start in range(0, n, _BULK_CHUNK):
        stop = min(start + _BULK_CHUNK, n)
        buf = _joined_lines(texts[start:stop])
        if buf is None or not kernels.parse_ipv6_lines(buf, pairs[start:stop], status[start:stop]):
            status[start:stop] = kernels.UNSURE
    unsure = np.flatnonzero(status == kernels.UNSURE)
    if unsure.size:
        values, good = _parse_one_by_one([texts[i] for i in unsure.tolist()], socket.AF_INET6)
        pairs[unsure] = values
        status[unsure] = np.where(good, kernels.OK, kernels.REJECTED)
    return pairs, status == kernels.OK


def _parse_one_by_one(texts: list[str], family: int) -> tuple[np.ndarray, np.ndarray]:
    """The slow, exact path: ``inet_pton`` per text, for inputs the vector passes cannot take."""
    width = 4 if family == socket.AF_INET else 16
    ok = np.zeros(len(texts), bool)
    chunks = []
    for i, text in enumerate(texts):
        try:
            packed = socket.inet_pton(family, text) if isinstance(text, str) else b""
        except (OSError, ValueError, TypeError):
            packed = b""
        if len(packed) == width:
            ok[i] = True
            chunks.append(packed)
        else:
            chunks.append(bytes(width))
    raw = b"".join(chunks)
    if family == socket.AF_INET:
        return np.frombuffer(raw, ">u4").astype(np.uint32), ok
    return np.frombuffer(raw, ">u8").reshape(-1, 2).astype(np.uint64), ok


def ipv4_to_text(values: np.ndarray) -> list[str]:
    packed = np.ascontiguousarray(values, dtype=np.uint32).astype(">u4")
    return list(map(socket.inet_ntoa, packed.view("V4").tolist()))


def ipv6_to_text(pairs: np.ndarray) -> list[str]:
    packed = np.ascontiguousarray(pairs, dtype=np.uint64).astype(">u8").reshape(-1)
    return list(map(_NTOP6, packed.view("V16").tolist()))


def ipv6_mask(length: np.ndarray) -> np.ndarray:
    """Netmasks for prefix lengths 0..128 as ``(n, 2)`` uint64."""
    length = np.asarray(length, dtype=np.int64)
    hi_bits = np.clip(length, 0, 64)
    lo_bits = np.clip(length - 64, 0, 64)
    return np.stack([_top_bits(hi_bits), _top_bits(lo_bits)], axis=1)


def _top_bits(bits: np.ndarray) -> np.ndarray:
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    shift = (64 - np.maximum(bits, 1)).astype(np.uint64)
    return np.where(bits > 0, full << shift, np.uint64(0)).astype(np.uint64)


def ipv4_mask(length: np.ndarray) -> np.ndarray:
    """Netmasks for prefix lengths 0..32 as uint32."""
    length = np.asarray(length, dtype=np.int64)
    masks = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
    return np.where(length == 0, 0, masks).astype(np.uint32)
