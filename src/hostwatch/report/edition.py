"""Editions of the report: what each reader may see.

*Public* (the default): no URL, host, IP or natural person anywhere (HTML, PDF, CSV, picture
text), and a provider is named only with at least ``min_cases`` episodes in the period; the
rest are one group. Resellers may be natural persons, so the public edition gives them keyed
pseudonyms instead of names. *Restricted* (regulator, hotline): URLs and names allowed, and
every page says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from hostwatch.metrics.frame import UNATTRIBUTED
from hostwatch.metrics.pseudonymise import pseudonym

PUBLIC = "public"
RESTRICTED = "restricted"
EDITIONS = (PUBLIC, RESTRICTED)


@dataclass(frozen=True)
class Edition:
    name: str
    min_cases: int
    pseudonym_key: str
    other_label: str
    """The group of providers below ``min_cases`` (translated by the caller)."""

    def __post_init__(self) -> None:
        if self.name not in EDITIONS:
            raise ValueError(f"edition {self.name!r}: expected one of {', '.join(EDITIONS)}")

    @property
    def restricted(self) -> bool:
        return self.name == RESTRICTED

    def named_providers(self, frame: pl.DataFrame) -> set[str]:
        """Providers this edition may name: all in the restricted one, the larger in public."""
        counts = frame.group_by("provider").len()
        if not self.restricted:
            counts = counts.filter(pl.col("len") >= self.min_cases)
        return {str(p) for p in counts["provider"].drop_nulls()} | {UNATTRIBUTED}

    def group_small(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame with unnamed providers merged into one group (public edition)."""
        if self.restricted:
            return frame
        named = self.named_providers(frame)
        keep = pl.col("provider").is_null() | pl.col("provider").is_in(list(named))
        # The AS of a small provider would name it as well as its name does.
        hidden = [c for c in ("as_name", "asn") if c in frame.columns]
        return frame.with_columns(
            pl.when(keep).then(pl.col("provider")).otherwise(pl.lit(self.other_label)),
            *(pl.when(keep).then(pl.col(c)).otherwise(None).alias(c) for c in hidden),
        )

    def reseller(self, name: str | None) -> str:
        if name is None or self.restricted:
            return name or ""
        return pseudonym(name, self.pseudonym_key)

    def keep(self, names: Iterable[str], named: set[str]) -> list[str]:
        """Only the names this edition may print, in order."""
        return [n for n in names if self.restricted or n in named]
