"""The simulated internet answers from the replay's hosting state, from a process of its own."""

from __future__ import annotations

import dns.message
import dns.query
import dns.rcode
import httpx

from hostwatch.simulation.servers import (
    CONTROL_HOST,
    CONTROL_IP,
    HostingState,
    SimulatedInternet,
    free_port,
)


def _lookup(net: SimulatedInternet, host: str) -> list[str]:
    answer = dns.query.udp(dns.message.make_query(host, "A"), "127.0.0.1", port=net.dns_port)
    if answer.rcode() == dns.rcode.NXDOMAIN:
        return []
    return [item.address for rrset in answer.answer for item in rrset]


def test_changes_reach_the_servers_before_the_call_returns() -> None:
    state = HostingState()
    port = free_port()
    url = f"http://site.example:{port}/a.html"
    state.point("site.example", "127.0.0.5")  # made before the servers start: forwarded at start
    state.serve(url)
    with SimulatedInternet(state, ["127.0.0.5", "127.0.0.6"], port) as net:
        assert _lookup(net, "site.example") == ["127.0.0.5"]
        assert _lookup(net, "other.example") == []
        address = f"http://127.0.0.5:{port}/a.html"
        headers = {"Host": f"site.example:{port}"}
        assert httpx.head(address, headers=headers).status_code == 200

        state.remove(url)
        assert httpx.head(address, headers=headers).status_code == 404
        state.point("site.example", "127.0.0.6")
        state.serve(url)
        assert _lookup(net, "site.example") == ["127.0.0.6"]
        assert httpx.head(f"http://127.0.0.6:{port}/a.html", headers=headers).status_code == 200
        assert net.requests == 3
    assert net.requests == 3  # still known after the servers stopped
    assert state.is_online(url)  # the replay's own copy of the state is the same


def test_the_control_host_is_always_up() -> None:
    state = HostingState()
    port = free_port()
    with SimulatedInternet(state, ["127.0.0.5"], port) as net:
        assert _lookup(net, CONTROL_HOST) == [CONTROL_IP]
        headers = {"Host": f"{CONTROL_HOST}:{port}"}
        assert net.control_url == f"http://{CONTROL_HOST}:{port}/"
        assert httpx.head(f"http://{CONTROL_IP}:{port}/", headers=headers).status_code == 200
        assert httpx.head(f"http://127.0.0.5:{port}/", headers=headers).status_code == 200
        assert net.requests == 0  # the checks the demo counts are of the providers' hosts
