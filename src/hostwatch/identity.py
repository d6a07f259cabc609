"""The content-addressed identities of URLs and notices.

Both are digests of what was reported, so bulk intake can insert a URL and the notices naming it
in one pass with ``ON CONFLICT DO NOTHING``, and a file read twice, or by two workers, yields the
same keys without reading anything back. Kept free of the database layer: intake's reader
processes compute them and must start quickly.
"""

from __future__ import annotations

import hashlib


def url_id(canonical_url: str) -> int:
    """A stable 63-bit id from the canonical URL (fits a signed BIGINT)."""
    digest = hashlib.sha256(canonical_url.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def notice_key(source: str, reference: str | None, canonical_url: str, raw: str) -> str:
    """The identity of a notice across re-ingests (sha256 hex).

    With a reporter reference: source, reference and canonical URL. Without one the raw line
    stands in, so the same line from the same source is one notice however often it is read.
    """
    text = f"{source}\x1f{reference}\x1f{canonical_url}" if reference else f"{source}\x1f\x1f{raw}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
