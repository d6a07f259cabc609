"""Notice intake over HTTP: the same formats, validation and identity as ``hostwatch ingest``.

The request body is streamed to a file in the state folder chunk by chunk (never held in
memory), then handed to :func:`hostwatch.ingest.pipeline.ingest_file`, which reads it as a stream
and inserts in batches: a 100,000-notice body costs a bounded amount of memory. Compressed
bodies (gzip, bzip2, xz) are recognised by the pipeline from their magic bytes. Bad lines come
back as ``rejects`` with line numbers and reasons; the good lines are all kept.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hostwatch.ingest.detect import FormatUndecided
from hostwatch.ingest.pipeline import IngestReport, ingest_file
from hostwatch.ingest.readers import READERS, FormatError
from hostwatch.web.api.common import Caller
from hostwatch.web.auth import Principal
from hostwatch.web.deps import Service, service
from hostwatch.web.security import enforce

router = APIRouter(prefix="/notices", tags=["notices"])
MAX_BODY = 4 * 1024**3  # refuse bodies beyond 4 GiB
REJECTS_SHOWN = 100


class NoticeIn(BaseModel):
    """One notice in the JSON Lines shape ``hostwatch ingest --format jsonl`` reads."""

    url: str = Field(max_length=65536)
    time: datetime | None = None
    ip: str | None = Field(None, max_length=45)
    classification: str | None = Field(None, max_length=64)
    reference: str | None = Field(None, max_length=1000)


def _limit(request: Request, principal: Principal) -> None:
    enforce(request.app.state.submit_limit, f"token:{principal.token_id}")


def _spool_dir(svc: Service) -> Path:
    base = Path(svc.settings.state_dir) / "uploads"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="notices-", dir=base))


def _report(report: IngestReport) -> dict[str, Any]:
    rejects: list[dict[str, str]] = []
    if report.rejects_path and report.rejects_path.exists():
        with open(report.rejects_path, encoding="utf-8", newline="") as handle:
            for n, row in enumerate(csv.DictReader(handle)):
                if n >= REJECTS_SHOWN:
                    break
                rejects.append({"line": row["line"], "reason": row["reason"]})
    return {
        "run_id": report.run_id,
        "format": report.format,
        "source": report.source,
        "lines": report.lines,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "reasons": report.reasons,
        "rejects": rejects,
        "stream_error": report.stream_error,
    }


def _ingest(path: Path, svc: Service, fmt: str, source: str | None) -> dict[str, Any]:
    try:
        report = ingest_file(
            path,
            svc.settings.database_url,
            format=fmt,
            source=source,
            rejects_path=path.with_name("rejects.csv"),
            clock=svc.clock,
        )
    except (FormatUndecided, FormatError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return _report(report)


@router.post("", summary="Submit one notice (validated like one JSON Lines record)")
async def submit_one(
    request: Request,
    principal: Caller,
    svc: Annotated[Service, Depends(service)],
    notice: Annotated[NoticeIn, Body()],
    source: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    await run_in_threadpool(_limit, request, principal)
    folder = _spool_dir(svc)
    try:
        path = folder / "notice.jsonl"
        record = notice.model_dump(exclude_none=True, mode="json")
        path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        result = await run_in_threadpool(_ingest, path, svc, "jsonl", source)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if result["rejected"]:
        raise HTTPException(422, {"rejected": result["rejects"]})
    return result


@router.post(
    "/bulk",
    summary="Submit a notice file as the request body (any `hostwatch ingest` format), streamed",
)
async def submit_bulk(
    request: Request,
    principal: Caller,
    svc: Annotated[Service, Depends(service)],
    format: Annotated[str, Query(max_length=32)] = "auto",
    source: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    if format != "auto" and format not in READERS:
        raise HTTPException(422, f"unknown format {format!r}; known: auto, {', '.join(READERS)}")
    await run_in_threadpool(_limit, request, principal)
    folder = _spool_dir(svc)
    try:
        path = folder / "body"
        size = 0
        with open(path, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise HTTPException(413, "body larger than 4 GiB")
                handle.write(chunk)
        if size == 0:
            raise HTTPException(422, "empty body")
        return await run_in_threadpool(_ingest, path, svc, format, source)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
