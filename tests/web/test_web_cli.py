"""The service commands: tokens, access, audit verify, watchlist."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update
from typer.testing import CliRunner
from webworld import World

from hostwatch.attribution.watchlist import scan
from hostwatch.cli.app import app
from hostwatch.model import AuditEvent, ProviderAsset
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings
from hostwatch.web.auth import authenticate

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_tokens_create_prints_the_token_last(settings: Settings, world: World) -> None:
    code, out = run(
        "tokens",
        "create",
        "--role",
        "provider",
        "--provider",
        "Alpha Hosting",
        "--expires-days",
        "30",
        "--label",
        "alpha desk",
    )
    assert code == 0
    token = out.strip().splitlines()[-1]
    with session_scope(settings.database_url) as s:
        who = authenticate(s, token, settings.clock().now())
    assert who.role == "provider" and who.provider_id == world.providers["alpha"]
    for role in ("admin", "analyst", "researcher", "regulator"):
        code, out = run("tokens", "create", "--role", role)
        assert code == 0 and out.strip().splitlines()[-1].startswith("hw_")
    assert run("tokens", "create", "--role", "provider", "--provider", "Nobody")[0] == 2
    assert run("tokens", "create", "--role", "root")[0] == 2
    code, out = run("tokens", "list")
    assert code == 0 and token not in out and "alpha desk" in out
    assert run("tokens", "revoke", str(who.token_id))[0] == 0


def test_access_grant_verifies_assets(settings: Settings, world: World) -> None:
    code, out = run(
        "access",
        "grant",
        "Beta Networks",
        "--prefix",
        "45.10.16.0/24",
        "--org",
        "Beta BV",
        "--asn",
        "AS64501",
    )
    assert code == 0, out
    with session_scope(settings.database_url) as s:
        rows = {
            (a.kind, a.value, a.standing)
            for a in s.scalars(
                select(ProviderAsset).where(ProviderAsset.provider_id == world.providers["beta"])
            )
        }
    assert rows == {
        ("asn", "64501", "verified"),
        ("prefix", "45.10.16.0/24", "verified"),
        ("org", "Beta BV", "verified"),
    }
    assert run("access", "grant", "Beta Networks", "--prefix", "not-a-net")[0] == 2
    for wide_or_bogon in ("0.0.0.0/0", "10.0.0.0/8", "45.0.0.0/7", "::/0", "45.10.16.7/24"):
        code, out = run("access", "grant", "Beta Networks", "--prefix", wide_or_bogon)
        assert code == 2 and wide_or_bogon.split("/")[0] in out, (wide_or_bogon, out)
    assert run("access", "revoke", "Beta Networks", "org", "Beta BV")[0] == 0
    code, out = run("access", "list", "Beta Networks")
    assert code == 0 and "Beta BV" in out
    beta_bv = next(line for line in out.splitlines() if "Beta BV" in line)
    assert "│ manual " in beta_bv and "withdrawn" in beta_bv


def test_audit_verify_names_the_first_bad_event(settings: Settings, world: World) -> None:
    code, out = run("audit", "verify")
    assert code == 0 and "intact" in out
    with session_scope(settings.database_url) as s:
        victim = s.scalar(select(AuditEvent.id).order_by(AuditEvent.id).offset(2).limit(1))
        s.execute(update(AuditEvent).where(AuditEvent.id == victim).values(reason="edited"))
    code, out = run("audit", "verify")
    assert code == 1 and f"broken at event {victim}" in out


def test_watchlist_import_and_alerts(settings: Settings, world: World, tmp_path: Path) -> None:
    listing = tmp_path / "police.csv"
    listing.write_text(
        "kind,value,note\nasn,AS64502,bulletproof\nprefix,198.51.100.0/25,\n"
        "org,alpha ORG,reseller\nasn,ASX,broken\n"
    )
    code, out = run("watchlist", "import", str(listing), "--list", "police-2024")
    assert code == 0 and "3 added" in out and "1 rejected" in out and "line 5" in out
    assert "3 added" not in run("watchlist", "import", str(listing), "--list", "police-2024")[1]
    code, out = run("watchlist", "scan")
    assert code == 0 and "4 watchlist alert(s)" in out
    assert "0 watchlist alert(s)" in run("watchlist", "scan")[1]
    with session_scope(settings.database_url) as s:
        hits = {
            (e.data["kind"], e.data["value"])
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "watchlist.match"))
        }
        assert hits == {("asn", "64502"), ("prefix", "198.51.100.0/25"), ("org", "alpha ORG")}
        assert scan(s, settings.clock().now()) == 0
    plain = tmp_path / "plain.txt"
    plain.write_text("# comment\nAS64999\n10.0.0.0/8\nShady Reseller Ltd\n")
    assert "3 added" in run("watchlist", "import", str(plain), "--list", "other")[1]
    assert "Shady Reseller Ltd" in run("watchlist", "list")[1]


def test_digests_are_queued_once_a_day_and_touch_no_case(settings: Settings, world: World) -> None:
    from hostwatch.model import Case, Message

    with session_scope(settings.database_url) as s:
        before = {c.id: (c.messages_sent, c.last_message_at) for c in s.scalars(select(Case))}
    code, out = run("--now", "2024-03-04T10:00:00Z", "digests")
    assert code == 0 and "1 digest message(s) queued" in out  # only Alpha has an address
    assert "0 digest" in run("--now", "2024-03-04T20:00:00Z", "digests")[1]
    assert "1 digest" in run("--now", "2024-03-05T10:00:00Z", "digests")[1]
    with session_scope(settings.database_url) as s:
        digests = list(s.scalars(select(Message).where(Message.kind == "digest")))
        after = {c.id: (c.messages_sent, c.last_message_at) for c in s.scalars(select(Case))}
    assert {m.to_address for m in digests} == {"abuse@alpha.example"}
    assert "Open cases on your networks: 1" in digests[0].body
    assert before == after
