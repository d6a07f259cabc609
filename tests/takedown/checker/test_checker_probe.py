"""Liveness checks against real servers on loopback: outcomes, redirects, TLS, DNS, no content."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from hostwatch.takedown.checker import Checker, Hop, Outcome

if TYPE_CHECKING:
    from tests.takedown.checker.conftest import HttpServer, ScriptedDns, Tls

MakeChecker = Callable[..., Checker]


async def test_online_check_records_status_headers_ip_and_time(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    async with make_checker() as checker:
        result = await checker.check(http_server.url("/ok"))
    assert result.outcome is Outcome.ONLINE
    assert result.status == 200
    assert result.method == "HEAD"
    assert result.ip == "127.0.0.1"
    assert result.port == http_server.port
    assert result.headers["ETag"] == '"v1"'
    assert result.headers["Last-Modified"] == "Fri, 01 Mar 2024 09:00:00 GMT"
    assert result.headers["Content-Type"].startswith("text/plain")
    assert "X-Secret-Token" not in result.headers
    assert result.checked_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert result.timing.connect is not None and result.timing.tls is None
    assert result.timing.first_byte is not None and result.timing.total >= result.timing.first_byte
    assert [seen.method for seen in http_server.log.requests] == ["HEAD"]
    assert json.loads(json.dumps(result.as_dict()))["outcome"] == "online"


@pytest.mark.parametrize(("path", "status"), [("/gone", 410), ("/nothing-here", 404)])
async def test_error_statuses_are_http_errors(
    http_server: HttpServer, make_checker: MakeChecker, path: str, status: int
) -> None:
    async with make_checker() as checker:
        result = await checker.check(http_server.url(path))
    assert result.outcome is Outcome.HTTP_ERROR
    assert result.status == status


async def test_redirect_chain_is_followed_and_recorded_hop_by_hop(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    async with make_checker() as checker:
        result = await checker.check(http_server.url("/chain/2"))
    assert result.outcome is Outcome.ONLINE
    assert result.redirects == (
        Hop(http_server.url("/chain/2"), 301, "127.0.0.1"),
        Hop(http_server.url("/chain/1"), 301, "127.0.0.1"),
        Hop(http_server.url("/chain/0"), 301, "127.0.0.1"),
    )
    assert result.final_url == http_server.url("/ok")


async def test_redirect_loops_stop_at_the_limit(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    async with make_checker(max_redirects=4) as checker:
        result = await checker.check(http_server.url("/loop"))
    assert result.outcome is Outcome.ERROR
    assert result.error == "more than 4 redirects"
    assert len(result.redirects) == 5
    assert len(http_server.log.requests) == 5


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://10.0.0.1/admin", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("file:///etc/passwd", "scheme"),
        ("http://2130706433/", "numeric"),
    ],
)
async def test_redirects_to_forbidden_targets_are_blocked(
    http_server: HttpServer, make_checker: MakeChecker, location: str, reason: str
) -> None:
    async with make_checker() as checker:
        result = await checker.check(http_server.url(f"/to?location={quote(location)}"))
    assert result.outcome is Outcome.BLOCKED
    assert reason in (result.error or "")
    assert result.redirects[0].status == 302
    assert result.ip is None and result.status is None


async def test_redirect_to_loopback_is_blocked_when_only_another_address_is_allowed(
    other_loopback_server: HttpServer,
    http_server: HttpServer,
    http_server_v6: HttpServer,
    make_checker: MakeChecker,
) -> None:
    async with make_checker(allow=("127.0.0.5/32",)) as checker:
        to_v4 = await checker.check(
            other_loopback_server.url(f"/to?location={quote(http_server.url('/ok'))}")
        )
        to_v6 = await checker.check(
            other_loopback_server.url(f"/to?location={quote(http_server_v6.url('/ok'))}")
        )
    assert to_v4.outcome is Outcome.BLOCKED and "127.0.0.1 is loopback" in (to_v4.error or "")
    assert to_v6.outcome is Outcome.BLOCKED and "::1 is loopback" in (to_v6.error or "")
    assert http_server.log.requests == []
    assert http_server_v6.log.requests == []


async def test_ipv6_loopback_works_when_allowed(
    http_server_v6: HttpServer, make_checker: MakeChecker
) -> None:
    async with make_checker() as checker:
        result = await checker.check(http_server_v6.url("/ok"))
    assert result.outcome is Outcome.ONLINE
    assert result.ip == "::1"


async def test_literal_forbidden_address_is_never_contacted(make_checker: MakeChecker) -> None:
    async with make_checker(allow=()) as checker:
        result = await checker.check("http://127.0.0.1:9/")
    assert result.outcome is Outcome.BLOCKED
    assert result.timing.connect is None


async def test_get_is_closed_right_after_the_headers(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    """The server streams an endless body; a client that read it would never finish.

    What the server manages to write before it sees the close is what the kernel's socket
    buffers on both ends absorbed (a few MiB on loopback), not what the client read."""
    async with make_checker() as checker:
        result = await checker.check(http_server.url("/huge"), method="GET")
        await http_server.log.client_went_away.wait()
    assert result.outcome is Outcome.ONLINE
    assert result.method == "GET"
    assert result.headers["Content-Length"] == str(2**40)
    assert result.headers["Content-Type"] == "video/mp4"
    assert http_server.log.body_bytes_sent < 64 * 2**20


async def test_head_is_the_default_and_asks_for_no_body(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    async with make_checker() as checker:
        result = await checker.check(http_server.url("/huge"))
    assert result.outcome is Outcome.ONLINE
    assert [seen.method for seen in http_server.log.requests] == ["HEAD"]
    assert http_server.log.body_bytes_sent == 0


async def test_get_close_can_be_the_default_method(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    async with make_checker(method="GET") as checker:
        result = await checker.check(http_server.url("/ok"))
    assert result.method == "GET"
    assert [seen.method for seen in http_server.log.requests] == ["GET"]


async def test_head_rejected_falls_back_to_get_close(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    async with make_checker() as checker:
        result = await checker.check(http_server.url("/nohead"))
    async with make_checker(fallback_to_get=False) as checker:
        strict = await checker.check(http_server.url("/nohead"))
    assert (result.outcome, result.status, result.method) == (Outcome.ONLINE, 200, "GET")
    assert (strict.outcome, strict.status, strict.method) == (Outcome.HTTP_ERROR, 405, "HEAD")


async def test_slow_server_times_out(http_server: HttpServer, make_checker: MakeChecker) -> None:
    async with make_checker() as checker:
        result = await checker.check(http_server.url("/slow"))
    assert result.outcome is Outcome.TIMEOUT


async def test_connection_closed_without_response_is_an_error(
    closing_server: int, make_checker: MakeChecker
) -> None:
    async with make_checker() as checker:
        result = await checker.check(f"http://127.0.0.1:{closing_server}/")
    assert result.outcome is Outcome.ERROR
    assert "closed the connection" in (result.error or "")


async def test_refused_connection(refused_port: int, make_checker: MakeChecker) -> None:
    async with make_checker() as checker:
        result = await checker.check(f"http://127.0.0.1:{refused_port}/")
    assert result.outcome is Outcome.REFUSED


async def test_tls_with_sni_and_a_trusted_certificate(
    https_server: HttpServer,
    tls_files: Tls,
    scripted_dns: ScriptedDns,
    make_checker: MakeChecker,
) -> None:
    scripted_dns.script("tls.test", ["127.0.0.1"])
    async with make_checker(verify_tls=tls_files.client_context()) as checker:
        result = await checker.check(https_server.url("/ok", host="tls.test"))
    assert result.outcome is Outcome.ONLINE
    assert result.ip == "127.0.0.1"
    assert result.timing.tls is not None and result.timing.dns is not None
    assert http_host(https_server) == f"tls.test:{https_server.port}"


async def test_untrusted_certificate_is_a_tls_error(
    https_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("tls.test", ["127.0.0.1"])
    async with make_checker() as checker:
        result = await checker.check(https_server.url("/ok", host="tls.test"))
    assert result.outcome is Outcome.TLS_ERROR
    assert "certificate" in (result.error or "")


async def test_tls_verification_can_be_switched_off(
    https_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("other.test", ["127.0.0.1"])
    async with make_checker(verify_tls=False) as checker:
        result = await checker.check(https_server.url("/ok", host="other.test"))
    assert result.outcome is Outcome.ONLINE


def http_host(server: HttpServer) -> str:
    return server.log.requests[-1].headers["Host"]


async def test_names_resolve_through_the_configured_server(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("www.site.test", ["127.0.0.3"])
    async with make_checker() as checker:
        result = await checker.check(f"http://www.site.test:{http_server.port}/ok")
    # the server listens on 127.0.0.1 only, so 127.0.0.3 refuses: the address used is the DNS one
    assert result.outcome is Outcome.REFUSED
    assert result.addresses == ("127.0.0.3",)


async def test_nxdomain_and_dns_failure(
    scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("empty.test", [])
    async with make_checker() as checker:
        missing = await checker.check("http://missing.test/")
        empty = await checker.check("http://empty.test/")
    assert missing.outcome is Outcome.NXDOMAIN
    assert empty.outcome is Outcome.DNS_FAIL


async def test_dns_rebinding_between_checks_is_caught(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    """First answer an allowed loopback address, then the metadata service, then a private one.

    The first check connects to the address it vetted, with one lookup per check (a client
    that looked the name up again at connect time would get the forbidden answer)."""
    scripted_dns.script(
        "rebind.test", ["127.0.0.1"], ["169.254.169.254"], ["10.0.0.1"], ["127.0.0.1"]
    )
    url = f"http://rebind.test:{http_server.port}/ok"
    async with make_checker() as checker:
        first = await checker.check(url)
        assert scripted_dns.a_queries("rebind.test") == 1
        second = await checker.check(url)
        third = await checker.check(url)
        fourth = await checker.check(url)
    assert (first.outcome, first.ip) == (Outcome.ONLINE, "127.0.0.1")
    assert second.outcome is Outcome.BLOCKED and "cloud metadata" in (second.error or "")
    assert third.outcome is Outcome.BLOCKED and "10.0.0.1" in (third.error or "")
    assert second.ip is None and third.ip is None
    assert fourth.outcome is Outcome.ONLINE
    assert len(http_server.log.requests) == 2
    assert http_server.log.requests[0].headers["Host"] == f"rebind.test:{http_server.port}"


async def test_dns_answer_mixing_allowed_and_forbidden_uses_only_the_allowed(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("mixed.test", ["169.254.169.254", "127.0.0.1"])
    async with make_checker() as checker:
        result = await checker.check(f"http://mixed.test:{http_server.port}/ok")
    assert result.outcome is Outcome.ONLINE
    assert result.ip == "127.0.0.1"
    assert set(result.addresses) == {"169.254.169.254", "127.0.0.1"}


async def test_redirect_to_a_name_that_resolves_to_a_forbidden_address(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("internal.test", ["169.254.169.254"])
    location = quote("http://internal.test/latest/meta-data/")
    async with make_checker() as checker:
        result = await checker.check(http_server.url(f"/to?location={location}"))
    assert result.outcome is Outcome.BLOCKED
    assert result.final_url == "http://internal.test/latest/meta-data/"


HOSTILE = [
    "http://127.0.0.1:{port}/ok\r\nX-Injected: yes\r\n\r\nGET /gone HTTP/1.1",
    "http://127.0.0.1:{port}/ok%0d%0aX-Injected:%20yes",
    "http://127.0.0.1:{port}/" + "a" * 100_000,
    "http://127.0.0.1:{port}/\u202e\u0000\u200b",
    "http://exa\u200bmple.test/",
    "http://[::1/",
    "http://127.0.0.1:{port}@169.254.169.254/",
    "http://169.254.169.254#@127.0.0.1:{port}/",
    "http://127.0.0.1:99999/",
    "\x00",
    "",
]


@pytest.mark.parametrize("template", HOSTILE)
async def test_hostile_urls_neither_crash_nor_inject_nor_reach_forbidden_addresses(
    http_server: HttpServer, make_checker: MakeChecker, template: str
) -> None:
    async with make_checker(allow=("127.0.0.1/32",)) as checker:
        result = await checker.check(template.replace("{port}", str(http_server.port)))
    assert result.outcome in set(Outcome)
    assert result.ip in (None, "127.0.0.1")
    for seen in http_server.log.requests:
        assert "X-Injected" not in seen.headers
        assert seen.headers["Host"] == f"127.0.0.1:{http_server.port}"
        assert "\r" not in seen.path and "\n" not in seen.path
    json.dumps(result.as_dict())


async def test_connector_refuses_forbidden_sockets_even_if_asked_directly(
    http_server: HttpServer,
) -> None:
    """The last line of defence: the connector vets the socket address itself."""
    import aiohttp

    from hostwatch.takedown.checker.client import _GuardedConnector
    from hostwatch.takedown.checker.policy import AddressPolicy, BlockedAddress

    connector = _GuardedConnector(AddressPolicy.allowing(["127.0.0.5/32"]))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1 is loopback"):
            await session.head(http_server.url("/ok"))
        with pytest.raises(aiohttp.ClientConnectorError) as refused:
            await session.head(f"http://localhost:{http_server.port}/ok")
    assert "resolves names itself" in str(refused.value.__cause__)
    assert http_server.log.requests == []


RawServer = Callable[[bytes], Awaitable[int]]


async def test_head_answered_with_a_body_falls_back_to_get_close(
    raw_server: RawServer, make_checker: MakeChecker
) -> None:
    port = await raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + b"B" * 20000)
    async with make_checker() as checker:
        first = await checker.check(f"http://127.0.0.1:{port}/a")
        second = await checker.check(f"http://127.0.0.1:{port}/b")
    assert (first.outcome, first.method) == (Outcome.ONLINE, "GET")
    assert second.outcome is Outcome.ONLINE


async def test_errors_never_quote_what_the_server_sent(
    raw_server: RawServer, make_checker: MakeChecker
) -> None:
    port = await raw_server(b"SECRET-CONTENT " * 100 + b"\r\n\r\n")
    async with make_checker() as checker:
        result = await checker.check(f"http://127.0.0.1:{port}/")
    assert result.outcome is Outcome.ERROR
    assert result.error == "malformed response: Bad status line"
    assert "SECRET" not in json.dumps(result.as_dict())
