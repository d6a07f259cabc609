"""The read path under load: the lean case list and feed say exactly what the ORM path said, to
every role; keyset paging holds while cases are added; ETags follow the data.

The API's case list and the provider feed read plain columns (``web.rows.CASE_COLUMNS``)
instead of ORM objects. These tests hold them to the reference: the same cases turned into rows
by ``case_row`` from ``Case`` objects and passed through ``disclose`` for each principal, with
the states a provider is told under another name and a case attributed to someone else in a
provider's verified space among them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from fastapi import Request, Response
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from webworld import NOW, World, _case

from conftest import bearer
from hostwatch.clock import Clock
from hostwatch.model import ApiToken, Case, Provider, Url
from hostwatch.model.db import engine_for, session_factory, session_scope
from hostwatch.settings import Settings
from hostwatch.takedown.provider_feed import RECENT_DAYS, feed_cases
from hostwatch.takedown.states import transition
from hostwatch.web.app import create_app
from hostwatch.web.auth import Principal, authenticate, create_token, revoke_token, token_hash
from hostwatch.web.disclosure import case_filter, disclose, sees_identifiers
from hostwatch.web.read_cache import DataVersion, ReadCache
from hostwatch.web.rows import case_row

ROLES = ("admin", "analyst", "regulator", "researcher", "alpha", "beta", "gamma")


def _tricky_cases(settings: Settings, world: World) -> None:
    """Beta's case escalated (beta must read 'reachable'), and a case in beta's verified AS
    attributed to another provider (beta must see neither its name nor its id)."""
    with session_scope(settings.database_url) as s:
        escalated = _case(
            s,
            "beta",
            world.providers["beta"],
            "http://escalated.example/e",
            "escalated.example",
            "198.51.100.8",
            64501,
            removed_after=None,
            n=6,
        )
        transition(s, escalated, "escalated", at=NOW, reason="level 2: the registrar")
        _case(
            s,
            "beta",
            world.providers["gamma"],
            "http://resold.example/r",
            "resold.example",
            "198.51.100.9",
            64501,
            removed_after=None,
            n=7,
        )


def _reference_rows(settings: Settings, token: str) -> list[dict]:
    """What the list said before it read plain columns: ORM cases through case_row, disclosed."""
    with session_scope(settings.database_url) as s:
        who = authenticate(s, token, NOW)
        rows = s.execute(
            select(Case, Url.url, Provider.name)
            .join(Url, Url.id == Case.url_id)
            .outerjoin(Provider, Provider.id == Case.provider_id)
            .where(case_filter(s, who))
            .order_by(Case.id)
        ).all()
        shown = [
            case_row(
                c,
                url,
                name,
                identifiers=sees_identifiers(who),
                pseudonym_key=settings.pseudonym_key,
            )
            for c, url, name in rows
        ]
        return [disclose("case", row, who) for row in shown]


def test_case_list_and_single_case_match_the_reference_for_every_role(
    client: TestClient, world: World, settings: Settings
) -> None:
    _tricky_cases(settings, world)
    for role in ROLES:
        h = bearer(world.tokens[role])
        expected = _reference_rows(settings, world.tokens[role])
        got = client.get("/api/v1/cases", headers=h).json()
        assert got == expected, role
        for row in expected:
            assert client.get(f"/api/v1/cases/{row['id']}", headers=h).json() == row, role
    _assert_tricky_cases_hidden(client.get("/api/v1/cases", headers=bearer(world.tokens["beta"])))


def _assert_tricky_cases_hidden(response) -> None:  # type: ignore[no-untyped-def]
    rows = {c["url"]: c for c in response.json()}
    assert rows["http://escalated.example/e"]["state"] == "reachable"
    assert rows["http://escalated.example/e"]["state_since"] is None
    assert rows["http://resold.example/r"]["provider"] is None
    assert rows["http://resold.example/r"]["provider_id"] is None


def test_feed_matches_the_reference(client: TestClient, world: World, settings: Settings) -> None:
    _tricky_cases(settings, world)
    for role in ("alpha", "beta", "gamma"):
        with session_scope(settings.database_url) as s:
            who = authenticate(s, world.tokens[role], NOW)
            expected = [
                disclose("case", case_row(c, url, name, identifiers=True, pseudonym_key=""), who)
                for c, url, name in feed_cases(s, who.provider_id or 0, NOW)
            ]
        got = client.get("/api/v1/feed", headers=bearer(world.tokens[role])).json()
        assert got == expected, role
    _assert_tricky_cases_hidden(client.get("/api/v1/feed", headers=bearer(world.tokens["beta"])))


def test_paging_stays_whole_while_cases_are_added(
    client: TestClient, world: World, settings: Settings
) -> None:
    """A provider pages one case at a time while new cases arrive in its space between pages:
    no case is shown twice, none that existed at the start is skipped, and the order holds."""

    def add(n: int) -> int:
        with session_scope(settings.database_url) as s:
            return _case(
                s,
                "beta",
                world.providers["beta"],
                f"http://new{n}.beta-host.example/p",
                f"new{n}.beta-host.example",
                f"198.51.100.{20 + n}",
                64501,
                removed_after=None,
                n=100 + n,
            ).id

    for n in range(5):
        add(n)
    h = bearer(world.tokens["beta"])
    before = [c["id"] for c in client.get("/api/v1/cases", headers=h).json()]
    assert len(before) == 6
    seen: list[int] = []
    added: list[int] = []
    cursor = None
    for page in range(50):
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        r = client.get("/api/v1/cases", params=params, headers=h)
        seen += [c["id"] for c in r.json()]
        if page < 4:  # a new case after each of the first pages, while the reader is mid-list
            added.append(add(10 + page))
        cursor = r.headers.get("x-next-cursor")
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and seen == sorted(seen)
    assert set(before) <= set(seen)
    assert set(seen) == set(before) | set(added)  # ids grow: what arrived came after the cursor


def test_an_etag_is_revalidated_until_the_data_changes(
    client: TestClient, world: World, settings: Settings
) -> None:
    """304 while nothing changed; after a write (a worker's state change, outside the web
    server) the same If-None-Match gets the new data and a new ETag, for the list and the feed."""
    h = bearer(world.tokens["alpha"])
    paths = ("/api/v1/cases", "/api/v1/feed", f"/api/v1/cases/{world.cases['alpha'][0]}")
    tags = {p: client.get(p, headers=h).headers["etag"] for p in paths}
    for path, tag in tags.items():
        again = client.get(path, headers={**h, "If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"", path
    with session_scope(settings.database_url) as s:
        transition(
            s, s.get(Case, world.cases["alpha"][0]), "removed", at=NOW, reason="3 failed checks"
        )
    for path, tag in tags.items():
        fresh = client.get(path, headers={**h, "If-None-Match": tag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != tag, path
        body = fresh.json()
        rows = body if isinstance(body, list) else [body]
        assert any(c["id"] == world.cases["alpha"][0] and c["state"] == "removed" for c in rows), (
            path
        )


def test_a_provider_page_reads_its_attributions_through_an_index(
    client: TestClient, world: World, settings: Settings
) -> None:
    """Migration 0020: a provider's verified ASNs find their attributions without reading the
    whole table (SQLite's plan; PostgreSQL's planner picks by table size, tested by the bench)."""
    url = settings.database_url
    with engine_for(url).connect() as conn:
        if conn.dialect.name != "sqlite":
            indexes = conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename IN ('attributions','cases')")
            ).scalars()
            assert {"ix_attributions_origin_asn", "ix_cases_attribution_id"} <= set(indexes)
            return
        plan = conn.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT cases.id FROM cases WHERE cases.attribution_id IN "
                "(SELECT id FROM attributions WHERE origin_asn IN (64501)) AND cases.id > 0 "
                "ORDER BY cases.id LIMIT 51"
            )
        ).all()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "ix_attributions_origin_asn" in details and "SCAN attributions" not in details, details


def test_a_kept_feed_drops_a_done_case_when_it_grows_old(settings: Settings, world: World) -> None:
    """Answers are kept while the data is unchanged, but the feed also changes by the clock
    alone: a removed case leaves it RECENT_DAYS after its removal, kept answer or not."""
    clock = Clock.at(NOW)
    with session_scope(settings.database_url) as s:
        old = _case(
            s,
            "beta",
            world.providers["beta"],
            "http://ageing.example/a",
            "ageing.example",
            "198.51.100.30",
            64501,
            removed_after=None,
            n=8,
        )
        transition(
            s, old, "removed", at=NOW - timedelta(days=RECENT_DAYS, hours=-1), reason="checks"
        )
        old_id = old.id
    with TestClient(create_app(settings, clock=clock), base_url="http://127.0.0.1") as client:
        h = bearer(world.tokens["beta"])
        _settle_token_use(client, settings, world.tokens["beta"])
        first = client.get("/api/v1/feed", headers=h)
        assert old_id in [c["id"] for c in first.json()]
        assert client.get("/api/v1/feed", headers=h).json() == first.json()  # kept
        clock.advance(timedelta(hours=2))
        later = client.get("/api/v1/feed", headers={**h, "If-None-Match": first.headers["etag"]})
        assert later.status_code == 200 and old_id not in [c["id"] for c in later.json()]


def _settle_token_use(client: TestClient, settings: Settings, token: str) -> None:
    """Use the token once and wait until its "last used" stamp (a write in the background, which
    changes the data version) is committed, so the next answers are kept."""
    client.get("/api/v1/providers", headers=bearer(token))
    for _ in range(100):
        with session_scope(settings.database_url) as s:
            if s.scalar(
                select(ApiToken.last_used_at).where(ApiToken.token_hash == token_hash(token))
            ):
                return
        time.sleep(0.05)
    raise AssertionError("the token's use was never recorded")


def test_a_kept_answer_is_never_given_to_a_revoked_token(
    client: TestClient, world: World, settings: Settings
) -> None:
    h = bearer(world.tokens["alpha"])
    assert client.get("/api/v1/cases", headers=h).status_code == 200
    with session_scope(settings.database_url) as s:
        who = authenticate(s, world.tokens["alpha"], NOW)
        revoke_token(s, who.token_id, NOW)
    assert client.get("/api/v1/cases", headers=h).status_code == 401
    assert client.get("/api/v1/feed", headers=h).status_code == 401


def test_every_token_of_a_burst_is_recorded(
    client: TestClient, world: World, settings: Settings
) -> None:
    """Uses are written in batches (one commit, one new data version, per batch): none is lost."""
    names = ("alpha", "beta", "analyst", "researcher")
    for name in names:
        assert (
            client.get("/api/v1/providers", headers=bearer(world.tokens[name])).status_code == 200
        )
    hashes = [token_hash(world.tokens[name]) for name in names]
    for _ in range(200):
        with session_scope(settings.database_url) as s:
            stamps = list(
                s.scalars(select(ApiToken.last_used_at).where(ApiToken.token_hash.in_(hashes)))
            )
        if all(stamps):
            break
        time.sleep(0.05)
    assert len(stamps) == len(names) and all(stamps)


def test_the_data_version_moves_with_every_commit_of_another_connection(
    settings: Settings, world: World
) -> None:
    """The version the kept answers hang on: unchanged while nobody commits, new after any
    commit elsewhere; an in-memory SQLite database (no other connection to watch) never
    repeats one, so nothing is kept for it."""
    engine = engine_for(settings.database_url)
    version = DataVersion(engine)

    def commit() -> None:
        with session_scope(settings.database_url) as s:
            transition(s, s.get(Case, world.cases["alpha"][0]), "removed", at=NOW, reason="checks")

    async def check() -> None:
        first = await version.read()
        if engine.dialect.name == "sqlite":  # PostgreSQL's moves with the whole cluster's work
            assert await version.read() == first
        await asyncio.to_thread(commit)
        assert await version.read() != first
        memory = DataVersion(create_engine("sqlite://"))
        assert await memory.read() != await memory.read()

    asyncio.run(check())


def test_a_commit_is_seen_by_the_next_read_however_busy_the_probe(
    settings: Settings, world: World
) -> None:
    """Readers share version probes (one in flight per process), yet a read that starts after a
    commit never gets a version from before it: 16 tasks read the version without pause while
    the test commits and reads, 30 times."""
    version = DataVersion(engine_for(settings.database_url))
    case_id = world.cases["alpha"][0]

    def commit(n: int) -> None:
        with session_scope(settings.database_url) as s:
            s.get(Case, case_id).classification = f"csam-{n}"

    async def check() -> None:
        stop = asyncio.Event()

        async def hammer() -> None:
            while not stop.is_set():
                await version.read()
                await asyncio.sleep(0)

        readers = [asyncio.create_task(hammer()) for _ in range(16)]
        try:
            for n in range(30):
                before = await version.read()
                await asyncio.to_thread(commit, n)
                assert await version.read() != before, n
        finally:
            stop.set()
            await asyncio.gather(*readers)

    asyncio.run(check())


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_version_probe_survives_the_database_dropping_its_connections(
    client: TestClient, world: World, settings: Settings
) -> None:
    """PostgreSQL restarted or an operator killed the service's connections (only a database
    server can do that, hence PostgreSQL only): the next request is answered (the probe
    reconnects, the pool pings), and from fresh data."""
    h = bearer(world.tokens["alpha"])
    before = client.get("/api/v1/cases", headers=h).json()
    with session_scope(settings.database_url) as s:
        killed = s.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        transition(s, s.get(Case, world.cases["alpha"][0]), "removed", at=NOW, reason="checks")
    assert killed >= 1
    after = client.get("/api/v1/cases", headers=h)
    assert after.status_code == 200
    states = {c["id"]: c["state"] for c in after.json()}
    assert states[world.cases["alpha"][0]] == "removed" != before[0]["state"]


def test_a_kept_token_check_ends_at_the_tokens_expiry(settings: Settings, world: World) -> None:
    """Token checks are kept while the data is unchanged, but a token also expires by the clock
    alone: the first request after its expiry is refused, kept check or not."""
    clock = Clock.at(NOW)
    with session_scope(settings.database_url) as s:
        token = create_token(
            s, role="provider", provider_name="Alpha Hosting", now=NOW, expires_days=1 / 24
        ).token
    with TestClient(create_app(settings, clock=clock), base_url="http://127.0.0.1") as client:
        _settle_token_use(client, settings, token)
        h = bearer(token)
        assert client.get("/api/v1/feed", headers=h).status_code == 200
        assert client.get("/api/v1/feed", headers=h).status_code == 200  # kept
        clock.advance(timedelta(minutes=61))
        assert client.get("/api/v1/feed", headers=h).status_code == 401


def test_the_feed_in_pages_is_the_whole_feed(
    client: TestClient, world: World, settings: Settings
) -> None:
    """Paged one case at a time, the feed follows X-Next-Cursor to the same rows in the same
    order as the whole feed; a cursor naming another provider's case gives an empty page
    rather than placing it (which would tell when that case was opened)."""
    _tricky_cases(settings, world)
    h = bearer(world.tokens["beta"])
    whole = client.get("/api/v1/feed", headers=h).json()
    assert len(whole) >= 3
    paged, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/feed?limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=h
        )
        assert page.status_code == 200
        paged += page.json()
        cursor = page.headers.get("x-next-cursor")
        if cursor is None:
            break
        assert 'rel="next"' in page.headers["link"]
    assert paged == whole
    alien = client.get(f"/api/v1/feed?limit=1&cursor={world.cases['alpha'][0]}", headers=h)
    assert alien.status_code == 200 and alien.json() == []


def test_many_misses_of_one_answer_compute_it_once(settings: Settings) -> None:
    """After a commit, every client polling a page misses at the same moment: 20 concurrent
    requests for one answer compute it once and all get that answer; another answer (another
    viewer) is computed apart; and the computation outlives the request that began it."""
    cache = ReadCache(engine_for(settings.database_url), session_factory(settings.database_url))
    computed: list[int] = []

    def request(query: str) -> Request:
        scope = {"type": "http", "method": "GET", "path": "/api/v1/feed", "headers": []}
        return Request({**scope, "query_string": query.encode(), "server": ("t", 80)})

    def compute(session: Session) -> tuple[Response, None]:
        computed.append(session.scalar(select(func.count()).select_from(Case)))
        time.sleep(0.2)
        return Response(b"[]", headers={"ETag": '"e"'}), None

    async def ask(viewer: Principal) -> bytes:
        return (await cache.answer(request("limit=50"), viewer, NOW, compute)).body

    async def burst() -> list[bytes]:
        alpha, beta = Principal(1, "provider", 1), Principal(2, "provider", 2)
        first = asyncio.create_task(ask(alpha))
        await asyncio.sleep(0.05)
        others = [asyncio.create_task(ask(alpha if n < 19 else beta)) for n in range(23)]
        first.cancel()  # the client that began the computation hangs up
        return await asyncio.gather(*others)

    assert asyncio.run(burst()) == [b"[]"] * 23
    assert len(computed) == 2


def test_staff_read_a_named_providers_feed_and_no_other(client: TestClient, world: World) -> None:
    """Staff read the feed of the provider they name (as that provider sees it); a provider that
    does not exist is a 404, not an empty feed, and naming none is a 400."""
    admin = bearer(world.tokens["admin"])
    beta = client.get("/api/v1/feed", headers=bearer(world.tokens["beta"])).json()
    named = client.get(f"/api/v1/feed?provider_id={world.providers['beta']}", headers=admin)
    assert named.status_code == 200 and named.json() == beta
    assert client.get("/api/v1/feed?provider_id=987654", headers=admin).status_code == 404
    assert client.get("/api/v1/feed", headers=admin).status_code == 400
