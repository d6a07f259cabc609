"""The demo replays a simulated year through the real chain and leaves a labelled report."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from hostwatch.cli.app import app


def _rows(out: Path, sql: str) -> list[tuple]:
    engine = create_engine(f"sqlite:///{out / 'hostwatch.db'}")
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def test_report_is_written_and_labelled_simulated(demo_out: Path) -> None:
    html = (demo_out / "report.html").read_text()
    assert "SIMULATED" in html.upper()
    assert "Polder Datacenter" in html or "Noordzee Cloud" in html or "BulkServers NL" in html
    assert "<script" not in html.lower() or "http" not in html.lower().split("<script")[1][:200]


def test_attribution_went_through_dns_routing_and_whois(demo_out: Path) -> None:
    statuses = dict(_rows(demo_out, "SELECT status, count(*) FROM attributions GROUP BY status"))
    assert statuses.get("ok", 0) >= 55, statuses
    resellers = {r for (r,) in _rows(demo_out, "SELECT DISTINCT reseller FROM attributions")}
    providers = {
        p
        for (p,) in _rows(
            demo_out,
            "SELECT DISTINCT p.name FROM attributions a JOIN providers p ON p.id = a.provider_id",
        )
    }
    assert any(r and "ShadowVPS" in r for r in resellers), resellers
    assert "BulkServers NL" in providers, providers
    sources = json.loads(_rows(demo_out, "SELECT sources FROM attributions LIMIT 1")[0][0])
    assert "snapshots" in sources


def test_messages_went_to_the_outbox_without_content(demo_out: Path) -> None:
    files = sorted((demo_out / "outbox").glob("*.eml"))
    assert files
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] and message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "http://" in body  # the exact URL (DSA art. 16), and nothing fetched from it
    assert "simulated page" not in body


def _attachments(mail: email.message.EmailMessage, prefix: str) -> list[dict]:
    return [
        json.loads(part.get_content())
        for part in mail.iter_attachments()
        if (part.get_filename() or "").startswith(prefix)
    ]


def test_the_notice_chain_as_desks_and_the_authority_read_it(demo_out: Path) -> None:
    """Issue 16's targets on the demo year: the authority hears at most twice about a URL, every
    follow-up is threaded, every notice says why it is the recipient's network, in Dutch for
    the desks that asked for it."""
    from hostwatch.simulation.demo import AUTHORITY, DUTCH_DESKS

    mails = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted((demo_out / "outbox").glob("*.eml"))
    ]
    by_id = {str(m["Message-ID"]): m for m in mails}
    notices = [m for m in mails if _attachments(m, "xarf-") and not _attachments(m, "evidence-")]
    referrals = [m for m in mails if _attachments(m, "evidence-")]
    assert notices and referrals

    about: dict[str, int] = {}
    for mail in mails:
        if mail["To"] == AUTHORITY[1]:
            for report in _attachments(mail, "xarf-"):
                about[report["url"]] = about.get(report["url"], 0) + 1
    assert about and max(about.values()) <= 2, max(about.values())

    follow_ups = 0
    for mail in notices:
        assert len({r["type"] for r in _attachments(mail, "xarf-")}) == 1  # one classification
        body = mail.get_body(preferencelist=("plain",)).get_content()
        why = body.count("Why your network: ") + body.count("Waarom uw netwerk: ")
        assert why == len(_attachments(mail, "xarf-")), body
        dutch = mail["To"] in DUTCH_DESKS
        assert body.startswith("Geacht abuse-team" if dutch else "Dear abuse team"), body[:80]
        if str(mail["Subject"]).startswith("Re: "):
            follow_ups += 1
            parent = by_id[str(mail["In-Reply-To"])]
            assert parent["To"] == mail["To"]
            assert str(mail["References"]).split()[-1] == parent["Message-ID"]
            ticket = str(mail["Subject"]).split("]")[0].removeprefix("Re: ")
            assert str(parent["Subject"]).removeprefix("Re: ").startswith(ticket + "]")
        else:
            assert mail["In-Reply-To"] is None
    assert follow_ups > len(notices) / 2  # most of the year's mail is re-notices, all threaded
    assert {m["To"] for m in notices} & DUTCH_DESKS
    assert {m["To"] for m in notices} - DUTCH_DESKS


def test_cases_were_removed_with_takedown_times(demo_out: Path) -> None:
    removed = _rows(
        demo_out,
        "SELECT count(*) FROM cases WHERE removed_at IS NOT NULL AND first_message_at IS NOT NULL",
    )[0][0]
    checks = _rows(demo_out, "SELECT count(*) FROM checks")[0][0]
    assert removed >= 20
    assert checks > removed * 3  # offline only after three failed checks


def test_a_taken_port_is_an_error_not_another_year(tmp_path: Path, demo_port: int) -> None:
    """An explicit --port that is taken stops the demo: another port would mean other URLs."""
    with socket.socket() as taken:
        taken.bind(("127.1.0.1", demo_port))
        taken.listen()
        result = CliRunner().invoke(
            app, ["demo", "--out", str(tmp_path), "--port", str(demo_port), "--notices", "5"]
        )
    assert result.exit_code == 1
    assert "could not start" in result.output and "address already in use" in result.output
    assert not (tmp_path / "cases.csv").exists()


def test_the_regulator_orders_the_slowest_hoster_and_publishes_a_decision(
    demo_out: Path,
) -> None:
    import json
    import re

    orders = json.loads((demo_out / "orders.json").read_text())
    assert orders and {o["provider"] for o in orders} == {"BulkServers NL"}
    outcomes = {c["outcome"] for o in orders for c in o["cases"]}
    assert {"met", "missed"} <= outcomes  # judged from the checks (all kinds: the full year)
    assert all(o["delivery"].startswith("outbox accepted") for o in orders)
    mails = sorted((demo_out / "outbox").glob("ORD-*.eml"))
    assert [m.stem for m in mails] == sorted(o["reference"] for o in orders)
    assert all("To: orders@bulkservers.example" in m.read_text() for m in mails)

    (entry,) = json.loads((demo_out / "register.json").read_text())
    assert entry["provider"] == "BulkServers NL" and entry["sanction"] in ("penalty", "fine")
    assert entry["orders_missed"] == sum(o["status"] == "missed" for o in orders)
    assert entry["provider_responses"]
    public = json.dumps(entry)
    assert not re.search(r"https?://|\b127\.\d+\.\d+\.\d+\b|\.example\b", public), public

    dossier = (demo_out / "dossier.html").read_text()
    assert "Removal orders" in dossier and "Duty of care" in dossier
    assert all(o["reference"] in dossier for o in orders)


@pytest.mark.slow
def test_the_full_demo_year_has_orders_of_every_outcome(tmp_path: Path, demo_port: int) -> None:
    """The default year (300 notices, checks on a 2-hour grid): ordered URLs met, missed and
    undetermined (a removal between the last check before the deadline and the first after).
    An order is missed as soon as one of its URLs is, so in this year of orders of up to six
    URLs at the slowest hoster every order is met or missed; its undetermined URLs are still
    reported as such, never counted as met."""
    import json

    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path), "--port", str(demo_port), "--no-pdf"]
    )
    assert result.exit_code == 0, result.output
    orders = json.loads((tmp_path / "orders.json").read_text())
    outcomes = [c["outcome"] for o in orders for c in o["cases"]]
    assert {"met", "missed", "undetermined"} <= set(outcomes), outcomes
    statuses = {o["status"] for o in orders}
    assert {"met", "missed"} <= statuses, statuses
    for order in orders:  # the status follows the cases: any missed URL makes it missed
        kinds = {c["outcome"] for c in order["cases"]}
        expected = (
            "missed" if "missed" in kinds else "undetermined" if "undetermined" in kinds else "met"
        )
        assert order["status"] == expected, order


def _report_texts(folder: Path) -> dict[str, str]:
    """Every output a reader gets: HTML, CSVs (and the PDF's text when one was written)."""
    import subprocess

    texts = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.csv")}
    texts["report.html"] = (folder / "report.html").read_text(encoding="utf-8")
    if (folder / "report.pdf").exists():
        texts["report.pdf"] = subprocess.run(
            ["pdftotext", str(folder / "report.pdf"), "-"], capture_output=True, text=True
        ).stdout
    return texts


def test_the_demo_report_is_the_public_edition(demo_out: Path) -> None:
    """The default report of the simulated year names no URL, host or IP of the database (it
    used to name 8 hosts and show full URLs); the restricted edition beside it does, marked."""
    urls = {u for (u,) in _rows(demo_out, "SELECT url FROM urls")}
    hosts = {h for (h,) in _rows(demo_out, "SELECT host FROM urls")}
    ips = {i for (i,) in _rows(demo_out, "SELECT DISTINCT ip FROM attributions") if i}
    assert urls and hosts and ips
    texts = _report_texts(demo_out)
    assert "cases.csv" not in texts
    for anchor in ("who-is-responsible", "reachability"):  # the parts only a database fills
        assert f'<section id="{anchor}">' in texts["report.html"], anchor
    for name, body in texts.items():
        named = [v for v in urls | hosts | ips if v in body]
        assert not named, f"{name} names {sorted(named)[:5]}"
    assert "RESTRICTED" not in texts["report.html"]

    restricted = _report_texts(demo_out / "restricted")
    assert "cases.csv" in restricted
    assert any(u in restricted["report.html"] for u in urls)
    assert restricted["report.html"].count("RESTRICTED EDITION") >= 2  # top and foot


def test_the_demo_report_says_why_the_size_model_is_missing(demo_out: Path) -> None:
    """Every simulated provider announces the same space: the report says so in words and shows
    raw rates, instead of "Singular matrix"."""
    html = (demo_out / "report.html").read_text(encoding="utf-8")
    assert "Singular matrix" not in html
    size = html[html.index('id="size"') : html.index('id="trends"')]
    assert "could not be made" in size or 'id="fig-size"' in size
