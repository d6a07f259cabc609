"""pyasn's IPASN ``.dat`` files: ``;`` header lines, then ``prefix<TAB>asn``.

The header names the RIB the file was converted from (``; Original file : .../rib.20140513...``),
which dates the snapshot when the file name does not.
"""

from __future__ import annotations

from hostwatch.net.routing.routes import RawRoutes

from .text import read_prefix_asn_rows

FORMAT = "pyasn-dat"
MAGIC = b"; IP-ASN32-DAT"


def read(data: bytes, raw: RawRoutes) -> None:
    read_prefix_asn_rows(data, raw, comments=";#")


def header_source(data: bytes) -> str | None:
    """The 'Original file/source' named in the header, if any."""
    for line in data[:4096].decode("utf-8", "replace").splitlines():
        if not line.startswith(";"):
            break
        key, _, value = line[1:].partition(":")
        if key.strip().lower() in {"original file", "original source"} and value.strip():
            return value.strip()
    return None
