"""Reference data for the simulated world, in the formats real sources publish.

A routing table (``prefix<TAB>asn``), an AS name list (pyasn's JSON) and a RIPE-style RPSL dump
with the allocation chain (network holder -> reseller), organisations and abuse roles. The demo
catalogues them as dated snapshots, so attribution runs through exactly the code that reads the
real RouteViews, AS name and RIPE files.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import datetime
from pathlib import Path

from hostwatch.simulation.world import SIMULATED, Party


def _handle(party: Party) -> str:
    return re.sub(r"[^A-Z0-9]", "", party.name.upper())[:12]


def _range(network: str) -> str:
    net = ipaddress.ip_network(network)
    return f"{net.network_address} - {net.broadcast_address}"


def write_reference(
    parties: tuple[Party, ...], folder: Path, valid_at: datetime
) -> dict[str, Path]:
    """Write the reference files, named with the date they describe; returns kind -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    day = f"{valid_at:%Y%m%d}"
    routing = folder / f"simulated_pfx2as_{day}.tsv"
    holders = [p for p in parties if p.parent is None]
    routing.write_text("prefix\torigin_asn\n" + "".join(f"{p.network}\t{p.asn}\n" for p in holders))
    names = folder / "asnames.json"  # the name pyasn gives its list; the date is given apart
    names.write_text(
        json.dumps({str(p.asn): f"{_handle(p)}-AS - {p.name}, {p.country}" for p in holders})
    )
    cdn = folder / "tags-cdn.csv"  # bgp.tools' tag list: how attribution knows a CDN
    cdn.write_text("".join(f"AS{p.asn},{p.name}\n" for p in holders if p.is_cdn))
    rpsl = folder / f"simulated.db.{day}.rpsl"
    objects = []
    for party in parties:
        handle = _handle(party)
        status = "SUB-ALLOCATED PA" if party.parent else "ALLOCATED PA"
        objects.append(
            f"inetnum:        {_range(party.network)}\n"
            f"netname:        {handle}-NET\n"
            f"country:        {party.country}\n"
            f"org:            ORG-{handle}-SIM\n"
            f"abuse-c:        AR-{handle}-SIM\n"
            f"status:         {status}\n"
            f"remarks:        {SIMULATED} data for the hostwatch demo\n"
            f"source:         {SIMULATED}\n"
        )
        objects.append(
            f"organisation:   ORG-{handle}-SIM\n"
            f"org-name:       {party.name}\n"
            f"country:        {party.country}\n"
            f"org-type:       {'OTHER' if party.parent else 'LIR'}\n"
            f"abuse-c:        AR-{handle}-SIM\n"
            f"source:         {SIMULATED}\n"
        )
        objects.append(
            f"role:           {party.name} abuse desk\n"
            f"nic-hdl:        AR-{handle}-SIM\n"
            f"abuse-mailbox:  {party.abuse}\n"
            f"source:         {SIMULATED}\n"
        )
    for party in holders:
        objects.append(
            f"aut-num:        AS{party.asn}\n"
            f"as-name:        {_handle(party)}-AS\n"
            f"org:            ORG-{_handle(party)}-SIM\n"
            f"source:         {SIMULATED}\n"
        )
    rpsl.write_text("\n".join(objects))
    return {"routing": routing, "asnames": names, "cdn-tags": cdn, "rpsl": rpsl}
