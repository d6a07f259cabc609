"""A URL that starts answering from another hoster's address is attributed anew and moves.

Real parts: the simulation's DNS server and web servers on loopback, reference data in the real
formats (routing table, AS names, RPSL), intake, attribution and the workflow pass.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hostwatch.attribution.reference import register_snapshot
from hostwatch.clock import Clock
from hostwatch.ingest.pipeline import ingest_file
from hostwatch.model import Attribution, Case, Provider
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings, configure
from hostwatch.simulation.reference import write_reference
from hostwatch.simulation.servers import HostingState, SimulatedInternet, free_port
from hostwatch.simulation.world import PARTIES
from hostwatch.takedown.checker import Politeness
from hostwatch.takedown.workflow import run_pass

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def test_move_to_another_hoster_holds_the_case_and_opens_one_for_the_new_party(
    settings: Settings, tmp_path: Path
) -> None:
    old, new = PARTIES[0], PARTIES[5]  # Polder Datacenter -> Offshore Bulletproof
    state = HostingState()
    port = free_port()
    with SimulatedInternet(state, [old.server_ip, new.server_ip], port) as net:
        settings = configure(allow_networks=["127.0.0.0/8"], resolver=net.resolver)
        files = write_reference(PARTIES, tmp_path / "ref", T0 - timedelta(days=1))
        with session_scope(settings.database_url) as session:
            for kind in ("routing", "asnames", "rpsl"):
                register_snapshot(
                    session, kind, files[kind], loaded_at=T0, valid_at=T0 - timedelta(days=1)
                )
        host = "files1.polder-dc.example"
        url = f"http://{host}:{port}/x/1.html"
        state.point(host, old.server_ip)
        state.serve(url)
        feed = tmp_path / "notices.csv"
        feed.write_text(f"url,time,classification\n{url},{T0.isoformat()},csam\n")
        ingest_file(feed, settings.database_url, format="csv")
        polite = Politeness(per_host=4, min_interval=0.0)

        run_pass(settings, Clock.at(T0), politeness=polite)
        state.point(host, new.server_ip)  # the site owner moved it; it is still online
        run_pass(settings, Clock.at(T0 + timedelta(hours=6)), politeness=polite)

    with session_scope(settings.database_url) as session:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        names = {p.id: p.name for p in session.scalars(select(Provider))}
        ips = [a.ip for a in session.scalars(select(Attribution).order_by(Attribution.id))]
    assert ips == [old.server_ip, new.server_ip]
    assert [names.get(c.provider_id) for c in cases] == [old.name, new.name]
    assert cases[0].state == "moved" and cases[0].held
    assert "hoster changed" in (cases[0].hold_reason or "")
    assert cases[1].state != "moved" and not cases[1].held
