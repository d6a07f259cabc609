"""The command line as an outside scenario uses it: contacts add, run --once at --now, cases."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from ntd_servers import T0, Inbox, Site
from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.identity import url_id
from hostwatch.model.db import session_scope
from hostwatch.model.notice import Notice
from hostwatch.model.url import Url
from hostwatch.settings import Settings


def _notice(database_url: str, url: str) -> None:
    """A notice as intake stores it, with no attribution yet: `run` must attribute it."""
    with session_scope(database_url) as session:
        uid = url_id(url)
        session.add(
            Url(
                id=uid,
                url=url,
                scheme="http",
                host="127.0.0.1",
                host_type="ipv4",
                port=int(url.split(":")[2].split("/")[0]),
                registered_domain=None,
                first_seen_at=T0,
            )
        )
        session.flush()
        session.add(
            Notice(
                notice_key=hashlib.sha256(url.encode()).hexdigest(),
                url_id=uid,
                source="cli-test",
                format="csv",
                classification="csam",
                received_at=T0,
                raw=url,
            )
        )


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def test_run_once_at_successive_instants(
    settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str], tmp_path: Path
) -> None:
    site, base = web
    inbox, smtp_url = smtp
    env = {"HOSTWATCH_SMTP_URL": smtp_url, "HOSTWATCH_ALLOW_NETWORKS": "127.0.0.0/8"}
    runner = CliRunner()

    def hw(*args: str, hours: float | None = None) -> str:
        prefix = ["--now", _at(hours)] if hours is not None else []
        result = runner.invoke(app, [*prefix, *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    hw(
        "contacts",
        "add",
        "--name",
        "Example Hosting",
        "--network",
        "127.0.0.0/8",
        "--email",
        "abuse@example.net",
        hours=-1,
    )
    site.status["/stays"] = 200
    site.status["/goes"] = 200
    _notice(settings.database_url, f"{base}/stays")
    _notice(settings.database_url, f"{base}/goes")
    hw("run", "--once", hours=0)
    assert len(inbox.mails) == 1
    hw("run", "--once", hours=24)
    assert len(inbox.mails) == 2
    site.status["/goes"] = 404
    for hours in (30, 31, 32):
        hw("run", "--once", hours=hours)
    rows = {r["url"].rsplit("/", 1)[1]: r for r in json.loads(hw("cases", "--format", "json"))}
    assert rows["goes"]["provider"] == "Example Hosting"
    assert rows["goes"]["state"] == "removed"
    assert rows["goes"]["first_message_at"] == T0.isoformat()
    assert rows["goes"]["removed_at"] == (T0 + timedelta(hours=30)).isoformat()
    assert rows["goes"]["takedown_seconds"] == 30 * 3600
    assert rows["stays"]["state"] == "reachable"
    assert rows["stays"]["takedown_seconds"] is None
    assert {m["To"] for m in inbox.mails} == {"abuse@example.net"}

    table = list(csv.DictReader(io.StringIO(hw("cases", "--format", "csv"))))
    assert {r["state"] for r in table} == {"removed", "reachable"}
    assert "removed" in hw("cases", "--state", "removed")
    listed = json.loads(hw("contacts", "list", "--format", "json"))
    assert [(c["name"], c["source"], c["network"]) for c in listed] == [
        ("Example Hosting", "manual", "127.0.0.0/8")
    ]


def test_contacts_import_reports_bad_lines(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "name,email,network,role,police_route\n"
        "Reseller One,abuse@r1.test,45.10.100.0/25,reseller,\n"
        "Broken,not-an-address,45.10.100.128/25,reseller,\n"
        "Bad Host,abuse@bad.test,45.10.113.0/24,provider,yes\n"
        "Nowhere,abuse@n.test,300.1.2.0/24,provider,\n"
        "Private,abuse@p.test,192.168.0.0/16,provider,\n"
    )
    result = CliRunner().invoke(app, ["contacts", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 contacts imported, 3 rejected" in result.output
    assert f"{path}:6: network '192.168.0.0/16': 192.168.0.0/16 overlaps private" in result.output
    assert f"{path}:3: email 'not-an-address'" in result.output
    assert f"{path}:5: network '300.1.2.0/24'" in result.output
    listed = json.loads(CliRunner().invoke(app, ["contacts", "list", "--format", "json"]).output)
    assert {c["name"]: c["police_route"] for c in listed} == {
        "Reseller One": False,
        "Bad Host": True,
    }


@pytest.mark.parametrize("fmt", ["xml"])
def test_cases_rejects_unknown_format(settings: Settings, fmt: str) -> None:
    result = CliRunner().invoke(app, ["cases", "--format", fmt])
    assert result.exit_code == 2
    assert "use table, json or csv" in result.output
