"""Paging, ETags and JSON responses shared by every API router.

Lists are JSON arrays (the same shape as ``hostwatch cases --format json``); paging travels in
headers: ``?limit=`` (capped) and ``?cursor=`` (the last id seen), with the next cursor in
``X-Next-Cursor`` and a ``Link: <...>; rel="next"`` header. Every JSON answer carries a strong
ETag over its bytes, so a client repeating ``If-None-Match`` gets ``304`` and no body.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, Response

from hostwatch.web.auth import Principal
from hostwatch.web.deps import api_principal
from hostwatch.web.disclosure import API_ROUTES, may_call

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


class Page:
    """``limit`` and ``cursor`` from the query string, validated (take it as :data:`Paging`)."""

    def __init__(self, limit: int, cursor: str | None) -> None:
        self.limit = limit
        if cursor is not None and not cursor.isdigit():
            raise HTTPException(400, "cursor must be the id given in X-Next-Cursor")
        self.after = int(cursor) if cursor else None


async def _paging(
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=20),
) -> Page:
    """An ``async`` dependency: FastAPI runs a plain one (a class too) in a worker thread, and
    that hand-over cost more than the rest of a request answered from memory."""
    return Page(limit, cursor)


Paging = Annotated[Page, Depends(_paging)]


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    return header.strip() == "*" or etag in [part.strip() for part in header.split(",")]


def json_response(
    request: Request,
    payload: Any,
    *,
    next_cursor: int | None = None,
) -> Response:
    """The JSON answer, or 304 when the client already holds it."""
    return revalidated(request, json_document(request, payload, next_cursor=next_cursor))


def json_document(
    request: Request,
    payload: Any,
    *,
    next_cursor: int | None = None,
) -> Response:
    """The full JSON answer (200) with its ETag and paging headers."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    etag = _etag(body)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if next_cursor is not None:
        headers["X-Next-Cursor"] = str(next_cursor)
        nxt = request.url.include_query_params(cursor=str(next_cursor))
        headers["Link"] = f'<{nxt}>; rel="next"'
    return Response(body, media_type="application/json", headers=headers)


def revalidated(request: Request, response: Response) -> Response:
    """``response``, or ``304`` with its headers and no body when the client holds its ETag."""
    etag = response.headers.get("etag")
    if etag is None or not _matches(request, etag):
        return response
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return Response(status_code=304, headers=headers)


def trim(items: list[Any], page: Page) -> tuple[list[Any], bool]:
    """Drop the one extra row fetched to learn whether another page follows."""
    if len(items) > page.limit:
        return items[: page.limit], True
    return items, False


async def api_caller(
    request: Request, principal: Annotated[Principal, Depends(api_principal)]
) -> Principal:
    """The bearer's principal, if the disclosure policy lets its role call the matched route."""
    path = getattr(request.scope.get("route"), "path", "")
    if not may_call(API_ROUTES, request.method, path, principal.role):
        raise HTTPException(403, f"role {principal.role!r} may not use this endpoint")
    return principal


Caller = Annotated[Principal, Depends(api_caller)]
"""Every API handler's principal: authenticated, then admitted by :data:`API_ROUTES`."""
