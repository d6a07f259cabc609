"""MRT RIB dumps (RFC 6396): TABLE_DUMP (type 12) and TABLE_DUMP_V2 (type 13), IPv4 and IPv6.

The origin of a route is read from its AS_PATH the way pyasn's converter does, so tables built
here answer like pyasn's: take the last path segment; for an AS_SEQUENCE the last AS that is not
private/reserved (pyasn's ``is_asn_bogus``), for an AS_SET all such members (pyasn then writes one
of them, the first in Python set order; here that one is the primary origin and all are kept); if a
segment yields nothing, the one before it is tried. Confederation segments are skipped.

The primary origin of a prefix is the one of its first RIB entry (TABLE_DUMP: its first record),
as in pyasn; the origins of all other entries are kept as MOAS origins. A file cut short is read up
to the last complete record, with a message.
"""

from __future__ import annotations

import socket
import struct
from datetime import UTC, datetime

from hostwatch.net.routing.routes import RawRoutes

FORMAT = "mrt"

TABLE_DUMP = 12
TABLE_DUMP_V2 = 13
_PEER_INDEX_TABLE = 1
_RIB_IPV4_UNICAST = 2
_RIB_IPV6_UNICAST = 4
_AS_PATH = 2
_AS_SET = 1
_AS_SEQUENCE = 2
_HEADER = struct.Struct(">IHHI")


def looks_like(data: bytes) -> bool:
    if len(data) < _HEADER.size:
        return False
    _, mrt_type, subtype, length = _HEADER.unpack_from(data)
    if mrt_type == TABLE_DUMP:
        return subtype in (1, 2) and length < 1 << 20
    return mrt_type == TABLE_DUMP_V2 and 1 <= subtype <= 11 and length < 1 << 24


def first_timestamp(data: bytes) -> datetime | None:
    if len(data) < _HEADER.size:
        return None
    return datetime.fromtimestamp(_HEADER.unpack_from(data)[0], UTC)


def is_bogus_asn(asn: int) -> bool:
    """pyasn's rule: 0, documentation/private/reserved ranges and >= 1,000,000 are not origins."""
    return asn <= 0 or 64496 <= asn <= 131071 or asn >= 1_000_000


def read(data: bytes, raw: RawRoutes) -> None:
    routes: dict[tuple[str, int], list[int]] = {}
    first_record: dict[tuple[str, int], int] = {}
    skipped_types: dict[tuple[int, int], int] = {}
    pos = 0
    record = 0
    view = memoryview(data)
    while pos < len(data):
        record += 1
        if len(data) - pos < _HEADER.size:
            raw.problem(record, f"file ends inside the header of MRT record {record} (truncated)")
            break
        _, mrt_type, subtype, length = _HEADER.unpack_from(data, pos)
        body_start = pos + _HEADER.size
        if body_start + length > len(data):
            raw.problem(record, f"file ends inside MRT record {record} (truncated); rest not read")
            break
        body = view[body_start : body_start + length]
        pos = body_start + length
        try:
            found = _record_routes(mrt_type, subtype, body)
        except (struct.error, IndexError, ValueError) as exc:
            raw.problem(record, f"malformed MRT record ({exc}); skipped")
            continue
        if found is None:
            skipped_types[(mrt_type, subtype)] = skipped_types.get((mrt_type, subtype), 0) + 1
            continue
        key, origins = found
        if not origins:
            raw.problem(record, f"no origin AS in the AS_PATH of {key[0]}/{key[1]}; skipped")
            continue
        known = routes.setdefault(key, [])
        first_record.setdefault(key, record)
        known.extend(a for a in origins if a not in known)
    for (mrt_type, subtype), count in sorted(skipped_types.items()):
        if (mrt_type, subtype) != (TABLE_DUMP_V2, _PEER_INDEX_TABLE):
            raw.problem(0, f"{count} MRT records of type {mrt_type}/{subtype} are not RIB entries")
    for key, origins in routes.items():
        raw.add(key[0], key[1], tuple(origins), first_record[key])


def _record_routes(
    mrt_type: int, subtype: int, body: memoryview
) -> tuple[tuple[str, int], list[int]] | None:
    if mrt_type == TABLE_DUMP and subtype in (1, 2):
        return _table_dump(subtype, body)
    if mrt_type == TABLE_DUMP_V2 and subtype in (_RIB_IPV4_UNICAST, _RIB_IPV6_UNICAST):
        return _table_dump_v2(subtype, body)
    return None


def _table_dump(subtype: int, body: memoryview) -> tuple[tuple[str, int], list[int]]:
    width = 4 if subtype == 1 else 16
    prefix = _address(bytes(body[4 : 4 + width]), width)
    plen = body[4 + width]
    at = 4 + width + 6 + width + 2
    (attr_len,) = struct.unpack_from(">H", body, at)
    attrs = body[at + 2 : at + 2 + attr_len]
    return (prefix, plen), _origins(attrs, asn_size=2)


def _table_dump_v2(subtype: int, body: memoryview) -> tuple[tuple[str, int], list[int]]:
    width = 4 if subtype == _RIB_IPV4_UNICAST else 16
    plen = body[4]
    octets = (plen + 7) // 8
    if plen > width * 8:
        raise ValueError(f"prefix length {plen}")
    prefix = _address(bytes(body[5 : 5 + octets]) + bytes(width - octets), width)
    at = 5 + octets
    (count,) = struct.unpack_from(">H", body, at)
    at += 2
    origins: list[int] = []
    for _ in range(count):
        _, _, attr_len = struct.unpack_from(">HIH", body, at)
        attrs = body[at + 8 : at + 8 + attr_len]
        if len(attrs) != attr_len:
            raise ValueError("RIB entry runs past the record")
        at += 8 + attr_len
        origins.extend(a for a in _origins(attrs, asn_size=4) if a not in origins)
    return (prefix, plen), origins


def _address(packed: bytes, width: int) -> str:
    return socket.inet_ntop(socket.AF_INET if width == 4 else socket.AF_INET6, packed)


def _origins(attrs: memoryview, asn_size: int) -> list[int]:
    """Origin AS(es) of one route from its path attributes (pyasn's rule, see module doc)."""
    at = 0
    while at + 3 <= len(attrs):
        flags, code = attrs[at], attrs[at + 1]
        if flags & 0x10:
            (length,) = struct.unpack_from(">H", attrs, at + 2)
            at += 4
        else:
            length = attrs[at + 2]
            at += 3
        if code == _AS_PATH:
            return _path_origin(attrs[at : at + length], asn_size)
        at += length
    return []


def _path_origin(path: memoryview, asn_size: int) -> list[int]:
    fmt = ">H" if asn_size == 2 else ">I"
    segments: list[tuple[int, list[int]]] = []
    at = 0
    while at + 2 <= len(path):
        seg_type, count = path[at], path[at + 1]
        at += 2
        asns = [struct.unpack_from(fmt, path, at + i * asn_size)[0] for i in range(count)]
        at += count * asn_size
        segments.append((seg_type, asns))
    for seg_type, asns in reversed(segments):
        if seg_type == _AS_SEQUENCE:
            for asn in reversed(asns):
                if not is_bogus_asn(asn):
                    return [asn]
        elif seg_type == _AS_SET:
            members = {asn for asn in asns if not is_bogus_asn(asn)}
            if members:
                return list(members)
    return []
