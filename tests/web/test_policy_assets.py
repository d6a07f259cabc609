"""Provider assets through one door: standings, the prefix rules, and what widens a token's view.

The Noordzee Cloud attack of issue 15: an unrelated, unverified /30 typed in with
``contacts add`` took that provider's token from 0 to 43 visible, automatically attributed cases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import bearer
from hostwatch.attribution.assets import (
    AssetError,
    AssetRules,
    AutomaticAssets,
    normalise,
    unverify,
    verify,
    write_asset,
)
from hostwatch.attribution.providers import ProviderIndex
from hostwatch.cli.app import app as cli
from hostwatch.clock import Clock
from hostwatch.identity import url_id
from hostwatch.model import Attribution, Case, Provider, ProviderAsset, Url
from hostwatch.model.db import session_scope
from hostwatch.net.addresses import parse_addresses
from hostwatch.settings import Settings
from hostwatch.web.app import create_app
from hostwatch.web.auth import create_token

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
NOORDZEE = "Noordzee Cloud"
CASES = 43


def _noordzee(db_url: str) -> str:
    """43 cases automatically attributed to Noordzee Cloud in 45.10.16.0/24; a token for it."""
    with session_scope(db_url) as s:
        provider = Provider(name=NOORDZEE, source="auto", created_at=T0, updated_at=T0)
        s.add(provider)
        s.flush()
        AutomaticAssets(s.get_bind().dialect, T0).insert(
            s.connection(), [(provider.id, "asn", "64999", "as2org")]
        )
        for n in range(CASES):
            text = f"http://n{n}.noordzee.example/x"
            uid = url_id(text)
            host, ip = f"n{n}.noordzee.example", f"45.10.16.{n + 1}"
            s.add(Url(id=uid, url=text, scheme="http", host=host, host_type="domain",
                      first_seen_at=T0))  # fmt: skip
            s.flush()
            att = Attribution(url_id=uid, at=T0, computed_at=T0, status="ok", host=host,
                              ips=[ip], ip=ip, prefix="45.10.16.0/24", origin_asn=64999,
                              origin_asns=[64999], provider_id=provider.id,
                              country="NL")  # fmt: skip
            s.add(att)
            s.flush()
            s.add(Case(url_id=uid, party_key=f"provider:{provider.id}",
                       provider_id=provider.id, attribution_id=att.id, state="new",
                       state_since=T0, opened_at=T0))  # fmt: skip
        return create_token(s, role="provider", provider_name=NOORDZEE, now=T0).token


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "250", **(env or {})})
    return result.exit_code, result.output


def test_an_unverified_manual_network_opens_nothing(settings: Settings) -> None:
    token = _noordzee(settings.database_url)
    app = create_app(settings, clock=Clock.at(T0 + timedelta(days=1)))
    with TestClient(app, base_url="http://127.0.0.1") as client:

        def visible() -> int:
            r = client.get("/api/v1/cases?limit=1000", headers=bearer(token))
            assert r.status_code == 200, r.text
            feed = client.get("/api/v1/feed", headers=bearer(token)).json()
            assert len(feed) == len(r.json())
            return len(r.json())

        assert visible() == 0
        # the issue's own command: a documentation range is refused outright...
        code, out = _run("contacts", "add", "--name", NOORDZEE, "--network", "192.0.2.0/30")
        assert code == 2 and "192.0.2.0/30 overlaps documentation range" in out
        # ...and where a deployment declares it lab space, it is stored, manual and unverified
        lab = {"HOSTWATCH_ALLOW_NETWORKS": "192.0.2.0/24"}
        code, out = _run(
            "contacts", "add", "--name", NOORDZEE, "--network", "192.0.2.0/30", env=lab
        )
        assert code == 0, out
        code, out = _run("contacts", "add", "--name", NOORDZEE, "--network", "45.10.99.0/30")
        assert code == 0, out
        with session_scope(settings.database_url) as s:
            standings = {
                a.value: a.standing
                for a in s.scalars(select(ProviderAsset).where(ProviderAsset.kind == "prefix"))
            }
        assert standings == {"192.0.2.0/30": "manual", "45.10.99.0/30": "manual"}
        assert visible() == 0
        # an unrelated /30, verified, still opens nothing: access follows the assets, not the id
        assert _run("access", "grant", NOORDZEE, "--prefix", "45.10.99.0/30")[0] == 0
        assert visible() == 0
        # the provider's real network, verified by an admin, opens exactly its cases
        code, out = _run("access", "grant", NOORDZEE, "--prefix", "45.10.16.0/24")
        assert code == 0, out
        assert visible() == CASES
        assert _run("access", "revoke", NOORDZEE, "prefix", "45.10.16.0/24")[0] == 0
        assert visible() == 0
        # typing the network in again by hand does not verify it
        code, out = _run("providers", "link", NOORDZEE, "--prefix", "45.10.16.0/24",
                         "--provenance", "ticket 7")  # fmt: skip
        assert code == 0 and "(manual)" in out
        assert visible() == 0
        code, out = _run("providers", "link", NOORDZEE, "--prefix", "45.10.16.0/24",
                         "--provenance", "ticket 7", "--verified")  # fmt: skip
        assert code == 0 and "(verified)" in out
        assert visible() == CASES


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("prefix", "0.0.0.0/0", "wider than /8"),
        ("prefix", "44.0.0.0/7", "wider than /8"),
        ("prefix", "::/0", "wider than /19"),
        ("prefix", "2a00::/18", "wider than /19"),
        ("prefix", "10.1.0.0/16", "private address space"),
        ("prefix", "127.0.0.0/8", "loopback"),
        ("prefix", "169.254.0.0/16", "link-local"),
        ("prefix", "224.0.0.0/8", "multicast"),
        ("prefix", "192.0.0.0/16", "IETF protocol assignments"),  # holds special space
        ("prefix", "2001:db8::/48", "documentation"),
        ("prefix", "fd00::/32", "not global unicast"),
        ("prefix", "45.10.16.1/24", "host bits set"),
        ("prefix", "45.10.16.0/33", "not a network prefix"),
        ("asn", "AS0", "not an AS number"),
        ("asn", "23456", "not an AS number"),
        ("asn", "AS4294967296", "not an AS number"),
        ("org", "", "1 to 300"),
        ("org", "Evil\nCorp", "printable"),
        ("domain", "a b.example", "not a domain"),
        ("colour", "red", "unknown asset kind"),
    ],
)
def test_one_rule_set_refuses_with_a_reason(kind: str, value: str, reason: str) -> None:
    with pytest.raises(AssetError, match=reason):
        normalise(kind, value, AssetRules())


def test_ordinary_values_and_lab_space_pass() -> None:
    rules = AssetRules()
    assert normalise("prefix", " 45.0.0.0/8 ", rules) == "45.0.0.0/8"
    assert normalise("prefix", "2a00::/19", rules) == "2a00::/19"
    assert normalise("asn", "as64500", rules) == "64500"
    assert normalise("domain", "Example.NET.", rules) == "example.net"
    lab = AssetRules.allowing(["127.0.0.0/8", "::1/128"])
    assert normalise("prefix", "127.0.0.0/24", lab) == "127.0.0.0/24"
    with pytest.raises(AssetError, match="loopback"):
        normalise("prefix", "127.0.0.0/24", rules)
    with pytest.raises(AssetError, match="private"):
        normalise("prefix", "10.0.0.0/8", lab)  # only the listed lab space


def test_standings_are_raised_by_writers_and_lowered_only_by_revoking(db_url: str) -> None:
    rules = AssetRules()
    with session_scope(db_url) as s:
        p = Provider(name="P", source="manual", created_at=T0, updated_at=T0)
        s.add(p)
        s.flush()
        a = write_asset(s, p, "prefix", "45.10.0.0/16", standing="manual", provenance="x",
                        now=T0, rules=rules)  # fmt: skip
        assert a.standing == "manual"
        verify(s, "P", [("prefix", "45.10.0.0/16")], now=T0, rules=rules)
        again = write_asset(s, p, "prefix", "45.10.0.0/16", standing="manual",
                            provenance="typed again", now=T0, rules=rules)  # fmt: skip
        assert again.standing == "verified"
        with pytest.raises(AssetError, match="manual or verified"):
            write_asset(s, p, "asn", "64500", standing="automatic", provenance="x", now=T0,
                        rules=rules)  # fmt: skip
        with pytest.raises(AssetError, match="provenance"):
            write_asset(s, p, "asn", "64500", standing="manual", provenance=" ", now=T0,
                        rules=rules)  # fmt: skip
        assert unverify(s, "P", "prefix", "45.10.0.0/16", now=T0, rules=rules) == 1
        assert unverify(s, "P", "prefix", "45.10.0.0/16", now=T0, rules=rules) == 0
        assert again.standing == "manual"
        # one bad value leaves the provider as it was
        with pytest.raises(AssetError):
            verify(s, "P", [("asn", "64501"), ("prefix", "0.0.0.0/0")], now=T0, rules=rules)
        assert s.scalar(select(ProviderAsset).where(ProviderAsset.value == "64501")) is None
        with pytest.raises(AssetError, match="automatic asset"):
            AutomaticAssets(s.get_bind().dialect, T0).insert(
                s.connection(), [(p.id, "prefix", "45.0.0.0/8", "x")]
            )


def test_verified_and_manual_assets_both_win_in_attribution(db_url: str) -> None:
    """Standing decides access; for attribution, any hand-written asset beats automatic data."""
    rules = AssetRules()
    with session_scope(db_url) as s:
        for name in ("Typed", "Granted"):
            s.add(Provider(name=name, source="manual", created_at=T0, updated_at=T0))
        s.flush()
        typed = s.scalar(select(Provider).where(Provider.name == "Typed"))
        assert typed is not None
        write_asset(s, typed, "prefix", "45.10.0.0/16", standing="manual", provenance="x",
                    now=T0, rules=rules)  # fmt: skip
        verify(s, "Granted", [("prefix", "45.10.16.0/20")], now=T0, rules=rules)
        index = ProviderIndex.load(s)
    hits = index.by_prefix(parse_addresses(["45.10.17.1", "45.10.200.1", "46.0.0.1"]))
    assert [h.source if h else None for h in hits] == ["manual", "manual", None]
    assert [h.value if h else None for h in hits] == ["45.10.16.0/20", "45.10.0.0/16", None]


def _alembic(url: str, action: str, revision: str) -> None:
    from alembic import command

    from hostwatch.model.db import alembic_config, engine_for

    config = alembic_config(url)
    with engine_for(url).begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_migration_gives_each_old_asset_its_standing_and_back(db_url: str) -> None:
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from hostwatch.model.db import alembic_config, engine_for

    before = ScriptDirectory.from_config(alembic_config(db_url)).get_revision("0012").down_revision
    _alembic(db_url, "downgrade", str(before))
    old = [("auto", False), ("manual", False), ("admin", True), ("auto", True), ("admin", False)]
    with engine_for(db_url).begin() as c:
        c.execute(text("INSERT INTO providers (id, name, kind, is_cdn, is_shared_platform, source,"
                       " created_at, updated_at) VALUES (1, 'P', 'hosting', false, false, 'auto',"
                       " :t, :t)"), {"t": T0})  # fmt: skip
        for n, (source, verified) in enumerate(old):
            c.execute(text("INSERT INTO provider_assets (provider_id, kind, value, source,"
                           " verified, created_at) VALUES (1, 'asn', :v, :s, :ver, :t)"),
                      {"v": str(64500 + n), "s": source, "ver": verified, "t": T0})  # fmt: skip
    _alembic(db_url, "upgrade", "0012")
    with engine_for(db_url).begin() as c:
        got = c.execute(text("SELECT value, standing FROM provider_assets ORDER BY value")).all()
    assert [s for _, s in got] == ["automatic", "manual", "verified", "verified", "manual"]
    _alembic(db_url, "downgrade", str(before))
    with engine_for(db_url).begin() as c:
        back = c.execute(text("SELECT source, verified FROM provider_assets ORDER BY value")).all()
    assert [(s, bool(v)) for s, v in back] == [
        ("auto", False), ("manual", False), ("manual", True), ("manual", True), ("manual", False)
    ]  # fmt: skip
    _alembic(db_url, "upgrade", "head")
