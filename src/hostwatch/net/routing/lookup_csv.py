"""``ip,prefix,origin_asn[,...]`` CSV for a list of addresses against one or more tables.

Several tables answer in order: for each address the first table (in the order given) that has a
covering route answers, so a v4-only and a v6-only table combine, and a fallback table only fills
gaps without overriding a more trusted one. Extra columns (AS name, provider, country) come from
:class:`ColumnSource` callables that see the merged answers; this module knows none of them.

The ``ip`` column echoes the input; text that is not an address is written safely, through
:mod:`hostwatch.csv_safety`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO

import numpy as np

from hostwatch.csv_safety import SafeWriter
from hostwatch.net.addresses import as_address_array
from hostwatch.net.routing.table import NO_ASN, RoutingTable


@dataclass(frozen=True)
class MergedAnswers:
    """Per address: the answering table's index (-1 none), prefix text and origin AS (-1 none)."""

    texts: list[str]
    table_index: np.ndarray
    prefix: np.ndarray
    origin_asn: np.ndarray
    origins: list[tuple[int, ...]]
    malformed: list[tuple[int, str]]

    @property
    def matched(self) -> np.ndarray:
        return self.table_index >= 0


class ColumnSource(Protocol):
    """Adds named columns: given the answers, one value (or None) per address for each name."""

    names: Sequence[str]

    def __call__(self, answers: MergedAnswers) -> Sequence[Sequence[object | None]]: ...


def lookup_first_match(tables: Sequence[RoutingTable], texts: list[str]) -> MergedAnswers:
    """Answer each address from the first table that covers it."""
    addresses = as_address_array(texts)
    n = len(addresses)
    table_index = np.full(n, -1, np.int64)
    prefix = np.full(n, None, dtype=object)
    origin = np.full(n, NO_ASN, np.int64)
    origins: list[tuple[int, ...]] = [()] * n
    pending = np.flatnonzero(addresses.family != 0)
    for index, table in enumerate(tables):
        if not pending.size:
            break
        result = table.lookup(addresses.take(pending))
        hit = np.flatnonzero(result.matched)
        where = pending[hit]
        table_index[where] = index
        prefix[where] = result.prefix[hit]
        origin[where] = result.origin_asn[hit]
        for i, value in zip(where.tolist(), (result.origins[j] for j in hit.tolist()), strict=True):
            origins[i] = value
        pending = pending[~result.matched]
    return MergedAnswers(texts, table_index, prefix, origin, origins, addresses.malformed)


def write_lookup_csv(
    out: TextIO,
    tables: Sequence[RoutingTable],
    texts: list[str],
    columns: Iterable[ColumnSource] = (),
) -> MergedAnswers:
    """Write the header and one row per input address, in input order; return the answers."""
    answers = lookup_first_match(tables, texts)
    extra_names: list[str] = []
    extra_values: list[Sequence[object | None]] = []
    for source in columns:
        values = source(answers)
        extra_names.extend(source.names)
        extra_values.extend(values)
    writer = SafeWriter(out)
    writer.writerow(["ip", "prefix", "origin_asn", *extra_names])
    asn_text = [str(a) if a != NO_ASN else "" for a in answers.origin_asn.tolist()]
    for i, text in enumerate(texts):
        row: list[object] = [text, answers.prefix[i] or "", asn_text[i]]
        row.extend("" if col[i] is None else str(col[i]) for col in extra_values)
        writer.writerow(row)
    return answers
