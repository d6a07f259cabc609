"""Write the simulated hotline's notices the way real sources deliver them.

Two sources, two formats: the hotline's own case tool exports IntelMQ events (JSON Lines), and a
partner hotline sends a CSV. Both go through ``hostwatch ingest`` like any real feed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hostwatch.simulation.world import SIMULATED, SimNotice


def write_intelmq(notices: list[SimNotice], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for notice in notices:
            event = {
                "feed.name": "simulated-hotline",
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
