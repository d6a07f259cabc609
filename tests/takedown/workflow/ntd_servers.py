"""Loopback servers for the workflow tests (scripted web server, SMTP sink) and seeding."""

from __future__ import annotations

import asyncio
import email
import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message as EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from hostwatch.identity import url_id
from hostwatch.model.attribution import Attribution
from hostwatch.model.notice import Notice
from hostwatch.model.url import Url
from hostwatch.settings import Settings, configure

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
# The escalation the in-process scenario and the worker scenario both run: hoster at once, the
# upstream after two re-notice intervals, the police after three.
LADDER = """
[[default.ladder]]
role = "hoster"
after_intervals = 0
[[default.ladder]]
role = "upstream"
after_intervals = 2
[[default.ladder]]
role = "authority"
after_intervals = 3
"""
HOSTER, UPSTREAM, POLICE = "abuse@hoster.test", "noc@upstream.test", "ntd@police.test"


class Site:
    """Paths the web server answers: status per path, redirects, and a delay per path."""

    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.location: dict[str, str] = {}
        self.delay: dict[str, float] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return

        def _answer(self) -> None:
            path = self.path
            with site.lock:
                site.requests.append((self.command, path))
                status = site.status.get(path, 404)
                location = site.location.get(path)
                delay = site.delay.get(path, 0.0)
            if delay:
                threading.Event().wait(delay)
            body = b"present" if status == 200 else b"gone"
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        do_HEAD = _answer
        do_GET = _answer

    return Handler


@contextmanager
def serve(site: Site, host: str = "127.0.0.1") -> Iterator[str]:
    """A web server for ``site`` on ``host``; yields its base URL."""
    server = ThreadingHTTPServer((host, 0), _handler(site))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def web() -> Iterator[tuple[Site, str]]:
    site = Site()
    with serve(site) as base:
        yield site, base


@dataclass
class Inbox:
    """What the SMTP sink received, parsed; ``answers`` scripts 4xx/5xx replies for recipients."""

    mails: list[EmailMessage] = field(default_factory=list)
    answers: dict[str, list[str]] = field(default_factory=dict)
    data_delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.mails if m["To"] == address]

    def tickets(self) -> list[str]:
        with self.lock:
            return [str(m["X-Hostwatch-Ticket"]) for m in self.mails]


class _Sink:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(self, server, session, envelope, address, options):
        scripted = self.inbox.answers.get(address)
        if scripted:
            return scripted.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Responsibility is taken with the reply: a client that vanishes during this delay
        # cancels the handler (aiosmtpd), and the mail is not kept, as with a real MTA.
        if self.inbox.data_delay:
            await asyncio.sleep(self.inbox.data_delay)
        mail = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.inbox.lock:
            self.inbox.mails.append(mail)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(_Sink(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def wf_settings(
    settings: Settings, smtp: tuple[Inbox, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The test settings plus SMTP to the sink and loopback allowed for the checker."""
    monkeypatch.setenv("HOSTWATCH_SMTP_URL", smtp[1])
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("HOSTWATCH_NOTIFIER_NAME", "Test Hotline")
    monkeypatch.setenv("HOSTWATCH_NOTIFIER_EMAIL", "hotline@hotline.test")
    return configure()


def seed_notice(
    session: Session,
    url: str,
    *,
    received_at: datetime,
    provider_id: int | None,
    ip: str = "127.0.0.1",
    abuse: str | None = None,
    classification: str = "csam",
) -> int:
    """A notice for ``url`` and its attribution (as the attribution layer would write it)."""
    uid = url_id(url)
    if session.get(Url, uid) is None:
        session.add(
            Url(
                id=uid,
                url=url,
                scheme=url.partition(":")[0],
                host=ip,
                host_type="ipv4",
                port=None,
                registered_domain=None,
                first_seen_at=received_at,
            )
        )
        session.flush()
    notice = Notice(
        notice_key=hashlib.sha256(f"test|{url}|{received_at}".encode()).hexdigest(),
        url_id=uid,
        source="test",
        format="csv",
        classification=classification,
        received_at=received_at,
        raw=url,
    )
    session.add(notice)
    session.flush()
    session.add(
        Attribution(
            url_id=uid,
            notice_id=notice.id,
            at=received_at,
            computed_at=received_at,
            status="ok",
            host=ip,
            ips=[ip],
            ip=ip,
            provider_id=provider_id,
            abuse_contact=abuse,
            country="NL",
        )
    )
    session.flush()
    return uid


def read_outbox(folder: Path) -> list[EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=default_policy)
        for path in sorted(folder.glob("*.eml"))
    ]
