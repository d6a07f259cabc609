"""A real HTTP server on loopback that tests script: fixed answers per path, and a request log."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Scripted:
    """Answers by path; ``queued`` answers (status, headers, body) are served first, once each."""

    answers: dict[str, bytes] = field(default_factory=dict)
    queued: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    log: list[tuple[float, str]] = field(default_factory=list)
    base_url: str = ""

    def requests_for(self, path: str) -> list[float]:
        return [when for when, seen in self.log if seen == path]


def _handler(script: Scripted) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.log.append((time.monotonic(), self.path))
            queue = script.queued.get(self.path)
            if queue:
                status, headers, body = queue.pop(0)
            elif self.path in script.answers:
                status, headers, body = (
                    200,
                    {"Content-Type": "application/rdap+json"},
                    (script.answers[self.path]),
                )
            else:
                status, headers, body = (
                    404,
                    {"Content-Type": "application/rdap+json"},
                    (b'{"errorCode": 404, "title": "Not Found"}'),
                )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def scripted_server() -> Iterator[Scripted]:
    script = Scripted()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    script.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rdap_answers(shared_data) -> dict[str, dict]:
    """The real RDAP answers of ../shared/data/10, keyed by the queried address."""
    path = shared_data / "10_rdap-whois-samples" / "ipwhois_tests" / "rdap.json"
    return {ip: entry["response"] for ip, entry in json.loads(path.read_text()).items()}


@pytest.fixture
def whois_answers(shared_data) -> dict[str, str]:
    """The real port-43 WHOIS answers of ../shared/data/10, keyed by the queried address."""
    path = shared_data / "10_rdap-whois-samples" / "ipwhois_tests" / "whois.json"
    return {ip: entry["response"] for ip, entry in json.loads(path.read_text()).items()}
