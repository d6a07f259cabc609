"""Streaming, resumable downloads that land whole or not at all.

Reference files are large (a RouteViews RIB is ~100 MB, the RIPE inetnum dump more). A transfer
is written to a ``.part`` file next to its destination; an interrupted one is continued with an
HTTP Range request on the next run; only a complete file that passed verification is renamed into
place by the caller.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from hostwatch.net.compressed import compression_of

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadError(Exception):
    """A download failed; the message names the URL and the reason."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A finished transfer (or a 304: ``not_modified`` and no file)."""

    path: Path | None
    sha256: str | None
    size: int
    etag: str | None
    last_modified: str | None
    not_modified: bool = False
    resumed_from: int = 0


def download(
    client: httpx.Client,
    url: str,
    part: Path,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Downloaded:
    """Fetch ``url`` into ``part``, continuing a previous partial transfer when there is one.

    ``progress(received, total)`` is called as bytes arrive (total None when the server does not
    say), so a command can draw a progress bar.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    headers = {}
    if have:
        headers["Range"] = f"bytes={have}-"
    else:
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Downloaded(None, None, 0, etag, last_modified, not_modified=True)
            if response.status_code == 416 and have:
                part.unlink()
                return download(client, url, part, progress=progress)
            if response.status_code == 206 and have:
                start = _range_start(response.headers.get("Content-Range", ""))
                if start != have:
                    raise DownloadError(f"{url}: server resumed at byte {start}, not {have}")
                mode = "ab"
            elif response.status_code == 200:
                mode, have = "wb", 0
            else:
                raise DownloadError(f"{url}: HTTP {response.status_code}")
            length = response.headers.get("Content-Length", "")
            total = have + int(length) if length.isdigit() else None
            received = have
            with open(part, mode) as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress(received, total)
            new_etag = response.headers.get("ETag")
            new_modified = response.headers.get("Last-Modified")
    except httpx.HTTPError as exc:
        raise DownloadError(f"{url}: {exc}; the partial file is kept for resuming") from exc
    digest = hashlib.sha256()
    with open(part, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return Downloaded(
        part, digest.hexdigest(), part.stat().st_size, new_etag, new_modified, resumed_from=have
    )


def check_complete(path: Path) -> str | None:
    """Why a compressed file is damaged or cut short (None when it decompresses to the end)."""
    kind = compression_of(path)
    opener = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}.get(kind or "")
    if opener is None:
        return None if path.stat().st_size else "empty file"
    try:
        with opener(path, "rb") as handle:
            while handle.read(1 << 20):
                pass
    except (OSError, EOFError, lzma.LZMAError) as exc:
        return f"{kind} stream is damaged or truncated ({exc})"
    return None


def list_directory(client: httpx.Client, url: str) -> list[str]:
    """File names linked from a directory index page (Apache, nginx or python's http.server)."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise DownloadError(f"{url}: {exc}") from exc
    if response.status_code == 404:
        return []
    if response.status_code != 200:
        raise DownloadError(f"{url}: HTTP {response.status_code}")
    names = re.findall(r'href="([^"?#]+)"', response.text, flags=re.IGNORECASE)
    return sorted({name.rstrip("/").rsplit("/", 1)[-1] for name in names if name.strip("/")})


def _range_start(value: str) -> int | None:
    match = _CONTENT_RANGE.match(value.strip())
    return int(match.group(1)) if match else None
