"""IPv6 longest-prefix match as disjoint intervals over the high 64 bits.

Routed IPv6 prefixes are /64 or shorter (longer ones are filtered by almost every network), so the
nested prefixes are flattened once into sorted, non-overlapping intervals of the high 64 bits,
each holding its most specific route; a lookup is then one ``searchsorted`` per batch (large
batches: a compiled walk down a static search tree over the starts). The rare
routes longer than /64 get a /64 interval of their own, marked, and the addresses that land there
are resolved exactly against those routes (falling back to the interval's covering route).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hostwatch.net.addresses import BULK_MIN, ipv6_mask

FANOUT = 8  # keys per search-tree node; the same as hostwatch.net.kernels.FANOUT
_DEEP_FLAG = np.uint32(0x80000000)  # hostwatch.net.kernels.DEEP_FLAG, without importing numba
_TOP = np.uint64(0xFFFFFFFFFFFFFFFF)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` hashes first, which is slower for this use)."""
    values = np.sort(values)
    if values.size < 2:
        return values
    keep = np.empty(values.size, bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


@dataclass(frozen=True, slots=True)
class Intervals6:
    starts: np.ndarray
    codes: np.ndarray
    deep: np.ndarray
    long_hi: np.ndarray
    long_lo: np.ndarray
    long_len: np.ndarray
    long_code: np.ndarray
    _tree: SearchTree | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def build(
        cls, hi: np.ndarray, lo: np.ndarray, length: np.ndarray, first_code: int = 1
    ) -> Intervals6:
        """Flatten routes (host bits clear, unique, length >= 1); route i gets code first_code + i.

        Code 0 means "no route", so ``first_code`` must be at least 1.
        """
        hi = np.asarray(hi, dtype=np.uint64)
        lo = np.asarray(lo, dtype=np.uint64)
        length = np.asarray(length, dtype=np.int64)
        codes = np.arange(first_code, first_code + hi.shape[0], dtype=np.uint32)
        short = length <= 64
        s_hi, s_len, s_code = hi[short], length[short], codes[short]
        size = np.left_shift(np.uint64(1), (64 - s_len).astype(np.uint64) % np.uint64(64))
        ends = s_hi + size
        to_top = ends == 0
        l_sel = ~short
        l_hi = hi[l_sel]
        next_hi = l_hi + np.uint64(1)
        bounds = sorted_unique(
            np.concatenate(
                [np.zeros(1, np.uint64), s_hi, ends[~to_top], l_hi, next_hi[next_hi != 0]]
            )
        )
        first = np.searchsorted(bounds, s_hi)
        last = np.where(to_top, bounds.size, np.searchsorted(bounds, ends))
        order = np.argsort(s_len, kind="stable")
        counts = (last - first)[order]
        rank = np.arange(1, order.size + 1, dtype=np.int64)
        cell_rank = np.repeat(rank, counts)
        offsets = np.cumsum(counts) - counts
        cells = np.repeat(first[order] - offsets, counts) + np.arange(int(counts.sum()))
        best = np.zeros(bounds.size, np.int64)
        np.maximum.at(best, cells, cell_rank)
        sorted_codes = np.concatenate([np.zeros(1, np.uint32), s_code[order]])
        interval_codes = sorted_codes[best]
        deep = np.zeros(bounds.size, bool)
        deep[np.searchsorted(bounds, l_hi)] = True
        keep = np.ones(bounds.size, bool)
        keep[1:] = (interval_codes[1:] != interval_codes[:-1]) | deep[1:] | deep[:-1]
        l_order = np.lexsort((lo[l_sel], l_hi, -length[l_sel]))
        return cls(
            starts=bounds[keep],
            codes=interval_codes[keep],
            deep=deep[keep],
            long_hi=l_hi[l_order],
            long_lo=lo[l_sel][l_order],
            long_len=length[l_sel][l_order],
            long_code=codes[l_sel][l_order],
        )

    def lookup(self, pairs: np.ndarray) -> np.ndarray:
        """Route code per ``(hi, lo)`` address, or 0 where no route covers it."""
        if pairs.shape[0] >= BULK_MIN:
            return self._bulk_lookup(pairs)
        hi = np.ascontiguousarray(pairs[:, 0])
        at = np.searchsorted(self.starts, hi, side="right") - 1
        codes = self.codes[at]
        if self.long_hi.size:
            deep = np.flatnonzero(self.deep[at])
            if deep.size:
                codes[deep] = self._deep_lookup(pairs[deep], codes[deep])
        return codes

    def _bulk_lookup(self, pairs: np.ndarray) -> np.ndarray:
        from hostwatch.net import kernels

        if self._tree is None:
            object.__setattr__(self, "_tree", search_tree(self.starts, self.codes, self.deep))
        tree = self._tree
        codes = np.empty(pairs.shape[0], np.uint32)
        n_deep = kernels.interval_codes(
            pairs[:, 0], tree.keys, tree.level_starts, tree.codes, codes
        )
        if n_deep:
            deep = np.flatnonzero(codes >= _DEEP_FLAG)
            codes[deep] = self._deep_lookup(pairs[deep], codes[deep] & ~_DEEP_FLAG)
        return codes

    def _deep_lookup(self, pairs: np.ndarray, covering: np.ndarray) -> np.ndarray:
        """Exact match against the > /64 routes, longest first; the covering route otherwise."""
        out = covering.copy()
        found = np.zeros(pairs.shape[0], bool)
        for plen in np.unique(self.long_len)[::-1].tolist():
            sel = self.long_len == plen
            table = {
                (h, lo): c
                for h, lo, c in zip(
                    self.long_hi[sel].tolist(),
                    self.long_lo[sel].tolist(),
                    self.long_code[sel].tolist(),
                    strict=True,
                )
            }
            mask = ipv6_mask(np.array([plen]))[0, 1]
            masked = (pairs[:, 1] & mask).tolist()
            for i, (h, lo) in enumerate(zip(pairs[:, 0].tolist(), masked, strict=True)):
                if not found[i] and (h, lo) in table:
                    out[i] = table[(h, lo)]
                    found[i] = True
        return out

    @property
    def nbytes(self) -> int:
        arrays = [getattr(self, f) for f in self.__dataclass_fields__ if f != "_tree"]
        if self._tree is not None:
            arrays += [self._tree.keys, self._tree.level_starts, self._tree.codes]
        return int(sum(a.nbytes for a in arrays))


@dataclass(frozen=True, slots=True)
class SearchTree:
    """Interval starts as levels of a static B-tree, for :func:`kernels.interval_codes`.

    ``keys`` holds the levels one after another, level 0 (the starts) first and the top level
    (at most :data:`FANOUT` keys) last; ``level_starts[k]`` is where level ``k`` begins. Each
    level but the top is padded with 2**64 - 1 to whole nodes (a key the walk never counts), and
    the level above holds the first key of every node. ``codes`` are the interval codes with the
    deep flag set where routes longer than /64 lie inside, padded like level 0 with the last code.
    """

    keys: np.ndarray
    level_starts: np.ndarray
    codes: np.ndarray


def search_tree(starts: np.ndarray, codes: np.ndarray, deep: np.ndarray) -> SearchTree:
    """Build the :class:`SearchTree` over sorted ``starts`` (``starts[0]`` must be 0)."""
    levels = []
    level = starts
    while level.size > FANOUT:
        padded = np.full(-(-level.size // FANOUT) * FANOUT, _TOP, np.uint64)
        padded[: level.size] = level
        levels.append(padded)
        level = padded[::FANOUT]
    levels.append(np.ascontiguousarray(level, dtype=np.uint64))
    sizes = np.array([0] + [lv.size for lv in levels], np.int64)
    flagged = codes.astype(np.uint32) | np.where(deep, _DEEP_FLAG, np.uint32(0))
    padded_codes = np.full(levels[0].size, flagged[-1], np.uint32)
    padded_codes[: flagged.size] = flagged
    return SearchTree(np.concatenate(levels), np.cumsum(sizes), padded_codes)
