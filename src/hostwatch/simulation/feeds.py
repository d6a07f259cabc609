"""Write the simulated hotline's notices the way real sources deliver them.

Two sources, two formats: the hotline's own case tool exports IntelMQ events (JSON Lines), and a
partner hotline sends a CSV. Both go through ``hostwatch ingest`` like any real feed. One report
in :data:`PUBLIC_SHARE` came in through the hotline's public web form instead
(:func:`is_public_report`): the same export, under a source configured as unassessed, so its
notice waits for the simulated analyst (:mod:`hostwatch.simulation.analyst`).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hostwatch.simulation.world import SIMULATED, SimNotice, stable_key

PUBLIC_SOURCE = "simulated-public-form"
"""The unassessed source: reports anyone can make through the hotline's web form."""
PUBLIC_SHARE = 5
"""One report in this many came through the public form (chosen by its reference)."""


def is_public_report(notice: SimNotice) -> bool:
    """Whether the report came through the public form: decided by its reference alone, so
    the same seed sends the same reports there."""
    return stable_key(notice.reference) % PUBLIC_SHARE == 0


def write_intelmq(
    notices: list[SimNotice], path: Path, feed_name: str = "simulated-hotline"
) -> Path:
    """IntelMQ events; ``feed.name`` becomes each notice's source."""
    with path.open("w", encoding="utf-8") as out:
        for notice in notices:
            event = {
                "feed.name": feed_name,
                "feed.provider": SIMULATED,
                "source.url": notice.url,
                "source.fqdn": notice.host,
                "classification.type": notice.classification,
                "time.source": notice.received_at.isoformat(),
                "event_description.text": "simulated report for the hostwatch demo",
                "extra.reference": notice.reference,
            }
            out.write(json.dumps(event) + "\n")
    return path


def write_partner_csv(notices: list[SimNotice], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["reference", "url", "time", "classification"])
        for notice in notices:
            writer.writerow(
                [
                    notice.reference,
                    notice.url,
                    notice.received_at.isoformat(),
                    notice.classification,
                ]
            )
    return path
