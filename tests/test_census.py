"""``hostwatch census``: real HTTP servers on two loopback addresses, real SMTP, both databases.

The list holds a URL online at "Loopback Hosting" (127.0.0.0/24, linked by hand), one gone
there (404), one online at a provider whose name is a spreadsheet formula (127.0.1.0/24), a
refused one in space nobody holds (unattributed), a private address the policy forbids (not
checkable), a host name our own resolver cannot resolve (inconclusive, not offline), a
duplicate, and lines that are no URL.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.model import Base
from hostwatch.model.db import engine_for
from hostwatch.settings import Settings, configure
from ports import free_dns_port

FORMULA = "=HYPERLINK(evil) Hosting"


class Seen(list[str]):
    pass


def _serve(address: str, seen: Seen) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            status = 200 if self.path.startswith("/ok") else 404
            self.send_response(status)
            self.send_header("Content-Length", "7")
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(b"content")

        do_HEAD = do_GET = _answer

    server = ThreadingHTTPServer((address, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def sites() -> Iterator[tuple[Seen, int, int]]:
    seen = Seen()
    first, second = _serve("127.0.0.1", seen), _serve("127.0.1.1", seen)
    yield seen, next(first), next(second)
    for server in (first, second):
        next(server, None)


class _Sink:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[_Sink, str]]:
    sink = _Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, f"smtp://127.0.0.1:{port}"
    controller.stop()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def census_settings(
    settings: Settings, smtp_sink: tuple[_Sink, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("HOSTWATCH_SMTP_URL", smtp_sink[1])
    # our own resolver: nothing listens there, so a host name cannot be resolved by our fault
    monkeypatch.setenv("HOSTWATCH_RESOLVER", f"127.0.0.1:{free_dns_port()}")
    return configure()


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def _counts(url: str) -> dict[str, int]:
    engine = engine_for(url)
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
            if name != "alembic_version"
        }


def _write_list(tmp_path: Path, first: int, second: int) -> Path:
    lines = [
        f"http://127.0.0.1:{first}/ok/1",
        f"http://127.0.0.1:{first}/gone/2",
        "this is not a URL",
        f"http://127.0.1.1:{second}/ok/3",
        f"http://127.0.2.1:{_closed_port()}/refused",
        "http://10.1.2.3/private",
        "http://unresolvable.census.test/x",
        f"http://127.0.0.1:{first}/ok/1",  # the same URL again: checked once
        "ftp://127.0.0.1/file",  # a URL, but not one the checker can request
        "javascript:alert(1)",
    ]
    path = tmp_path / "list.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _link_providers(url: str) -> None:
    for name, prefix in (("Loopback Hosting B.V.", "127.0.0.0/24"), (FORMULA, "127.0.1.0/24")):
        added = _run("providers", "add", name, "--country", "NL", "--provenance", "test")
        assert added.exit_code == 0, added.output
        result = _run("providers", "link", name, "--prefix", prefix, "--provenance", "test")
        assert result.exit_code == 0, result.output


def test_census_counts_states_by_provider_and_writes_nothing(
    census_settings: Settings,
    sites: tuple[Seen, int, int],
    smtp_sink: tuple[_Sink, str],
    tmp_path: Path,
) -> None:
    seen, first, second = sites
    _link_providers(census_settings.database_url)
    path = _write_list(tmp_path, first, second)
    before = _counts(census_settings.database_url)

    result = _run("census", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)

    assert doc["totals"] == {
        "urls": 7, "online": 2, "offline": 2, "not-checkable": 2, "inconclusive": 1
    }  # fmt: skip
    assert doc["lines"] == 10
    by_url = {row["url"]: row for row in doc["urls"]}
    assert by_url[f"http://127.0.0.1:{first}/gone/2"]["state"] == "offline"
    assert by_url["http://10.1.2.3/private"]["state"] == "not-checkable"
    assert by_url["ftp://127.0.0.1/file"]["state"] == "not-checkable"
    unresolved = by_url["http://unresolvable.census.test/x"]
    assert unresolved["state"] == "inconclusive" and unresolved["reason"].startswith("resolver-")
    # the private address and the ftp URL: the checker's policy refuses both
    assert doc["reasons"] == {"blocked-by-policy": 2, unresolved["reason"]: 1}
    providers = {row["name"]: row for row in doc["by_provider"]}
    assert providers["Loopback Hosting B.V."] == {
        "name": "Loopback Hosting B.V.", "urls": 3, "online": 1, "offline": 1,
        "not-checkable": 1, "inconclusive": 0,
    }  # fmt: skip
    assert providers[FORMULA]["online"] == 1
    assert providers["unattributed"]["urls"] == 3
    # lab space has no hosting country in any reference snapshot: unknown, not guessed
    assert {row["name"]: row["urls"] for row in doc["by_country"]} == {"unknown": 7}
    assert [(p["line"], p["reason"] != "") for p in doc["rejected"]] == [(3, True), (10, True)]
    assert "line 3:" in result.stderr and "line 10: scheme 'javascript'" in result.stderr

    # content-free: the servers saw one HEAD per distinct URL, never a GET for the body
    assert sorted(seen) == ["HEAD /gone/2", "HEAD /ok/1", "HEAD /ok/3"]
    # no case, no check, no notice, no provider, no message: nothing written, nothing sent
    assert _counts(census_settings.database_url) == before
    assert smtp_sink[0].received == []
    assert not (census_settings.outbox_dir.exists() and any(census_settings.outbox_dir.iterdir()))


def test_failures_during_a_failed_control_are_inconclusive_not_offline(
    census_settings: Settings,
    sites: tuple[Seen, int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a control URL unreachable, the 404 and the refusal say nothing: not offline."""
    _, first, second = sites
    monkeypatch.setenv("HOSTWATCH_CONTROL_URLS", f"http://127.0.0.1:{_closed_port()}/control")
    configure()
    path = _write_list(tmp_path, first, second)
    result = _run("census", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["totals"]["offline"] == 0
    assert doc["totals"]["online"] == 2
    gone = next(row for row in doc["urls"] if row["url"].endswith("/gone/2"))
    assert (gone["state"], gone["reason"]) == ("inconclusive", "control-url-failed")


def test_csv_and_table_name_groups_safely(
    census_settings: Settings, sites: tuple[Seen, int, int], tmp_path: Path
) -> None:
    _, first, second = sites
    _link_providers(census_settings.database_url)
    path = _write_list(tmp_path, first, second)
    result = _run("census", str(path), "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0] == {
        "dimension": "all", "name": "all", "urls": "7", "online": "2", "offline": "2",
        "not-checkable": "2", "inconclusive": "1",
    }  # fmt: skip
    names = {row["name"] for row in rows if row["dimension"] == "provider"}
    assert f"'{FORMULA}" in names  # a formula start is neutralised for spreadsheets
    assert {row["dimension"] for row in rows} == {"all", "provider", "reseller", "country"}

    table = _run("census", str(path))
    assert table.exit_code == 0, table.output
    assert "Loopback Hosting B.V." in table.stdout and FORMULA in table.stdout


def test_an_ingest_format_is_read_too(
    census_settings: Settings, sites: tuple[Seen, int, int], tmp_path: Path
) -> None:
    _, first, _ = sites
    path = tmp_path / "notices.csv"
    path.write_text(
        "url,time\n"
        f"http://127.0.0.1:{first}/ok/a,2026-01-01T00:00:00Z\n"
        "http://exa mple.test/,2026-01-01T00:00:00Z\n"
    )
    result = _run("census", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["format"], doc["totals"]["online"]) == ("csv", 1)
    assert [p["line"] for p in doc["rejected"]] == [3]


def test_a_missing_file_is_a_clear_error(census_settings: Settings, tmp_path: Path) -> None:
    missing = _run("census", str(tmp_path / "absent.txt"))
    assert missing.exit_code != 0 and "absent.txt" in missing.output


def test_each_hosts_urls_are_checked_in_turns_not_in_a_row(tmp_path: Path) -> None:
    """A hotline's list often names one site's URLs in a row; politeness starts one check a
    second per host, so in list order every worker would wait at that host's gate."""
    from hostwatch.census import in_turns, read_list

    urls = [
        "http://a.test/1", "http://a.test/2", "http://a.test/3", "http://b.test/1",
        "http://A.test/4", "http://b.test/2", "http://c.test/1",
    ]  # fmt: skip
    path = tmp_path / "list.txt"
    path.write_text("\n".join(urls) + "\n")
    assert in_turns(read_list(path).urls) == [
        "http://a.test/1", "http://b.test/1", "http://c.test/1",
        "http://a.test/2", "http://b.test/2",
        "http://a.test/3",
        "http://a.test/4",
    ]  # fmt: skip
