"""IPv4 longest-prefix match as a direct-indexed DIR-24-8 table.

A lookup is one gather from a 2**24-entry array indexed by the top 24 bits (64 MB), plus a second
gather only for the few /24s that hold routes longer than /24. That is as fast as memory allows,
which a per-address tree walk (pyasn's radix) or a binary search cannot be.

Entries hold ``route + 1`` (0 = no route). An entry with the top bit set points to a 256-entry
second-level block instead: block ``b`` covers ``level2[b * 256 : (b + 1) * 256]``.

A stored table keeps the first level as runs (:class:`Runs24`; it is mostly long runs of one
route): memory-mapped, a few addresses are answered by a binary search over the runs, touching a
few pages, and only a large batch pays for expanding the 64 MB array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hostwatch.net.routing.lpm6 import sorted_unique

_BLOCK_FLAG = np.uint32(0x80000000)


@dataclass(frozen=True, slots=True)
class Dir24:
    level1: np.ndarray
    level2: np.ndarray

    @classmethod
    def build(cls, network: np.ndarray, length: np.ndarray) -> Dir24:
        """Paint routes from short to long, so each cell ends with its most specific route.

        ``network`` must have host bits clear and routes must be unique; route ``i`` is stored as
        ``i + 1``.
        """
        network = np.asarray(network, dtype=np.uint32)
        length = np.asarray(length, dtype=np.int64)
        level1 = np.zeros(1 << 24, np.uint32)
        codes = np.arange(1, network.shape[0] + 1, dtype=np.uint32)
        order = np.argsort(length, kind="stable")
        lengths = length[order]
        bounds = np.searchsorted(lengths, np.arange(34))
        for plen in range(25):
            sel = order[bounds[plen] : bounds[plen + 1]]
            if sel.size:
                _paint(level1, network[sel] >> 8, codes[sel], 1 << (24 - plen))
        long_sel = order[bounds[25] :]
        if not long_sel.size:
            return cls(level1, np.zeros(0, np.uint32))
        slash24 = sorted_unique(network[long_sel] >> 8)
        level2 = np.repeat(level1[slash24], 256)
        for plen in range(25, 33):
            sel = order[bounds[plen] : bounds[plen + 1]]
            if not sel.size:
                continue
            block = np.searchsorted(slash24, network[sel] >> 8).astype(np.int64)
            first = block * 256 + (network[sel] & 0xFF)
            _paint(level2, first, codes[sel], 1 << (32 - plen))
        level1[slash24] = np.arange(slash24.size, dtype=np.uint32) | _BLOCK_FLAG
        return cls(level1, level2)

    def lookup(self, addresses: np.ndarray) -> np.ndarray:
        """Route code per address: ``route + 1``, or 0 where no route covers it."""
        return _second_level(self.level1[addresses >> 8], addresses, self.level2)

    def runs(self) -> Runs24:
        """The first level as runs of equal entries (the stored form)."""
        level1 = self.level1
        change = np.flatnonzero(level1[1:] != level1[:-1]) + 1
        starts = np.concatenate([np.zeros(1, np.int64), change]).astype(np.uint32)
        return Runs24(starts, level1[starts], self.level2)

    @property
    def nbytes(self) -> int:
        return int(self.level1.nbytes + self.level2.nbytes)


@dataclass(frozen=True, slots=True)
class Runs24:
    """The first level of a :class:`Dir24` as runs: run ``i`` holds ``values[i]`` from the /24
    ``starts[i]`` up to the next start. The arrays may be memory-mapped from a stored table."""

    starts: np.ndarray
    values: np.ndarray
    level2: np.ndarray

    def lookup(self, addresses: np.ndarray) -> np.ndarray:
        """As :meth:`Dir24.lookup`, by binary search over the runs (for small batches)."""
        run = np.searchsorted(self.starts, addresses >> 8, side="right") - 1
        return _second_level(self.values[run], addresses, self.level2)

    def expand(self) -> Dir24:
        """The direct-indexed table (64 MB), for batches where one gather per address pays."""
        lengths = np.diff(np.append(self.starts.astype(np.int64), 1 << 24))
        return Dir24(np.repeat(np.asarray(self.values), lengths), np.asarray(self.level2))


def _second_level(codes: np.ndarray, addresses: np.ndarray, level2: np.ndarray) -> np.ndarray:
    """Replace block pointers among first-level ``codes`` by the second-level entry."""
    if level2.size:
        deep = np.flatnonzero(codes >= _BLOCK_FLAG)
        if deep.size:
            block = (codes[deep] & ~_BLOCK_FLAG).astype(np.int64)
            codes[deep] = level2[block * 256 + (addresses[deep] & 0xFF)]
    return codes


def _paint(target: np.ndarray, first: np.ndarray, values: np.ndarray, width: int) -> None:
    """Write ``values[i]`` into ``target[first[i] : first[i] + width]`` for every i."""
    first = np.asarray(first, dtype=np.int64)
    if width >= 256:
        for start, value in zip(first.tolist(), values.tolist(), strict=True):
            target[start : start + width] = value
        return
    chunk = max(1, (1 << 22) // width)
    offsets = np.arange(width, dtype=np.int64)
    for lo in range(0, first.size, chunk):
        cells = (first[lo : lo + chunk, None] + offsets).ravel()
        target[cells] = np.repeat(values[lo : lo + chunk], width)
