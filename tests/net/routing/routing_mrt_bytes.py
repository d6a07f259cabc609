"""MRT records written byte by byte (RFC 6396), for loader tests that need exact control."""

from __future__ import annotations

import socket
import struct


def as_path(*segments: tuple[int, list[int]], asn_size: int = 4) -> bytes:
    """An AS_PATH attribute from (segment type, ASNs) pairs; type 1 = AS_SET, 2 = AS_SEQUENCE."""
    fmt = ">H" if asn_size == 2 else ">I"
    body = b"".join(
        bytes([kind, len(asns)]) + b"".join(struct.pack(fmt, a) for a in asns)
        for kind, asns in segments
    )
    origin_attr = bytes([0x40, 1, 1, 0])
    return origin_attr + bytes([0x50, 2]) + struct.pack(">H", len(body)) + body


def mrt_record(mrt_type: int, subtype: int, body: bytes, timestamp: int = 1_400_000_000) -> bytes:
    return struct.pack(">IHHI", timestamp, mrt_type, subtype, len(body)) + body


def td2_peer_index() -> bytes:
    body = struct.pack(">IH", 0x0A000001, 0) + struct.pack(">H", 0)
    return mrt_record(13, 1, body)


def td2_rib(prefix: str, entries: list[bytes], seq: int = 0) -> bytes:
    """A TABLE_DUMP_V2 RIB record; ``entries`` are AS_PATH attribute blobs (one per peer)."""
    address, length = prefix.split("/")
    v6 = ":" in address
    packed = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, address)
    plen = int(length)
    body = struct.pack(">IB", seq, plen) + packed[: (plen + 7) // 8]
    body += struct.pack(">H", len(entries))
    for peer, attrs in enumerate(entries):
        body += struct.pack(">HIH", peer, 1_400_000_000, len(attrs)) + attrs
    return mrt_record(13, 4 if v6 else 2, body)


def td1_rib(prefix: str, attrs: bytes) -> bytes:
    """A TABLE_DUMP (v1) IPv4 record with 2-byte ASNs in ``attrs``."""
    address, length = prefix.split("/")
    body = struct.pack(">HH", 0, 0) + socket.inet_aton(address)
    body += struct.pack(">BBI", int(length), 1, 1_200_000_000)
    body += socket.inet_aton("192.0.2.1") + struct.pack(">HH", 65000, len(attrs)) + attrs
    return mrt_record(12, 1, body)
