"""Two procrastinate workers in separate processes on PostgreSQL, driven by a replayed clock.

The test queues one tick per scripted instant and waits until the workers have finished every
job. Twice a worker is killed with SIGKILL in the middle of its work (during liveness checks,
and during an SMTP hand-off) and a fresh worker takes its place; no case or message is lost and
none is done twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from ntd_servers import HOSTER, LADDER, POLICE, T0, UPSTREAM, Inbox, Site, seed_notice
from sqlalchemy import func, select

from hostwatch.attribution.assets import AssetRules
from hostwatch.metrics.case_list import case_rows
from hostwatch.model.audit_verify import verify_log
from hostwatch.model.check import Check
from hostwatch.model.db import session_scope
from hostwatch.model.message import Delivery, Message
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.worker import conninfo, defer_tick, ensure_schema, open_jobs

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LAB = AssetRules.allowing(["127.0.0.0/8"])  # the tests' hosters live on loopback


HOSTWATCH = Path(sys.executable).with_name("hostwatch")


class Workers:
    """Worker processes started by the test; each stopped by its own pid."""

    def __init__(self, env: dict[str, str], policy: Path, logs: Path) -> None:
        self.env = env
        self.policy = policy
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log_files: list[Path] = []

    def start(self) -> subprocess.Popen[bytes]:
        path = self.logs / f"worker-{len(self.procs)}.log"
        self.log_files.append(path)
        log = path.open("wb")
        proc = subprocess.Popen(
            [
                str(HOSTWATCH),
                "worker",
                "--concurrency",
                "3",
                "--no-periodic",
                "--stalled-after",
                "3",
                "--policy",
                str(self.policy),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(pg_url: str, smtp: tuple[Inbox, str], tmp_path: Path) -> Iterator[Workers]:
    policy = tmp_path / "policy.toml"
    policy.write_text(LADDER)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "HOSTWATCH_CONFIG": str(tmp_path / "absent.toml"),
        "HOSTWATCH_DATABASE_URL": pg_url,
        "HOSTWATCH_SMTP_URL": smtp[1],
        "HOSTWATCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "HOSTWATCH_NOTIFIER_NAME": "Test Hotline",
        "HOSTWATCH_NOTIFIER_EMAIL": "hotline@hotline.test",
        "HOSTWATCH_STATE_DIR": str(tmp_path / "state"),
        "HOSTWATCH_OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    ensure_schema(pg_url)
    group = Workers(env, policy, tmp_path)
    yield group
    group.stop_all()


def _wait_idle(pg_url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while open_jobs(pg_url):
        if time.monotonic() > deadline:
            raise AssertionError(f"workers did not finish: {open_jobs(pg_url)} jobs open")
        time.sleep(0.2)


def _busy_worker(pg_url: str, task: str, workers: Workers, timeout: float = 20.0) -> int:
    """The pid of a worker running a job of ``task`` right now (found in the worker logs)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND task_name = %s",
                (task,),
            ).fetchone()
            if row:
                for proc, log in zip(workers.procs, workers.log_files, strict=True):
                    if proc.poll() is None and f"[{row[0]}]" in log.read_text(errors="replace"):
                        return proc.pid
            time.sleep(0.05)
    raise AssertionError(f"no worker picked up a {task} job")


def _timeline(site: Site, hour: float) -> None:
    for path in ("a", "b", "c"):
        site.status[f"/{path}"] = 200
    site.status["/d"] = 200 if hour < 5 or hour >= 70 else 404
    site.status["/e"] = 200 if hour < 50 else 404


def _paths(mail: object) -> list[str]:
    return sorted(
        json.loads(part.get_content())["url"].rsplit("/", 1)[1]
        for part in mail.iter_attachments()  # type: ignore[attr-defined]
        if part.get_filename().startswith("xarf-")  # not a referral's evidence
    )


