"""IPv6 longest-prefix match as disjoint intervals over the high 64 bits.

Routed IPv6 prefixes are /64 or shorter (longer ones are filtered by almost every network), so the
nested prefixes are flattened once into sorted, non-overlapping intervals of the high 64 bits,
each holding its most specific route; a lookup is then one ``searchsorted`` per batch. The rare
routes longer than /64 get a /64 interval of their own, marked, and the addresses that land there
are resolved exactly against those routes (falling back to the interval's covering route).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hostwatch.net.addresses import ipv6_mask


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
        hi = np.ascontiguousarray(pairs[:, 0])
        at = np.searchsorted(self.starts, hi, side="right") - 1
        codes = self.codes[at]
        if self.long_hi.size:
            deep = np.flatnonzero(self.deep[at])
            if deep.size:
                codes[deep] = self._deep_lookup(pairs[deep], codes[deep])
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
        return int(sum(getattr(self, f).nbytes for f in self.__dataclass_fields__))
