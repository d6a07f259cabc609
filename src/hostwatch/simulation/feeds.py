"""Write the simulated hotline's notices the way real sources deliver them.

Two sources, two formats: the hotline's own case tool exports IntelMQ events (JSON Lines), and a
partner hotline sends a CSV. Both go through ``hostwatch ingest`` like any real feed. Half the
phishing and malware reports came in through the hotline's public web form instead
(:func:`is_public_report`), as such reports mostly do: the same export, under a source configured
as unassessed, so their notices wait for the simulated analyst
(:mod:`hostwatch.simulation.analyst`). Child abuse material comes from the hotline's own analysts.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hostwatch import harmonisation as hw
from hostwatch.simulation.world import SIMULATED, SimNotice, stable_key

PUBLIC_SOURCE = "simulated-public-form"
"""The unassessed source: reports anyone can make through the hotline's web form."""
PUBLIC_KINDS = ("phishing", "malware-distribution")
"""What the public reports: the kinds public feeds carry."""


def is_public_report(notice: SimNotice) -> bool:
    """Whether the report came through the public form: half of the public kinds, chosen by the
    reference alone, so the same seed sends the same reports there."""
    return notice.classification in PUBLIC_KINDS and stable_key(notice.reference) % 2 == 0


def write_intelmq(
    notices: list[SimNotice], path: Path, feed_name: str = "simulated-hotline"
) -> Path:
    """IntelMQ events; ``feed.name`` becomes each notice's source."""
    with path.open("w", encoding="utf-8") as out:
        for notice in notices:
            event = {
                hw.FEED_NAME: feed_name,
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
