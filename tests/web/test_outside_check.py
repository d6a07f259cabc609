"""The interface the outside check uses, end to end with the real commands and server:
contacts add -> access grant -> ingest -> run --once -> tokens create -> serve -> GET /cases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import free_port
from hostwatch.settings import Settings

HOSTWATCH = str(Path(sys.executable).parent / "hostwatch")
NOW = "2024-03-01T10:00:00Z"


@pytest.mark.slow
def test_provider_token_sees_its_own_cases_only(settings: Settings, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOSTWATCH_DATABASE_URL": settings.database_url,
        "HOSTWATCH_STATE_DIR": str(tmp_path / "state"),
        "HOSTWATCH_OUTBOX_DIR": str(tmp_path / "outbox"),
        "HOSTWATCH_CONFIG": str(tmp_path / "absent.toml"),
        "HOSTWATCH_ALLOW_NETWORKS": "127.0.0.0/8",
    }

    def hw(*args: str) -> str:
        done = subprocess.run(
            [HOSTWATCH, "--now", NOW, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    hw(
        "contacts",
        "add",
        "--name",
        "Example Hosting",
        "--network",
        "127.0.0.1/32",
        "--email",
        "abuse@example.net",
    )
    hw(
        "contacts",
        "add",
        "--name",
        "Other Hosting",
        "--network",
        "127.0.0.2/32",
        "--email",
        "abuse@other.example",
    )
    # a network typed in with the contact is a manual asset: only an admin's grant verifies it
    hw("access", "grant", "Example Hosting", "--prefix", "127.0.0.1/32")
    hw("access", "grant", "Other Hosting", "--prefix", "127.0.0.2/32")
    notices = tmp_path / "notices.csv"
    notices.write_text("url\nhttp://127.0.0.1:9/mine\nhttp://127.0.0.2:9/theirs\n")
    hw("ingest", str(notices))
    hw("run", "--once")
    assert "2 digest message(s) queued" in hw("digests")
    hw("run", "--once")
    mails = [p.read_text(errors="replace") for p in (tmp_path / "outbox").rglob("*.eml")]
    assert sum("Daily hostwatch digest for Example Hosting" in m for m in mails) == 1
    tokens = {
        name: hw("tokens", "create", "--role", "provider", "--provider", name)
        .strip()
        .splitlines()[-1]
        for name in ("Example Hosting", "Other Hosting")
    }
    analyst = hw("tokens", "create", "--role", "analyst").strip().splitlines()[-1]
    port = free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - the server writes to it until stopped
    server = subprocess.Popen(
        [HOSTWATCH, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                import time

                time.sleep(0.1)

        def cases(token: str) -> list[dict]:
            r = httpx.get(base + "/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
            return r.json()

        mine = cases(tokens["Example Hosting"])
        assert [(c["url"], c["provider"]) for c in mine] == [
            ("http://127.0.0.1:9/mine", "Example Hosting")
        ]
        for field in ("state", "first_message_at", "removed_at", "takedown_seconds"):
            assert field in mine[0]
        theirs = cases(tokens["Other Hosting"])
        assert [c["url"] for c in theirs] == ["http://127.0.0.2:9/theirs"]
        everything = cases(analyst)
        listed = hw("cases", "--format", "json")
        assert len(everything) == 2 and all(c["url"] in listed for c in everything)
        assert httpx.get(base + "/api/v1/cases").status_code == 401
    finally:
        server.terminate()
        server.wait(10)
        log.close()
