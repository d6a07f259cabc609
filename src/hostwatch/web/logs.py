"""Structured logs for ``hostwatch serve``: one JSON object per line, credentials redacted.

The redaction filter sits on the handler, so it sees every record whatever logger made it
(uvicorn, FastAPI, SQLAlchemy, hostwatch).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import IO

from hostwatch.web.security import RedactingFilter


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            payload = json.loads(message) if message.startswith("{") else {"message": message}
        except ValueError:
            payload = {"message": message}
        if not isinstance(payload, dict):
            payload = {"message": message}
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            **payload,
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", stream: IO[str] | None = None) -> logging.Handler:
    """Route hostwatch's and uvicorn's loggers to one redacting JSON handler."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    return handler
