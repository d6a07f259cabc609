"""hostwatch's own outage is not a takedown (issue 14): the workflow through real loopback servers.

A dnsmasq on loopback is the configured resolver for 20 reported host names; a web server serves
their URLs and the control URL; passes run hour by hour on a pinned clock, as ``hostwatch run``
makes them. The resolver really stops answering (SIGSTOP) for 16 hours and comes back (SIGCONT):
no case may move, and removals afterwards must be found on the normal schedule. With the network
down from the start (each pass is ``hostwatch run --once`` in a network namespace with no
interface up), URLs never seen online must never become "removed".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from ntd_servers import HOSTER, T0, Site, _handler, seed_notice
from sqlalchemy import func, select

from hostwatch.attribution.assets import AssetRules
from hostwatch.clock import Clock
from hostwatch.model.audit import AuditEvent
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import session_scope
from hostwatch.model.observation import Observation
from hostwatch.model.url import Url
from hostwatch.net.dns import resolve_many
from hostwatch.settings import Settings, configure
from hostwatch.takedown.checker import CheckOptions, CheckSession, Politeness, Timeouts
from hostwatch.takedown.checker.health import outage_windows
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.workflow import run_pass
from ports import free_dns_port

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
HOSTWATCH = Path(sys.executable).with_name("hostwatch")
POLITE = Politeness(per_host=8, min_interval=0)
QUICK = CheckOptions(timeouts=Timeouts(dns=1.0, connect=2.0, total=5.0))
"""The checker's timeouts shortened so that a pass during the outage takes seconds."""
NAMES = [f"site{n}.test" for n in range(20)]

LAB = AssetRules.allowing(["127.0.0.0/8"])  # the tests' hosters live on loopback


