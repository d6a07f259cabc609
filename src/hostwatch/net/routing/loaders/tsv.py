"""Plain ``prefix<TAB>asn`` tables (optional header, ``#`` comments), e.g. the 2026 AS-Prefix set.

A prefix announced by several origins appears once per origin; the rows are merged into one MOAS
route whose primary origin is the first row's.
"""

from __future__ import annotations

from hostwatch.net.routing.routes import RawRoutes

from .text import read_prefix_asn_rows

FORMAT = "prefix-asn-tsv"


def read(data: bytes, raw: RawRoutes) -> None:
    read_prefix_asn_rows(data, raw, comments="#;")
