"""The delivery journal: a local, durable note of every message the mail server accepted.

A delivery is one database transaction around the SMTP conversation: lock the message, send,
record the outcome, commit. A process killed after the server's ``250`` and before the commit
rolled back the record, and the message went out again after the restart. The journal closes
that window: right after the ``250`` (before QUIT, before the commit) one line with the
message's Message-ID is appended and fsynced. On restart a message whose Message-ID is in the
journal is recorded as sent, at the time the journal gives, without being sent again.

What remains at-least-once, by the nature of SMTP: a kill after the server took the DATA and
before its ``250`` reached us (or before the journal line reached the disk) leaves no trace on
our side, and SMTP offers no way to ask a server whether it accepted a Message-ID; that message
is sent again, with the same Message-ID, which receivers and ticket systems treat as the same
mail. The journal is per machine (``HOSTWATCH_STATE_DIR``): a message retried by a worker on
another machine after a crash is not covered either.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path

JOURNAL_NAME = "delivery-journal.jsonl"


class DeliveryJournal:
    """Append-only JSON Lines file of ``{"message_id", "accepted_at", "transport"}``; shared by
    the processes on this machine (each reads what the others appended since its last look)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._accepted: dict[str, datetime] = {}
        self._offset = 0
        self._lock = threading.Lock()

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> DeliveryJournal:
        return cls(Path(state_dir) / JOURNAL_NAME)

    def accepted(self, message_id: str, at: datetime, transport: str) -> None:
        """Note, durably, that the server accepted ``message_id`` (call right after its 250)."""
        line = json.dumps(
            {"message_id": message_id, "accepted_at": at.isoformat(), "transport": transport}
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            self._accepted[message_id] = at

    def accepted_at(self, message_id: str) -> datetime | None:
        """When the server accepted ``message_id``, if this machine ever noted it."""
        with self._lock:
            if message_id not in self._accepted:
                self._read_new()
            return self._accepted.get(message_id)

    def _read_new(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                handle.seek(self._offset)
                for line in handle:
                    if not line.endswith("\n"):  # a line cut by a crash: it never finished
                        break
                    entry = json.loads(line)
                    self._accepted[entry["message_id"]] = datetime.fromisoformat(
                        entry["accepted_at"]
                    )
                    self._offset += len(line.encode("utf-8"))
        except FileNotFoundError:
            return