class Resolver:
    """dnsmasq answering for the test names (and NXDOMAIN for other .test names)."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        hosts = folder / "hosts"
        hosts.write_text("".join(f"127.0.0.1 {name}\n" for name in [*names, "control.test"]))
        self.port = free_dns_port()
        self.process = subprocess.Popen(
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
                f"--port={self.port}",
                f"--addn-hosts={hosts}",
                "--local=/test/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        waiting = Clock.system()  # a real wait for a real server: the only wall clock here
        while not resolve_many(["control.test"], self.address, timeout=0.5, clock=waiting)[
            "control.test"
        ].ok:
            assert self.process.poll() is None, "dnsmasq exited"
            assert time.monotonic() < deadline, "dnsmasq did not answer"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop_answering(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def answer_again(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(timeout=10)


class _WideServer(ThreadingHTTPServer):
    """The workflow tests' web server with a listen backlog for 20 checks at once (the
    standard library's 5 drops the SYNs of a burst: a real target's failure, not wanted here)."""

    request_queue_size = 128
    daemon_threads = True


@pytest.fixture
def wide_web() -> Iterator[tuple[Site, str]]:
    site = Site()
    server = _WideServer(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def resolver(tmp_path: Path) -> Iterator[Resolver]:
    server = Resolver(tmp_path, NAMES)
    yield server
    server.close()


def _controlled(monkeypatch: pytest.MonkeyPatch, resolver: Resolver, base: str) -> Settings:
    port = base.rpartition(":")[2]
    monkeypatch.setenv("HOSTWATCH_RESOLVER", resolver.address)
    monkeypatch.setenv("HOSTWATCH_CONTROL_DNS_NAME", "control.test")
    monkeypatch.setenv("HOSTWATCH_CONTROL_URLS", f"http://control.test:{port}/control")
    return configure()


def _states(settings: Settings) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(Url.url, Case.state).join(Url, Url.id == Case.url_id))
        return {url: state for url, state in rows}


def _failures(settings: Settings) -> list[tuple[object, ...]]:
    """The failed checks, for an assertion message."""
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(
                Check.checked_at,
                Check.outcome,
                Check.error,
                Check.inconclusive_reason,
                Check.duration_ms,
            ).where(Check.online.is_(False))
        )
        return [tuple(row) for row in rows]


def _events(settings: Settings, *actions: str) -> list[tuple[str, object]]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.at).where(AuditEvent.action.in_(actions))
        )
        return [(action, at) for action, at in rows]


def test_a_16_hour_resolver_outage_adds_no_removal_and_later_removals_are_found_on_time(
    wf_settings: Settings,
    wide_web: tuple[Site, str],
    resolver: Resolver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site, base = wide_web
    port = base.rpartition(":")[2]
    settings = _controlled(monkeypatch, resolver, base)
    site.status["/control"] = 200
    urls = [f"http://{name}:{port}/p{n}" for n, name in enumerate(NAMES)]
    with session_scope(settings.database_url) as session:
        hoster = add_contact(
            session, ContactSpec(name="H", network="127.0.0.0/8", email=HOSTER), now=T0, rules=LAB
        )
        for n, url in enumerate(urls):
            site.status[f"/p{n}"] = 200
            seed_notice(session, url, received_at=T0, provider_id=hoster.provider_id)
    down = urls[:5]
    clock = Clock.at(T0)
    history: dict[int, dict[str, str]] = {}
    with CheckSession(settings, options=QUICK, politeness=POLITE) as checks:
        for hour in range(0, 41):
            if hour == 4:
                resolver.stop_answering()
            if hour == 20:
                resolver.answer_again()
            if hour == 26:  # five URLs are really taken down
                for n in range(5):
                    site.status[f"/p{n}"] = 404
            clock.set(T0 + timedelta(hours=hour))
            run_pass(settings, clock, checks=checks)
            history[hour] = _states(settings)

    # the outage moved no case: everything was reachable before, during and after it
    for hour in range(0, 30):
        assert set(history[hour].values()) == {"reachable"}, (hour, _failures(settings))
    # the five taken down are seen gone at 30 h, confirmed by the checks at 31 h and 32 h
    assert {history[31][url] for url in down} == {"offline-pending"}
    assert {history[32][url] for url in down} == {"removed"}
    assert {url for url, state in history[40].items() if state != "reachable"} == set(down)
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 20
        removed_at = set(session.scalars(select(Case.removed_at).where(Case.state == "removed")))
        assert removed_at == {T0 + timedelta(hours=30)}
        # the checks at 6, 12 and 18 h were made and kept, each marked as evidence of nothing
        reasons = session.execute(
            select(Check.checked_at, Check.inconclusive_reason, Check.outcome).where(
                Check.inconclusive_reason.is_not(None)
            )
        ).all()
        assert sorted({at for at, _, _ in reasons}) == [
            T0 + timedelta(hours=h) for h in (6, 12, 18)
        ]
        assert len(reasons) == 60
        assert {(reason, outcome) for _, reason, outcome in reasons} == {
            ("resolver-timeout", "dns-fail")
        }
        # the outage is on record as the checker's, and its window can be recomputed
        windows = outage_windows(session, T0, T0 + timedelta(hours=41))
        assert [(w.start, w.end, w.reason) for w in windows] == [
            (T0 + timedelta(hours=6), T0 + timedelta(hours=24), "control-dns-failed")
        ]
        health = session.scalars(
            select(Observation.data)
            .where(Observation.kind == "checker-health")
            .order_by(Observation.observed_at)
        ).all()
        assert [h["ok"] for h in health].count(False) == 3
    assert _events(settings, "case.reappeared", "case.unconfirmed") == []
    assert (
        sorted(at for _, at in _events(settings, "case.removed")) == [T0 + timedelta(hours=32)] * 5
    )


def test_a_url_never_seen_online_is_unconfirmed_never_removed(
    wf_settings: Settings, web: tuple[Site, str]
) -> None:
    site, base = web
    with session_scope(wf_settings.database_url) as session:
        hoster = add_contact(
            session, ContactSpec(name="H", network="127.0.0.0/8", email=HOSTER), now=T0, rules=LAB
        )
        seed_notice(session, f"{base}/never", received_at=T0, provider_id=hoster.provider_id)
        seed_notice(session, f"{base}/later", received_at=T0, provider_id=hoster.provider_id)
    clock = Clock.at(T0)
    states = []
    for hour in range(0, 13):
        if hour == 12:
            site.status["/later"] = 200  # first seen online after half a day
        clock.set(T0 + timedelta(hours=hour))
        run_pass(wf_settings, clock, politeness=POLITE)
        states.append(_states(wf_settings))
    assert {s[f"{base}/never"] for s in states} == {"unconfirmed"}
    assert [s[f"{base}/later"] for s in states] == ["unconfirmed"] * 12 + ["reachable"]
    assert _events(wf_settings, "case.removed", "case.offline-pending") == []


def test_a_url_the_policy_forbids_is_not_checkable(
    wf_settings: Settings, web: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, base = web
    site.status["/p"] = 200
    with session_scope(wf_settings.database_url) as session:
        hoster = add_contact(
            session, ContactSpec(name="H", network="127.0.0.0/8", email=HOSTER), now=T0, rules=LAB
        )
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=hoster.provider_id)
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "192.0.2.0/24")  # loopback is forbidden
    settings = configure()
    for hour in (0, 6, 30):
        run_pass(settings, Clock.at(T0 + timedelta(hours=hour)), politeness=POLITE)
        assert set(_states(settings).values()) == {"not-checkable"}
    assert site.requests == []
    with session_scope(settings.database_url) as session:
        case = session.scalars(select(Case)).one()
        # no re-notice claims a URL we may not look at is still online: only the first notice
        assert case.messages_sent == 1
        reasons = set(session.scalars(select(Check.inconclusive_reason)))
    assert reasons == {"blocked-by-policy"}


def _unix_socket_url(url: str) -> str:
    """The same database through PostgreSQL's unix socket: reachable without any network."""
    if url.startswith("sqlite"):
        return url
    name = url.rpartition("/")[2]
    return f"postgresql://postgres@/{name}?host=/var/run/postgresql"


