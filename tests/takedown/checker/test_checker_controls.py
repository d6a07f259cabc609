"""Control probes around each batch of checks, against real servers on loopback: a failure counts
only when the checker showed, before and after its batch, that its resolver and network work."""

from __future__ import annotations

import dns.rcode

from conftest import HttpServer, ScriptedDns
from hostwatch.takedown.checker import (
    BatchHealth,
    CheckResult,
    CheckRunner,
    Controls,
    Politeness,
)

FREE = Politeness(per_host=100, min_interval=0)


async def run(
    checker, controls: Controls, urls: list[str], *, batch: int = 200
) -> tuple[dict[str, CheckResult], list[BatchHealth]]:
    health: list[BatchHealth] = []
    results: dict[str, CheckResult] = {}
    async with checker:
        runner = CheckRunner(
            checker, concurrency=1, politeness=FREE, controls=controls, batch=batch
        )
        async for result in runner.stream(urls, health.append):
            results[result.url] = result
    return results, health


async def test_passing_controls_let_target_failures_count(
    make_checker, scripted_dns: ScriptedDns, http_server: HttpServer
) -> None:
    scripted_dns.script("control.test", ["127.0.0.1"])
    controls = Controls("control.test", (http_server.url("/ok", host="control.test"),))
    online, gone = http_server.url("/ok"), http_server.url("/gone")
    results, health = await run(make_checker(), controls, [online, gone])
    assert results[online].online and results[online].inconclusive is None
    assert (results[gone].failure, results[gone].inconclusive) == ("http-gone", None)
    (batch,) = health
    assert batch.ok and batch.reason is None
    data = batch.as_dict()
    assert (data["checks"], data["online"], data["counted"]) == (2, 1, 1)
    assert data["controls"]["before"]["dns"]["ok"] is True
    assert data["controls"]["after"]["urls"][0]["ok"] is True
    # two probes (before and after the batch), each resolving the control name and fetching
    # the control URL's headers: four A queries
    assert scripted_dns.a_queries("control.test") == 4


async def test_failed_control_name_makes_the_batch_failures_inconclusive(
    make_checker, scripted_dns: ScriptedDns, http_server: HttpServer
) -> None:
    # the loopback DNS server does not serve the control name: NXDOMAIN
    controls = Controls("control.test", ())
    online, gone = http_server.url("/ok"), http_server.url("/gone")
    results, health = await run(make_checker(), controls, [online, gone])
    assert results[online].online and results[online].inconclusive is None
    assert results[gone].failure == "http-gone"
    assert results[gone].inconclusive == "control-dns-failed"
    (batch,) = health
    assert (batch.ok, batch.reason) == (False, "control-dns-failed")
    assert batch.as_dict()["controls"]["before"]["dns"]["rcode"] == "NXDOMAIN"


async def test_unreachable_control_url_makes_the_batch_failures_inconclusive(
    make_checker, http_server: HttpServer, refused_port: int
) -> None:
    controls = Controls(None, (http_server.url("/ok"), f"http://127.0.0.1:{refused_port}/"))
    online, gone = http_server.url("/ok"), http_server.url("/gone")
    results, health = await run(make_checker(), controls, [online, gone])
    assert results[online].online
    assert results[gone].inconclusive == "control-url-failed"
    assert health[0].reason == "control-url-failed"
    urls = health[0].as_dict()["controls"]["before"]["urls"]
    assert [u["ok"] for u in urls] == [True, False]
    assert urls[1]["failure"] == "tcp-refused"


async def test_each_batch_is_judged_by_the_probes_around_it(
    make_checker, scripted_dns: ScriptedDns, http_server: HttpServer
) -> None:
    """Three probes around two batches of two; the control name stops resolving at the third:
    the first batch's failure counts, the second batch's does not."""
    scripted_dns.script("control.test", ["127.0.0.1"], ["127.0.0.1"], [])
    controls = Controls("control.test", ())
    urls = [http_server.url(p) for p in ("/ok", "/gone", "/ok?again", "/broken")]
    results, health = await run(make_checker(), controls, urls, batch=2)
    assert [h.reason for h in health] == [None, "control-dns-failed"]
    assert results[urls[1]].inconclusive is None
    assert results[urls[3]].inconclusive == "control-dns-failed"
    assert results[urls[2]].online and results[urls[2]].inconclusive is None


async def test_own_side_failures_keep_their_reason_under_failed_controls(
    make_checker, scripted_dns: ScriptedDns, http_server: HttpServer
) -> None:
    scripted_dns.rcodes["site.test"] = dns.rcode.SERVFAIL
    controls = Controls("control.test", ())
    url = http_server.url("/ok", host="site.test")
    results, health = await run(make_checker(), controls, [url])
    assert results[url].inconclusive == "resolver-servfail"
    assert health[0].own == 1


async def test_without_controls_no_probe_is_made(
    make_checker, scripted_dns: ScriptedDns, http_server: HttpServer
) -> None:
    results, health = await run(make_checker(), Controls(), [http_server.url("/gone")])
    assert results[http_server.url("/gone")].inconclusive is None
    assert health[0].as_dict()["controls"] == "none"
    assert scripted_dns.queries == []
    assert [seen.path for seen in http_server.log.requests] == ["/gone"]
