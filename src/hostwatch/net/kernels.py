"""Compiled loops for the bulk paths: address text to integers, IPv6 interval lookup.

NumPy passes cannot read IPv6 text (``::`` moves every later field) and a ``searchsorted`` over
hundreds of thousands of interval starts misses the cache at every level of its binary search, so
these two steps are plain loops compiled with numba. Importing numba costs about a second, so only
the bulk paths import this module (see :data:`hostwatch.net.addresses.BULK_MIN`); small lookups
never pay for it.

Compiled code is cached next to this file, or in the user's cache directory where the source tree
is read-only; where neither can be written the functions are compiled in memory on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

OK = 1
"""Row status: parsed, value exact."""
REJECTED = 0
"""Row status: cannot be an address of this family."""
UNSURE = 2
"""Row status: not the plain form this reader takes; ``inet_pton`` decides."""

FANOUT = 8
"""Keys in one node of the interval search tree: one cache line of uint64."""
_LOCKSTEP = 32
_PAD = np.uint64(0xFFFFFFFFFFFFFFFF)
_BELOW_PAD = np.uint64(0xFFFFFFFFFFFFFFFE)
DEEP_FLAG = np.uint32(0x80000000)
"""Set in an interval code that :func:`interval_codes` found in a deep interval."""

_NEWLINE = 10
_COLON = 58
_DOT = 46


def _compile(func: Callable[..., Any]) -> Callable[..., Any]:
    """``njit`` with an on-disk cache, or without one where numba finds nowhere to write it."""
    try:
        return numba.njit(cache=True, nogil=True)(func)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(func)


def _hex_values() -> np.ndarray:
    table = np.full(256, -1, np.int8)
    for i, char in enumerate(b"0123456789abcdef"):
        table[char] = i
        table[ord(chr(char).upper())] = i
    return table


_HEX = _hex_values()


@_compile
def parse_ipv6_lines(
    buf: np.ndarray, out: np.ndarray, status: np.ndarray
) -> bool:  # pragma: no cover
    """Read ``len(out)`` newline-terminated lines of ``buf`` as IPv6; False if not that many.

    Takes only the hex-and-colon forms (1 to 4 hex digits per field, at most one ``::`` standing
    for at least one zero field), exactly as glibc's ``inet_pton`` reads them; anything else
    (embedded IPv4, zone ids, junk) is :data:`UNSURE`, or :data:`REJECTED` when the line has no
    colon at all and so cannot be IPv6. One pass: the newline that ends every line stops each
    field's digits, so no line is scanned twice.
    """
    hexv = _HEX
    groups = np.zeros(8, np.uint64)
    size = buf.shape[0]
    pos = 0
    for row in range(out.shape[0]):
        if pos >= size:
            return False
        p = pos
        good = True
        count = 0
        gap = -1
        if buf[p] == _COLON:
            if buf[p + 1] == _COLON:
                gap = 0
                p += 2
            else:
                good = False
        while good and buf[p] != _NEWLINE:
            value = 0
            digits = 0
            d = hexv[buf[p]]
            while d >= 0:
                value = (value << 4) | d
                digits += 1
                p += 1
                d = hexv[buf[p]]
            if digits == 0 or digits > 4 or count == 8:
                good = False
                break
            groups[count] = value
            count += 1
            c = buf[p]
            if c == _NEWLINE:
                break
            if c != _COLON:
                good = False
                break
            p += 1
            c = buf[p]
            if c == _COLON:
                if gap >= 0:
                    good = False
                    break
                gap = count
                p += 1
            elif c == _NEWLINE:  # one colon at the end
                good = False
                break
        if good and (count == 8 if gap < 0 else count < 8):
            hi = np.uint64(0)
            lo = np.uint64(0)
            for g in range(count):
                slot = g if gap < 0 or g < gap else g + 8 - count
                if slot < 4:
                    hi |= groups[g] << np.uint64(16 * (3 - slot))
                else:
                    lo |= groups[g] << np.uint64(16 * (7 - slot))
            out[row, 0] = hi
            out[row, 1] = lo
            status[row] = OK
            pos = p + 1
            continue
        out[row, 0] = 0
        out[row, 1] = 0
        status[row] = REJECTED
        end = pos
        while end < size and buf[end] != _NEWLINE:
            if buf[end] == _COLON:
                status[row] = UNSURE
            end += 1
        pos = end + 1
    return pos == size


@_compile
def parse_ipv4_lines(
    buf: np.ndarray, out: np.ndarray, status: np.ndarray
) -> bool:  # pragma: no cover
    """Read ``len(out)`` newline-terminated lines of ``buf`` as IPv4; False if not that many.

    Four decimal octets of at most 255, no leading zeros, nothing else on the line: the same
    rule as the NumPy reader; every other line is :data:`REJECTED`.
    """
    size = buf.shape[0]
    pos = 0
    for row in range(out.shape[0]):
        if pos >= size:
            return False
        p = pos
        value = np.uint32(0)
        good = True
        for field in range(4):
            octet = 0
            digits = 0
            c = buf[p]
            while 48 <= c <= 57 and digits < 4:
                octet = octet * 10 + (c - 48)
                digits += 1
                p += 1
                c = buf[p]
            if digits == 0 or digits > 3 or octet > 255 or (digits > 1 and buf[p - digits] == 48):
                good = False
                break
            value = (value << np.uint32(8)) | np.uint32(octet)
            if field < 3:
                if c != _DOT:
                    good = False
                    break
                p += 1
        if good and buf[p] == _NEWLINE:
            out[row] = value
            status[row] = OK
            pos = p + 1
            continue
        out[row] = 0
        status[row] = REJECTED
        while p < size and buf[p] != _NEWLINE:
            p += 1
        pos = p + 1
    return pos == size


@_compile
def interval_codes(
    hi: np.ndarray, tree: np.ndarray, level_starts: np.ndarray, codes: np.ndarray, out: np.ndarray
) -> int:  # pragma: no cover
    """Code of the interval holding each high word; returns how many landed in a deep one.

    ``tree`` holds the levels of a static search tree with :data:`FANOUT` keys a node (see
    :func:`hostwatch.net.routing.lpm6.search_tree`), top level last; ``level_starts[k]`` is where
    level ``k`` begins (level 0: the interval starts themselves). Each level narrows the answer to
    one node of the level below by counting its keys at or below the address: a fixed number of
    comparisons in one cache line, where a binary search over all starts would wait on
    memory at most of its twenty steps. Addresses go down the tree in groups of
    :data:`_LOCKSTEP`, level by level, so that their cache misses overlap instead of queueing.
    ``codes`` carry :data:`DEEP_FLAG` for deep intervals; they are copied to ``out`` as they are,
    for the caller to resolve. Nodes are padded with 2**64 - 1, so the walk compares at most
    2**64 - 2 and never counts a pad; the address 2**64 - 1 takes the last interval directly.
    """
    n_deep = 0
    levels = level_starts.shape[0] - 1
    top = level_starts[levels - 1]
    top_size = level_starts[levels] - top
    node = np.empty(_LOCKSTEP, np.int64)
    n = hi.shape[0]
    for first in range(0, n, _LOCKSTEP):
        m = min(_LOCKSTEP, n - first)
        for t in range(m):
            h = min(hi[first + t], _BELOW_PAD)
            count = 0
            for q in range(top_size):
                count += tree[top + q] <= h
            node[t] = count - 1
        for k in range(levels - 2, -1, -1):
            level = level_starts[k]
            for t in range(m):
                h = min(hi[first + t], _BELOW_PAD)
                base = level + node[t] * FANOUT
                count = 0
                for q in range(FANOUT):
                    count += tree[base + q] <= h
                node[t] = node[t] * FANOUT + count - 1
        for t in range(m):
            code = codes[node[t]] if hi[first + t] != _PAD else codes[codes.shape[0] - 1]
            out[first + t] = code
            if code >= DEEP_FLAG:
                n_deep += 1
    return n_deep
