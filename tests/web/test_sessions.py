"""Portal sessions: server-side, a new id at every login, closed at logout, expiring.

Field report: the session cookie was the raw bearer token, and logout only asked the browser to
forget it; a copied cookie kept working.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from webworld import NOW, World

from hostwatch.clock import Clock
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings
from hostwatch.web.app import create_app
from hostwatch.web.auth import SESSION_HOURS, revoke_token


def _login(client: TestClient, token: str) -> str:
    client.get("/login")
    r = client.post(
        "/login",
        data={"token": token, "csrf": client.cookies.get("hw_csrf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r.headers["set-cookie"]


def _opens_queue(app, session_id: str) -> bool:  # type: ignore[no-untyped-def]
    """A fresh browser presenting only this cookie: does it get the staff queue?"""
    with TestClient(app, base_url="http://127.0.0.1") as other:
        other.cookies.set("hw_session", session_id)
        return other.get("/queue", follow_redirects=False).status_code == 200


def test_the_cookie_is_a_session_id_never_the_token(client: TestClient, world: World) -> None:
    token = world.tokens["analyst"]
    header = _login(client, token)
    session_id = client.cookies.get("hw_session")
    assert session_id and token not in header and session_id != token
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "secure" not in lowered
    assert client.get("/queue").status_code == 200
    assert not _opens_queue(client.app, token)  # the raw token as a cookie opens nothing


def test_secure_cookie_over_https(settings: Settings, world: World) -> None:
    app = create_app(settings, clock=Clock.at(NOW))
    with TestClient(app, base_url="https://127.0.0.1") as client:
        assert "secure" in _login(client, world.tokens["analyst"]).lower()


def test_login_rotates_and_logout_revokes(client: TestClient, world: World) -> None:
    _login(client, world.tokens["analyst"])
    first = client.cookies.get("hw_session")
    assert first and _opens_queue(client.app, first)
    _login(client, world.tokens["analyst"])  # the same browser logs in again
    second = client.cookies.get("hw_session")
    assert second and second != first
    assert not _opens_queue(client.app, first), "the id from before the login still works"
    assert _opens_queue(client.app, second)
    r = client.post("/logout", data={"csrf": client.cookies.get("hw_csrf")}, follow_redirects=False)
    assert r.status_code == 303
    assert not _opens_queue(client.app, second), "a copied cookie outlived logout"


def test_sessions_expire_and_die_with_their_token(
    settings: Settings, world: World, client: TestClient
) -> None:
    _login(client, world.tokens["analyst"])
    session_id = client.cookies.get("hw_session") or ""
    late = create_app(settings, clock=Clock.at(NOW + timedelta(hours=SESSION_HOURS, seconds=1)))
    assert not _opens_queue(late, session_id)
    assert _opens_queue(client.app, session_id)
    with session_scope(settings.database_url) as s:
        from sqlalchemy import select

        from hostwatch.model import ApiToken
        from hostwatch.web.auth import token_hash

        token_id = s.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == token_hash(world.tokens["analyst"]))
        )
        revoke_token(s, token_id, NOW)
    assert not _opens_queue(client.app, session_id)


def test_dead_sessions_are_pruned_at_login(
    settings: Settings, world: World, client: TestClient
) -> None:
    from sqlalchemy import func, select

    from hostwatch.model import PortalSession

    def stored() -> int:
        with session_scope(settings.database_url) as s:
            return s.scalar(select(func.count()).select_from(PortalSession)) or 0

    for _ in range(5):  # each login closes the one before it
        _login(client, world.tokens["analyst"])
    assert stored() == 1
    client.post("/logout", data={"csrf": client.cookies.get("hw_csrf")})
    late = create_app(settings, clock=Clock.at(NOW + timedelta(hours=SESSION_HOURS, seconds=1)))
    with TestClient(late, base_url="http://127.0.0.1") as other:
        _login(other, world.tokens["analyst"])
        live = other.cookies.get("hw_session") or ""
    assert stored() == 1, "logged-out and expired sessions are kept for ever"
    assert _opens_queue(late, live)