def test_workers_replay_and_survive_sigkill(
    pg_url: str, web: tuple[Site, str], smtp: tuple[Inbox, str], workers: Workers
) -> None:
    site, base = web
    inbox, _ = smtp
    with session_scope(pg_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="Hoster BV", network="127.0.0.0/8", email=HOSTER),
            now=T0,
            rules=LAB,
        )
        add_contact(
            session,
            ContactSpec(name="Upstream", role="upstream", email=UPSTREAM, for_provider="Hoster BV"),
            now=T0,
        )
        add_contact(session, ContactSpec(name="Police", role="authority", email=POLICE), now=T0)
        for path in "abcde":
            seed_notice(session, f"{base}/{path}", received_at=T0, provider_id=hoster.provider_id)
    first, second = workers.start(), workers.start()
    alive = {first.pid: first, second.pid: second}

    def tick(hour: float) -> None:
        _timeline(site, hour)
        defer_tick(pg_url, T0 + timedelta(hours=hour))

    def kill_busy(task: str) -> None:
        pid = _busy_worker(pg_url, f"ntd:{task}", workers)
        os.kill(pid, signal.SIGKILL)
        alive.pop(pid).wait()
        fresh = workers.start()
        alive[fresh.pid] = fresh

    tick(0)
    _wait_idle(pg_url)
    # SIGKILL during liveness checks: three checks hang for 4 s on the server side
    for path in ("/a", "/b", "/c"):
        site.delay[path] = 4.0
    tick(6)
    kill_busy("check_case")
    _wait_idle(pg_url)
    site.delay.clear()
    for hour in (7, 8):
        tick(hour)
        _wait_idle(pg_url)
    # SIGKILL during the SMTP hand-off of the 24 h re-notice
    inbox.data_delay = 3.0
    tick(24)
    kill_busy("deliver_message")
    _wait_idle(pg_url)
    inbox.data_delay = 0.0
    for hour in (48, 54, 55, 56, 72):
        tick(hour)
        _wait_idle(pg_url)

    logs = "".join(path.read_text(errors="replace") for path in workers.log_files)
    assert "ntd:check_case" in logs.split("retrying job", 1)[1]
    assert "deliver_message" in logs
    assert logs.count("retrying job") >= 2

    to_hoster = [_paths(m) for m in inbox.to(HOSTER)]
    assert to_hoster == [["a", "b", "c", "d", "e"], ["a", "b", "c", "e"], ["d"]]
    assert [_paths(m) for m in inbox.to(UPSTREAM)] == [["a", "b", "c", "e"], ["a", "b", "c"]]
    # one referral per case to the police, not a grouped re-notice
    assert sorted(_paths(m) for m in inbox.to(POLICE)) == [["a"], ["b"], ["c"]]
    assert len(inbox.mails) == len(set(inbox.tickets())) == 8

    with session_scope(pg_url) as session:
        sent = session.execute(
            select(Message.ticket, func.count())
            .join(Delivery, Delivery.message_id == Message.id)
            .where(Delivery.outcome == "sent")
            .group_by(Message.ticket)
        ).all()
        assert sorted(count for _, count in sent) == [1] * 8
        assert session.scalar(select(func.count()).select_from(Message)) == 8
        per_tick = session.execute(
            select(Check.case_id, Check.checked_at, func.count())
            .group_by(Check.case_id, Check.checked_at)
            .having(func.count() > 1)
        ).all()
        assert per_tick == []
        at_six = session.scalar(
            select(func.count()).where(Check.checked_at == T0 + timedelta(hours=6))
        )
        assert at_six == 5
        rows = {r["url"].rsplit("/", 1)[1]: r for r in case_rows(session)}
        assert {p: rows[p]["state"] for p in "abcde"} == {
            "a": "escalated",
            "b": "escalated",
            "c": "escalated",
            "d": "notified",
            "e": "removed",
        }
        assert rows["e"]["takedown_seconds"] == 54 * 3600
        assert rows["a"]["escalation_level"] == 2
        assert rows["d"]["removed_at"] is None
        workers_seen = set(session.scalars(select(Check.worker).distinct()))
        assert len(workers_seen) >= 2
        assert verify_log(session, None).problems == []
