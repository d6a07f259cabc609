"""Reference data imported under any name is what attribution uses (issue 14, item 8)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from hostwatch.attribution.batch import attribute_pending
from hostwatch.attribution.record import latest_for_notices
from hostwatch.clock import Clock
from hostwatch.model import Provider, Snapshot
from hostwatch.model.db import session_scope
from hostwatch.net.fetch.run import import_reference_files
from hostwatch.net.fetch.store import ReferenceStore

WHEN = datetime(2014, 6, 1, 12, tzinfo=UTC)


def test_as_names_imported_under_another_name_name_the_provider(
    settings, shared_data: Path, tmp_path: Path, add_notices
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    table = folder / "routes.gz"  # the 2014 pyasn table; its header dates it
    shutil.copyfile(shared_data / "02_pyasn-routeviews-ipasn/ipasn_20140513.dat.gz", table)
    names = folder / "export (3).gz"  # bgp.tools asns.csv.gz, as a browser names a download
    bgptools = "08_asn-names-classes-prefixes-2026/bgp.tools-opendb_2026-05-31"
    shutil.copyfile(shared_data / bgptools / "asns.csv.gz", names)
    store = ReferenceStore.under(settings.state_dir)
    outcomes = import_reference_files(
        store, [table, names], day=date(2014, 5, 1), clock=Clock.at("2026-11-01T00:00:00Z")
    )
    assert [o.status for o in outcomes] == ["imported", "imported"], outcomes
    (nid,) = add_notices([("http://8.8.8.8/", WHEN, None)])
    attribute_pending(settings, progress=False)
    with session_scope(settings.database_url) as session:
        row = latest_for_notices(session, [nid])[nid]
        provider = session.get(Provider, row.provider_id)
        snapshots = {s.kind: s for s in session.scalars(select(Snapshot))}
    assert row.origin_asn == 15169 and row.as_name == "Google LLC"
    assert provider is not None and provider.name == "Google LLC"
    assert row.sources["as_name"].startswith("asnames:")
    assert snapshots["asnames"].name == "export (3).gz"
    assert snapshots["routing"].name == "routes.gz"
    assert snapshots["routing"].path.endswith(".npz")  # attribution reads the binary form
