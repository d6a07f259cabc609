"""A real HTTPS webhook receiver on loopback (aiohttp, in a thread of its own) for the tests.

It checks each request's signature with the contact's secret the way a provider's desk would
(HMAC-SHA256 over ``"<t>." + raw body``, written here independently of hostwatch's code),
answers with the next scripted status (200 once the script is used up) and keeps every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

SECRET = "s3cret-for-the-webhook-tests-0123456789"


@dataclass
class Request:
    at: float  # time.monotonic() when it arrived
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    url: str
    cert: Path
    secret: str = SECRET
    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def signature_ok(secret: str, header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def _app(receiver: Receiver) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        receiver.requests.append(
            Request(
                time.monotonic(),
                dict(request.headers),
                body,
                signature_ok(
                    receiver.secret, request.headers.get("X-Hostwatch-Signature", ""), body
                ),
            )
        )
        if receiver.delay:
            await asyncio.sleep(receiver.delay)
        status = receiver.script.pop(0) if receiver.script else 200
        return web.Response(status=status, text="ok" if status < 300 else "no")

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app


@pytest.fixture(scope="session")
def webhook_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("webhook-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=desk.test", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def receiver(webhook_cert: tuple[Path, Path]) -> Iterator[Receiver]:
    """An HTTPS receiver at ``https://127.0.0.1:<port>/hook`` with a self-signed certificate."""
    cert, key = webhook_cert
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        runner = web.AppRunner(_app(holder["receiver"]), handle_signals=False)  # type: ignore[arg-type]
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        holder["runner"] = runner
        holder["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    receiver = Receiver(url="", cert=cert)
    holder["receiver"] = receiver

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    receiver.url = f"https://127.0.0.1:{holder['port']}/hook"
    yield receiver
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)  # type: ignore[attr-defined]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