def test_with_the_network_down_from_the_start_nothing_is_removed(
    settings: Settings,
    web: tuple[Site, str],
    resolver: Resolver,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Each pass is ``hostwatch run --once`` in a fresh network namespace, where not even
    loopback is up: the resolver, the targets and the control URL are all unreachable."""
    site, base = web
    port = base.rpartition(":")[2]
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("HOSTWATCH_RESOLVER", resolver.address)
    monkeypatch.setenv("HOSTWATCH_CONTROL_URLS", f"{base}/control")
    monkeypatch.setenv("HOSTWATCH_DATABASE_URL", _unix_socket_url(settings.database_url))
    settings = configure()
    site.status["/control"] = 200
    urls = [f"http://{NAMES[0]}:{port}/a", f"http://{NAMES[1]}:{port}/b", f"{base}/c"]
    with session_scope(settings.database_url) as session:
        hoster = add_contact(
            session, ContactSpec(name="H", network="127.0.0.0/8", email=HOSTER), now=T0, rules=LAB
        )
        for url in urls:  # none of them is served: they are gone, but nobody can tell yet
            seed_notice(session, url, received_at=T0, provider_id=hoster.provider_id)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTWATCH_NOW")}
    for hour in (0, 1, 2, 6):
        at = (T0 + timedelta(hours=hour)).isoformat()
        done = subprocess.run(
            ["unshare", "-n", str(HOSTWATCH), "--now", at, "run", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert set(_states(settings).values()) == {"notified"}, done.stderr
    assert site.requests == []
    with session_scope(settings.database_url) as session:
        checks = session.execute(select(Check.inconclusive_reason, Check.error)).all()
        windows = outage_windows(session, T0, T0 + timedelta(hours=7))
    assert len(checks) == 6  # at 0 h and 6 h: a notified URL is checked every 6 h
    assert {reason for reason, _ in checks} == {"resolver-unreachable", "no-route"}
    assert [(w.start, w.reason, w.ongoing) for w in windows] == [(T0, "control-url-failed", True)]
    # the network is back: the failures count now, and a URL never seen online is unconfirmed
    run_pass(settings, Clock.at(T0 + timedelta(hours=12)), politeness=POLITE)
    assert set(_states(settings).values()) == {"unconfirmed"}
    assert _events(settings, "case.removed") == []
