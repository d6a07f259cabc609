"""Write the simulated hotline's notices the way real sources deliver them.

Two sources, two formats: the hotline's own case tool exports IntelMQ events (JSON Lines), and a
partner hotline sends a CSV. Both go through ``hostwatch ingest`` like any real feed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hostwatch import harmonisation as hw
from hostwatch.simulation.world import SIMULATED, SimNotice


def write_intelmq(notices: list[SimNotice], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for notice in notices:
            event = {
                hw.FEED_NAME: "simulated-hotline",
                hw.FEED_PROVIDER: SIMULATED,
                hw.SOURCE_URL: notice.url,
                hw.SOURCE_FQDN: notice.host,
                hw.CLASSIFICATION_TYPE: notice.classification,
                hw.TIME_SOURCE: notice.received_at.isoformat(),
                hw.EVENT_DESCRIPTION_TEXT: "simulated report for the hostwatch demo",
                hw.EXTRA_REFERENCE: notice.reference,
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
