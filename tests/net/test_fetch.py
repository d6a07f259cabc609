"""``hostwatch data fetch`` and ``data import`` against a real HTTP server on loopback.

The server serves small generated files in the real directory layout of each public source, with
directory listings, Range requests and ETags as the real archives have them.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import shutil
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.clock import Clock
from hostwatch.net.fetch.detect import detect_kind
from hostwatch.net.fetch.run import fetch_reference_data, import_reference_files
from hostwatch.net.fetch.sources import DEFAULT_BASE_URLS, RIRS
from hostwatch.net.fetch.store import ReferenceStore
from hostwatch.net.rdap import RdapBootstrap

NOW = "2024-01-01T12:00:00Z"


def _mrt() -> bytes:
    """A TABLE_DUMP_V2 PEER_INDEX_TABLE record (collector id, empty view name, no peers) and
    one RIB_IPV4_UNICAST record: 193.0.0.0/21 with the AS path 3333."""
    body = bytes([192, 0, 2, 1]) + struct.pack("!HH", 0, 0)
    index = struct.pack("!IHHI", 1704067200, 13, 1, len(body)) + body
    segment = bytes([2, 1]) + struct.pack("!I", 3333)
    attrs = bytes([0x40, 1, 1, 0, 0x50, 2]) + struct.pack("!H", len(segment)) + segment
    entry = struct.pack("!HIH", 0, 1704067200, len(attrs)) + attrs
    rib = struct.pack("!IB", 0, 21) + bytes([193, 0, 0]) + struct.pack("!H", 1) + entry
    return index + struct.pack("!IHHI", 1704067200, 13, 2, len(rib)) + rib


def _delegated(rir: str) -> bytes:
    return (
        f"2|{rir}|20240101|2|19830705|20240101|+0000\n"
        f"{rir}|*|ipv4|*|1|summary\n"
        f"{rir}|NL|ipv4|193.0.0.0|2048|19930901|allocated|org-1\n"
        f"{rir}|NL|asn|3333|1|19930901|allocated|org-1\n"
    ).encode()


def _layout() -> dict[str, bytes]:
    as2org = (
        b"# format:org_id|changed|org_name|country|source\nX|20240101|X Ltd|NL|RIPE\n"
        b"# format:aut|changed|aut_name|org_id|opaque_id|source\n3333|20240101|X-AS|X|x|RIPE\n"
    )
    files = {
        "bgpdata/2024.01/RIBS/rib.20240101.0000.bz2": bz2.compress(_mrt()),
        "bgpdata/2024.01/RIBS/rib.20240101.0200.bz2": bz2.compress(_mrt()),
        "bgpdata/2024.01/RIBS/rib.20240102.0000.bz2": bz2.compress(_mrt()),
        "route-views6/bgpdata/2024.01/RIBS/rib.20240101.0000.bz2": bz2.compress(_mrt()),
        "rrc00/2024.01/bview.20240101.0000.gz": gzip.compress(_mrt()),
        "rrc00/2024.01/bview.20240101.0800.gz": gzip.compress(_mrt()),
        "datasets/routing/routeviews-prefix2as/2024/01/routeviews-rv2-20240101-1200.pfx2as.gz": (
            gzip.compress(b"1.0.0.0\t24\t13335\n8.8.8.0\t24\t15169\n")
        ),
        "datasets/routing/routeviews-prefix2as/2024/01/routeviews-rv2-20240102-1000.pfx2as.gz": (
            gzip.compress(b"1.0.0.0\t24\t13335\n")
        ),
        "datasets/routing/routeviews6-prefix2as/2024/01/routeviews-rv6-20240101-1200.pfx2as.gz": (
            gzip.compress(b"2001:db8::\t32\t64500\n")
        ),
        "datasets/as-organizations/20231001.as-org2info.txt.gz": gzip.compress(as2org),
        "datasets/as-organizations/20240101.as-org2info.txt.gz": gzip.compress(as2org),
        "datasets/as-organizations/20240401.as-org2info.txt.gz": gzip.compress(as2org),
    }
    stats = {
        "afrinic": "pub/stats/afrinic",
        "apnic": "stats/apnic",
        "arin": "pub/stats/arin",
        "lacnic": "pub/stats/lacnic",
        "ripencc": "pub/stats/ripencc",
    }
    for rir, folder in stats.items():
        files[f"{folder}/delegated-{rir}-extended-latest"] = _delegated(rir)
    for name in ("inetnum", "inet6num", "organisation", "role", "aut-num", "irt"):
        rows = "".join(
            f"{name}: OBJECT-{i}\nremarks: filler so the file is worth resuming\n\n"
            for i in range(3000)
        )
        files[f"ripe/dbase/split/ripe.db.{name}.gz"] = gzip.compress(rows.encode(), mtime=0)
    for name, entries in (
        ("ipv4", ["193.0.0.0/8"]),
        ("ipv6", ["2001:600::/23"]),
        ("asn", ["3333"]),
    ):
        document = {
            "description": f"RDAP bootstrap file for {name} allocations",
            "publication": "2024-01-01T00:00:00Z",
            "services": [[entries, ["https://rdap.db.ripe.net/"]]],
        }
        files[f"rdap/{name}.json"] = json.dumps(document).encode()
    return files


@dataclass
class Archive:
    """The files served, faults to inject, and what the server saw (path, status, range)."""

    root: Path
    base_url: str = ""
    cut_once: set[str] = field(default_factory=set)
    log: list[tuple[str, int, str | None]] = field(default_factory=list)

    def file_downloads(self) -> list[str]:
        return [p for p, status, _ in self.log if status in (200, 206) and not p.endswith("/")]


def _handler(archive: Archive) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = archive.root / self.path.lstrip("/")
            ranged = self.headers.get("Range")
            if path.is_dir():
                links = "".join(
                    f'<a href="{p.name}{"/" if p.is_dir() else ""}">{p.name}</a>\n'
                    for p in sorted(path.iterdir())
                )
                self._send(200, f"<html><body>{links}</body></html>".encode(), "text/html")
                return
            if not path.is_file():
                self._send(404, b"<html>404</html>", "text/html")
                return
            data = path.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                archive.log.append((self.path, 304, ranged))
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            if self.path in archive.cut_once:
                archive.cut_once.discard(self.path)
                archive.log.append((self.path, 200, ranged))
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            if ranged and ranged.startswith("bytes="):
                start = int(ranged[6:].split("-")[0])
                if start >= len(data):
                    self._send(416, b"", "text/plain")
                    return
                archive.log.append((self.path, 206, ranged))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(data[start:])
                return
            self._send(200, data, "application/octet-stream", etag)

        def _send(self, status: int, body: bytes, kind: str, etag: str | None = None) -> None:
            if not self.path.endswith("/"):
                archive.log.append((self.path, status, self.headers.get("Range")))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def archive(tmp_path) -> Iterator[Archive]:
    root = tmp_path / "archive"
    for relative, data in _layout().items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    served = Archive(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def _fetch(archive: Archive, store: ReferenceStore, **options):
    bases = {name: archive.base_url for name in DEFAULT_BASE_URLS}
    return fetch_reference_data(store, base_urls=bases, clock=Clock.at(NOW), **options)


def test_fetch_downloads_every_source_into_the_dated_store(archive, tmp_path):
    store = ReferenceStore.under(tmp_path / "state")
    seen: dict[str, tuple[int, int | None]] = {}
    outcomes = _fetch(
        archive, store, progress=lambda url, got, total: seen.__setitem__(url, (got, total))
    )
    assert [o for o in outcomes if o.status != "downloaded"] == []
    inetnum = f"{archive.base_url}/ripe/dbase/split/ripe.db.inetnum.gz"
    size = (archive.root / "ripe/dbase/split/ripe.db.inetnum.gz").stat().st_size
    assert seen[inetnum] == (size, size)
    stored = {e.path: e for e in store.entries()}
    expected = {
        "rib/route-views2.rib.20240101.0000.bz2": "bgpdata/2024.01/RIBS/rib.20240101.0000.bz2",
        "rib/route-views6.rib.20240101.0000.bz2": (
            "route-views6/bgpdata/2024.01/RIBS/rib.20240101.0000.bz2"
        ),
        "ris/rrc00.bview.20240101.0000.gz": "rrc00/2024.01/bview.20240101.0000.gz",
        "pfx2as/routeviews-rv2-20240101-1200.pfx2as.gz": (
            "datasets/routing/routeviews-prefix2as/2024/01/routeviews-rv2-20240101-1200.pfx2as.gz"
        ),
        "pfx2as/routeviews-rv6-20240101-1200.pfx2as.gz": (
            "datasets/routing/routeviews6-prefix2as/2024/01/routeviews-rv6-20240101-1200.pfx2as.gz"
        ),
        "as2org/20240101.as-org2info.txt.gz": (
            "datasets/as-organizations/20240101.as-org2info.txt.gz"
        ),
        "delegated/delegated-ripencc-extended-20240101": (
            "pub/stats/ripencc/delegated-ripencc-extended-latest"
        ),
        "delegated/delegated-apnic-extended-20240101": (
            "stats/apnic/delegated-apnic-extended-latest"
        ),
        "ripedb/ripe.db.inetnum.20240101.gz": "ripe/dbase/split/ripe.db.inetnum.gz",
        "rdap-bootstrap/ipv4.json": "rdap/ipv4.json",
    }
    for relative, origin in expected.items():
        entry = stored[relative]
        served = (archive.root / origin).read_bytes()
        assert (store.root / relative).read_bytes() == served
        assert entry.sha256 == hashlib.sha256(served).hexdigest()
        assert entry.source == f"{archive.base_url}/{origin}"
        assert entry.snapshot == "2024-01-01"
    assert len([e for e in stored.values() if e.kind == "delegated"]) == len(RIRS)
    assert len([e for e in stored.values() if e.kind == "ripedb"]) == 6
    assert not list(store.root.rglob("*.part")) and not list(store.root.rglob("*.tmp"))
    assert store.latest("as2org", date(2024, 6, 1)).path == "as2org/20240101.as-org2info.txt.gz"
    assert store.latest("as2org", date(2023, 1, 1)) is None
    ripe_files = store.newest_day_paths("ripedb", date(2024, 1, 1))
    assert sorted(p.name for p in ripe_files)[:2] == [
        "ripe.db.aut-num.20240101.gz",
        "ripe.db.inet6num.20240101.gz",
    ]
    assert len(store.paths("delegated")) == 5 and store.paths("delegated", date(2023, 1, 1)) == []
    bootstrap = RdapBootstrap.load(store.root / "rdap-bootstrap")
    assert bootstrap.base_url_for_ip("193.0.6.139") == "https://rdap.db.ripe.net/"


def test_second_run_downloads_nothing(archive, tmp_path):
    store = ReferenceStore.under(tmp_path / "state")
    _fetch(archive, store)
    manifest = store.manifest_path.read_text()
    archive.log.clear()
    again = _fetch(archive, store)
    assert {o.status for o in again} == {"present", "unchanged"}
    assert archive.file_downloads() == []
    assert {p for p, status, _ in archive.log if status == 304} == {
        f"/{p}" for p in _layout() if p.endswith("-latest") or p.startswith(("ripe/dbase", "rdap/"))
    }
    assert store.manifest_path.read_text() == manifest
    replaced = (archive.root / "rdap/ipv4.json").read_bytes().replace(b"193.0.0.0/8", b"62.0.0.0/8")
    (archive.root / "rdap/ipv4.json").write_bytes(replaced)
    refreshed = _fetch(archive, store, kinds=["rdap-bootstrap"])
    assert [o.status for o in refreshed] == ["downloaded", "unchanged", "unchanged"]
    assert (store.root / "rdap-bootstrap/ipv4.json").read_bytes() == replaced
    assert len(store.entries("rdap-bootstrap")) == 3


def test_interrupted_download_resumes_where_it_stopped(archive, tmp_path):
    store = ReferenceStore.under(tmp_path / "state")
    path = "/ripe/dbase/split/ripe.db.inetnum.gz"
    archive.cut_once.add(path)
    first = _fetch(archive, store, kinds=["ripedb"])
    failed = [o for o in first if o.failed]
    assert len(failed) == 1 and failed[0].source.endswith(path)
    assert "partial file is kept" in failed[0].message
    assert store.entry_for("ripedb/ripe.db.inetnum.20240101.gz") is None
    second = _fetch(archive, store, kinds=["ripedb"])
    resumed = next(o for o in second if o.source.endswith(path))
    assert resumed.status == "downloaded" and resumed.message.startswith("resumed at byte ")
    assert any(p == path and status == 206 for p, status, _ in archive.log)
    original = (archive.root / path.lstrip("/")).read_bytes()
    assert (store.root / "ripedb/ripe.db.inetnum.20240101.gz").read_bytes() == original


def test_truncated_or_wrong_content_is_refused_and_the_rest_stored(archive, tmp_path):
    good = (archive.root / "datasets/as-organizations/20240101.as-org2info.txt.gz").read_bytes()
    (archive.root / "datasets/as-organizations/20240101.as-org2info.txt.gz").write_bytes(
        good[: len(good) - 8]
    )
    (archive.root / "pub/stats/arin/delegated-arin-extended-latest").write_bytes(
        b"<html><body>Service temporarily unavailable</body></html>"
    )
    store = ReferenceStore.under(tmp_path / "state")
    outcomes = _fetch(archive, store, kinds=["as2org", "delegated"])
    failed = {o.source.rsplit("/", 1)[-1]: o.message for o in outcomes if o.failed}
    assert set(failed) == {"20240101.as-org2info.txt.gz", "delegated-arin-extended-latest"}
    assert "truncated" in failed["20240101.as-org2info.txt.gz"]
    assert "expected delegated" in failed["delegated-arin-extended-latest"]
    assert {e.kind for e in store.entries()} == {"delegated"}
    assert len(store.entries()) == 4


def test_missing_day_is_reported_not_raised(archive, tmp_path):
    store = ReferenceStore.under(tmp_path / "state")
    outcomes = _fetch(archive, store, kinds=["rib", "pfx2as"], day=date(2023, 12, 25))
    assert outcomes and all(o.failed for o in outcomes)
    assert "no file matching" in outcomes[0].message
    assert store.entries() == []


def test_past_day_uses_the_rir_archives(archive, tmp_path):
    ripe = archive.root / "pub/stats/ripencc/2023/delegated-ripencc-extended-20231225.bz2"
    ripe.parent.mkdir(parents=True)
    ripe.write_bytes(bz2.compress(_delegated("ripencc").replace(b"20240101", b"20231225")))
    (archive.root / "pub/stats/arin/delegated-arin-extended-20231225").write_bytes(
        _delegated("arin").replace(b"20240101", b"20231225")
    )
    store = ReferenceStore.under(tmp_path / "state")
    outcomes = _fetch(
        archive,
        store,
        kinds=["delegated"],
        day=date(2023, 12, 25),
        plan_options={"rirs": ("ripencc", "arin")},
    )
    assert [o.status for o in outcomes] == ["downloaded", "downloaded"]
    assert sorted(e.path for e in store.entries("delegated")) == [
        "delegated/delegated-arin-extended-20231225",
        "delegated/delegated-ripencc-extended-20231225.bz2",
    ]
    assert {e.snapshot for e in store.entries()} == {"2023-12-25"}


def test_cli_fetch_and_list(archive, tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTWATCH_STATE_DIR", str(tmp_path / "state"))
    bases = [f"--base-url={name}={archive.base_url}" for name in ("routeviews", "arin", "caida")]
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["--now", NOW, "data", "fetch", "--kind", "rib", "--kind", "as2org", *bases],
    )
    assert result.exit_code == 0, result.output
    assert "downloaded" in result.output
    listing = runner.invoke(app, ["data", "list", "--kind", "as2org"], env={"COLUMNS": "300"})
    assert listing.exit_code == 0
    assert "20240101.as-org2info.txt.gz" in listing.output
    bad = runner.invoke(app, ["data", "fetch", "--base-url", "nowhere=http://x"])
    assert bad.exit_code != 0
    assert "NAME=URL" in bad.output


def test_cli_import_and_list(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTWATCH_STATE_DIR", str(tmp_path / "state"))
    folder = shared_data / "07_rir-delegated-extended-and-iana/2018-10-13_all5_from_IPToCC-2.1.2"
    runner = CliRunner()
    result = runner.invoke(
        app, ["data", "import", str(folder / "delegated-lacnic-extended-20181013.gz")]
    )
    assert result.exit_code == 0, result.output
    assert "imported" in result.output
    listing = runner.invoke(app, ["data", "list"], env={"COLUMNS": "300"})
    assert "delegated/delegated-lacnic-extended-20181013.gz" in listing.output
    assert "2018-10-12" in listing.output
    bad = runner.invoke(app, ["data", "import", str(folder / "LICENSE.IPToCC-MIT")])
    assert bad.exit_code == 1
    assert "not a recognised reference file" in bad.output


def test_import_real_files_by_content(shared_data, tmp_path):
    store = ReferenceStore.under(tmp_path / "state")
    folder = shared_data / "07_rir-delegated-extended-and-iana/2018-10-13_all5_from_IPToCC-2.1.2"
    pyasn = shared_data / "02_pyasn-routeviews-ipasn"
    bgptools = shared_data / "08_asn-names-classes-prefixes-2026/bgp.tools-opendb_2026-05-31"
    outcomes = import_reference_files(
        store,
        [
            folder,
            pyasn / "ipasn_20140513.dat.gz",
            pyasn / "asnames.json.gz",
            bgptools / "asns.csv.gz",
            pyasn / "rib.20140523.0600_firstMB.bz2",
        ],
        clock=Clock.at(NOW),
    )
    by_name = {Path(o.source).name: o for o in outcomes}
    assert by_name["LICENSE.IPToCC-MIT"].status == "skipped"
    delegated = {e.path: e.snapshot for e in store.entries("delegated")}
    assert delegated["delegated/delegated-apnic-extended-20181013.gz"] == "2018-10-12"
    assert delegated["delegated/delegated-ripencc-extended-20181013.gz"] == "2018-10-13"
    assert len(delegated) == 5
    assert store.entries("ipasn")[0].snapshot == "2014-05-13"
    assert {e.path for e in store.entries("asnames")} == {
        "asnames/asnames.20240101.json.gz",  # no day in content or name: the import's
        "asnames/asns.20260531.csv.gz",  # the day from its folder's name
    }
    bootstrap_folder = shared_data / "10_rdap-whois-samples/iana_rdap_bootstrap_from_openrdap"
    import_reference_files(store, [bootstrap_folder], clock=Clock.at(NOW))
    stored = {e.path: e.snapshot for e in store.entries("rdap-bootstrap")}
    assert stored["rdap-bootstrap/ipv4.json"] == "2015-08-11"
    assert stored["rdap-bootstrap/asn.json"] == "2016-09-08"
    bootstrap = RdapBootstrap.load(store.root / "rdap-bootstrap")
    assert "ripe.net" in bootstrap.base_url_for_ip("62.239.237.1")
    rib = by_name["rib.20140523.0600_firstMB.bz2"]
    assert rib.status == "failed" and "truncated" in rib.message
    again = import_reference_files(
        store, [folder / "delegated-arin-extended-20181013.gz"], clock=Clock.at(NOW)
    )
    assert [o.status for o in again] == ["present"]


def test_import_refuses_a_forced_kind_that_does_not_match(shared_data, tmp_path):
    store = ReferenceStore.under(tmp_path / "state")
    names = shared_data / "02_pyasn-routeviews-ipasn/asnames.json.gz"
    (outcome,) = import_reference_files(store, [names], kind="delegated", clock=Clock.at(NOW))
    assert outcome.failed and "looks like asnames" in outcome.message
    (missing,) = import_reference_files(store, [tmp_path / "nope.gz"], clock=Clock.at(NOW))
    assert missing.failed and missing.message == "no such file"


def test_detect_kind_of_real_files(shared_data, tmp_path):
    mrt = tmp_path / "bview.20140112.1600.bz2"
    shutil.copyfile(shared_data / "02_pyasn-routeviews-ipasn/bview.20140112.1600_3samples.bz2", mrt)
    assert detect_kind(mrt) == "ris"
    prefixes = shared_data / "08_asn-names-classes-prefixes-2026/as-prefix_2026-06-19"
    assert detect_kind(prefixes / "asprefix_pfx2as.tsv.gz") == "prefix-table"
    assert detect_kind(prefixes / "asprefix_asnames.tsv.gz") == "asnames"
    assert detect_kind(shared_data / "10_rdap-whois-samples/SOURCE.txt") is None
