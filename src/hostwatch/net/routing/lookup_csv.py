"""``ip,prefix,origin_asn[,...]`` CSV for a list of addresses against one or more tables.

Several tables answer in order: for each address the first table (in the order given) that has a
covering route answers, so a v4-only and a v6-only table combine, and a fallback table only fills
gaps without overriding a more trusted one. Extra columns (AS name, provider, country) come from
:class:`ColumnSource` callables that see the merged answers; this module knows none of them.

The ``ip`` column echoes the input; text that is not an address is written safely, through
:mod:`hostwatch.csv_safety`.

A batch of up to :data:`SMALL_BATCH` addresses against stored tables (:class:`.mapped.MappedTable`)
without extra columns is answered without NumPy: importing it would cost more than the answers.
NumPy is therefore imported by the batch path only, not by this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from hostwatch.csv_safety import SafeWriter
from hostwatch.net.routing.mapped import MappedTable, lookup_first_match_small

if TYPE_CHECKING:
    import numpy as np

    from hostwatch.net.routing.table import RoutingTable

SMALL_BATCH = 8192
"""Batches up to this many addresses against stored tables are answered without NumPy. Measured
on the 2014 table: about 10 us an address that way, against 0.15 s for NumPy's import and little
per address after it, so the two cost the same near 16k addresses."""


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
    import numpy as np

    from hostwatch.net.addresses import as_address_array
    from hostwatch.net.routing.table import NO_ASN

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
    tables: Sequence[RoutingTable | MappedTable],
    texts: list[str],
    columns: Iterable[ColumnSource] = (),
) -> list[tuple[int, str]]:
    """Write the header and one row per input address, in input order.

    Returns ``(position, text)`` of the inputs that are not IP addresses.
    """
    columns = list(columns)
    mapped = [t for t in tables if isinstance(t, MappedTable)]
    if not columns and len(texts) <= SMALL_BATCH and len(mapped) == len(tables):
        small = lookup_first_match_small(mapped, texts)
        _write_rows(out, texts, small.prefix, small.origin_asn, [], [])
        return small.malformed
    from hostwatch.net.routing.table import NO_ASN

    full = [t.routing_table() if isinstance(t, MappedTable) else t for t in tables]
    answers = lookup_first_match(full, texts)
    extra_names: list[str] = []
    extra_values: list[Sequence[object | None]] = []
    for source in columns:
        values = source(answers)
        extra_names.extend(source.names)
        extra_values.extend(values)
    origins = [None if a == NO_ASN else a for a in answers.origin_asn.tolist()]
    _write_rows(out, texts, answers.prefix.tolist(), origins, extra_names, extra_values)
    return answers.malformed


def _write_rows(
    out: TextIO,
    texts: list[str],
    prefix: Sequence[str | None],
    origin_asn: Sequence[int | None],
    extra_names: list[str],
    extra_values: list[Sequence[object | None]],
) -> None:
    writer = SafeWriter(out)
    writer.writerow(["ip", "prefix", "origin_asn", *extra_names])
    for i, text in enumerate(texts):
        asn = origin_asn[i]
        row: list[object] = [text, prefix[i] or "", "" if asn is None else str(asn)]
        row.extend("" if col[i] is None else str(col[i]) for col in extra_values)
        writer.writerow(row)
