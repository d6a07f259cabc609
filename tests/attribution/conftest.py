"""Fixtures for attribution: a dnsmasq on loopback, real routing tables, notices in a database."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostwatch.attribution.reference import load_reference_set, register_snapshot
from hostwatch.identity import url_id
from hostwatch.model import Notice, Url
from hostwatch.model.db import session_scope
from ports import free_dns_port

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
LOADED = datetime(2026, 11, 1, tzinfo=UTC)


# Real public addresses from the 2026 table (08): the zone maps test names onto them.
EDGE_V4 = "1.0.4.5"  # 1.0.4.0/24
EDGE_V6 = "2a00:1450:4001:800::1"
CLOUDFLARE_V4 = "1.1.1.1"  # 1.1.1.0/24, AS13335, tagged cdn by bgp.tools
GITHUB_PAGES_V4 = "185.199.108.153"


@dataclass
class DnsServer:
    address: str
    process: subprocess.Popen[bytes]
    edge_v4: str = EDGE_V4
    edge_v6: str = EDGE_V6
    cloudflare_v4: str = CLOUDFLARE_V4
    github_pages_v4: str = GITHUB_PAGES_V4


@pytest.fixture(scope="session")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnsServer]:
    """dnsmasq answering for a few names: CNAME chains, A+AAAA, NXDOMAIN, private space."""
    folder = tmp_path_factory.mktemp("dnsmasq")
    hosts = folder / "hosts"
    hosts.write_text(
        "\n".join(
            [
                "127.0.0.1 ready.test",
                f"{EDGE_V4} edge.hoster.test",
                f"{EDGE_V6} edge.hoster.test",
                "10.1.2.3 intranet.test",
                f"{CLOUDFLARE_V4} shop.cdn.cloudflare.net",
                f"{GITHUB_PAGES_V4} someone.github.io",
            ]
        )
        + "\n"
    )
    port = free_dns_port()
    process = subprocess.Popen(
        [
            DNSMASQ,
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--user=root",
            "--pid-file=",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            f"--port={port}",
            f"--addn-hosts={hosts}",
            "--local=/test/",
            "--cname=www.shop.test,middle.shop.test",
            "--cname=middle.shop.test,edge.hoster.test",
            "--cname=cdn.shop.test,shop.cdn.cloudflare.net",
            "--cname=pages.shop.test,someone.github.io",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    address = f"127.0.0.1:{port}"
    from hostwatch.clock import Clock
    from hostwatch.net.dns import resolve_many

    deadline = time.monotonic() + 10
    while not resolve_many(["ready.test"], address, timeout=0.5, clock=Clock.system())[
        "ready.test"
    ].ok:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "dnsmasq did not answer"
    yield DnsServer(address, process)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def table_2026(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2026 AS-Prefix table (08), stored once in its binary snapshot form."""
    from hostwatch.net.routing import RoutingTable

    source = (
        shared_data
        / "08_asn-names-classes-prefixes-2026/as-prefix_2026-06-19/asprefix_pfx2as.tsv.gz"
    )
    return RoutingTable.load(source).save(
        tmp_path_factory.mktemp("tables") / "asprefix_2026-06-19.routes"
    )


@pytest.fixture(scope="session")
def table_2014(shared_data: Path) -> Path:
    return shared_data / "02_pyasn-routeviews-ipasn/ipasn_20140513.dat.gz"


@pytest.fixture(scope="session")
def names_2026(shared_data: Path) -> list[Path]:
    base = shared_data / "08_asn-names-classes-prefixes-2026"
    return [
        base / "bgp.tools-opendb_2026-05-31",
        base / "as-prefix_2026-06-19/asprefix_asnames.tsv.gz",
    ]


@pytest.fixture(autouse=True)
def _fresh_reference_cache() -> None:
    load_reference_set.cache_clear()


Catalogue = Callable[..., dict[str, int]]


@pytest.fixture
def catalogue(settings) -> Catalogue:  # type: ignore[no-untyped-def]
    """Register reference files as snapshots: ``catalogue(routing=[path], asnames=[...])``."""

    def register(**kinds: list[Path | tuple[Path, datetime]]) -> dict[str, int]:
        ids: dict[str, int] = {}
        with session_scope(settings.database_url) as session:
            for kind, paths in kinds.items():
                for item in paths:
                    path, valid_at = item if isinstance(item, tuple) else (item, None)
                    row = register_snapshot(
                        session, kind, path, loaded_at=LOADED, valid_at=valid_at
                    )
                    ids[str(path)] = row.id
        return ids

    return register


Notices = Callable[..., list[int]]


@pytest.fixture
def add_notices(settings) -> Notices:  # type: ignore[no-untyped-def]
    """Insert notices: ``add_notices([(url, received_at, reported_ip), ...])`` -> notice ids."""

    def add(rows: list[tuple[str, datetime, str | None]]) -> list[int]:
        from urllib.parse import urlsplit

        ids = []
        with session_scope(settings.database_url) as session:
            for n, (url, received, reported) in enumerate(rows):
                uid = url_id(url)
                host = urlsplit(url).hostname or ""
                kind = (
                    "ipv6"
                    if ":" in host
                    else "ipv4"
                    if host.replace(".", "").isdigit()
                    else "domain"
                )
                if session.get(Url, uid) is None:
                    session.add(
                        Url(
                            id=uid,
                            url=url,
                            scheme="http",
                            host=host,
                            host_type=kind,
                            first_seen_at=received,
                        )
                    )
                    session.flush()
                notice = Notice(
                    notice_key=f"test-{uid}-{n}-{received.isoformat()}",
                    url_id=uid,
                    source="test",
                    format="csv",
                    received_at=received,
                    reported_ip=reported,
                    raw=url,
                )
                session.add(notice)
                session.flush()
                ids.append(notice.id)
        return ids

    return add
