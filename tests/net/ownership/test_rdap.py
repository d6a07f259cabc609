"""RDAP client against a real HTTP server on loopback serving the real RIR answers of data/10."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest

from hostwatch.clock import Clock
from hostwatch.net.rdap import (
    RdapBootstrap,
    RdapClient,
    RdapError,
    RdapNotFound,
    TokenBucket,
    clean_address,
    parse_network,
)

EXPECTED = {
    # address: (handle, country, parent handle, first abuse e-mail, cidrs)
    "62.239.237.1": (
        "62.239.237.0 - 62.239.237.255",
        "GB",
        None,
        "zzdnsr@bt.com",
        ("62.239.237.0/24",),
    ),
    "74.125.225.229": (
        "NET-74-125-0-0-1",
        None,
        "NET-74-0-0-0-0",
        "arin-contact@google.com",
        ("74.125.0.0/16",),
    ),
    "2001:4860:4860::8888": (
        "NET6-2001-4860-1",
        None,
        "NET6-2001-4800-0",
        "arin-contact@google.com",
        ("2001:4860::/32",),
    ),
    "210.107.73.73": (
        "210.107.0.0 - 210.107.127.255",
        "KR",
        "210.0.0.0 - 210.255.255.255",
        "hostmaster@nic.or.kr",
        ("210.107.0.0/17",),
    ),
    "200.57.141.161": ("200.57.141.161", "MX", None, "operacion.redes@TRIARA.COM", None),
    "196.11.240.215": (
        "196.11.239.0 - 196.11.246.255",
        "ZA",
        "196.0.0.0 - 196.255.255.255",
        None,
        ("196.11.239.0/24", "196.11.240.0/22", "196.11.244.0/23", "196.11.246.0/24"),
    ),
}


@pytest.fixture
def served(scripted_server, rdap_answers):
    for ip, document in rdap_answers.items():
        scripted_server.answers[f"/ip/{ip}"] = json.dumps(document).encode()
    return scripted_server


def _client(served, tmp_path, **options) -> RdapClient:
    options.setdefault("rate_per_second", 1000.0)
    options.setdefault("burst", 100)
    options.setdefault("clock", Clock.system())
    return RdapClient(base_url=served.base_url, cache_dir=tmp_path / "cache", **options)


@pytest.mark.parametrize("address", sorted(EXPECTED))
def test_client_reads_network_country_parent_and_abuse(served, tmp_path, address):
    handle, country, parent, abuse, cidrs = EXPECTED[address]
    with _client(served, tmp_path) as client:
        network = client.ip(address)
    assert network.handle == handle
    assert network.country == country
    assert network.parent_handle == parent
    assert network.abuse_contact == abuse
    if cidrs is not None:
        assert network.cidrs == cidrs
    assert network.from_cache is False
    assert served.requests_for(f"/ip/{address}")


def test_all_ten_real_answers_parse_with_consistent_ranges(rdap_answers):
    import ipaddress

    for address, document in rdap_answers.items():
        network = parse_network(document)
        first = ipaddress.ip_address(network.start_address)
        last = ipaddress.ip_address(network.end_address)
        assert first <= ipaddress.ip_address(address) <= last or network.start_address == address
        assert network.ip_version == first.version


def test_registrant_and_roles_from_nested_entities(rdap_answers):
    google = parse_network(rdap_answers["74.125.225.229"])
    assert google.registrant == "Google Inc."
    assert [e.handle for e in google.entities_with_role("abuse")] == ["ZG39-ARIN"]
    bt = parse_network(rdap_answers["62.239.237.1"])
    assert bt.abuse_emails == (
        "zzdnsr@bt.com",
        "steve.a.marshall@bt.com",
        "lee.bailey-hague@bt.com",
    )


def test_odd_address_spellings_of_real_rirs_are_normalised(rdap_answers):
    # ARIN pads octets ('074.125.000.000'), RIPE appends '/32' to start and end addresses.
    assert parse_network(rdap_answers["74.125.225.229"]).start_address == "74.125.0.0"
    assert parse_network(rdap_answers["62.239.237.1"]).end_address == "62.239.237.255"
    assert clean_address("074.125.000.000") == "74.125.0.0"


def test_second_lookup_is_served_from_cache(served, tmp_path):
    with _client(served, tmp_path) as client:
        first = client.ip("62.239.237.1")
        second = client.ip("62.239.237.1")
    with _client(served, tmp_path) as another:  # a new process reads the same disk cache
        third = another.ip("62.239.237.1")
    assert len(served.requests_for("/ip/62.239.237.1")) == 1
    assert (first.from_cache, second.from_cache, third.from_cache) == (False, True, True)
    assert third.abuse_contact == first.abuse_contact
    assert third.fetched_at == first.fetched_at


def test_cache_entry_expires_after_ttl_on_the_project_clock(served, tmp_path):
    clock = Clock.at("2024-03-01T10:00:00Z")
    with _client(served, tmp_path, clock=clock, ttl=timedelta(hours=24)) as client:
        client.ip("196.11.240.215")
        clock.advance(timedelta(hours=23))
        assert client.ip("196.11.240.215").from_cache
        clock.advance(timedelta(hours=2))
        fresh = client.ip("196.11.240.215")
    assert not fresh.from_cache
    assert len(served.requests_for("/ip/196.11.240.215")) == 2


def test_damaged_cache_file_is_refetched(served, tmp_path):
    with _client(served, tmp_path) as client:
        client.ip("62.239.237.1")
        for path in (tmp_path / "cache").glob("*.json"):
            path.write_text("{not json")
        assert client.ip("62.239.237.1").country == "GB"
    assert len(served.requests_for("/ip/62.239.237.1")) == 2


def test_requests_to_one_server_are_spaced_by_the_rate_limit(served, tmp_path):
    addresses = ["62.239.237.1", "74.125.225.229", "196.11.240.215", "210.107.73.73"]
    with RdapClient(
        base_url=served.base_url, rate_per_second=5.0, burst=1, clock=Clock.system()
    ) as client:
        for address in addresses:
            client.ip(address)
    times = [when for when, _ in served.log]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4
    assert min(gaps) >= 0.2 * 0.9


def test_token_bucket_allows_a_burst_then_waits():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate=2.0, burst=3, monotonic=lambda: now[0], sleep=sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.5)
    assert waits[4] == pytest.approx(0.5)


def test_429_with_retry_after_is_waited_out_then_answered(served, tmp_path):
    path = "/ip/74.125.225.229"
    served.queued[path] = [(429, {"Retry-After": "1"}, b'{"errorCode": 429}')]
    with _client(served, tmp_path) as client:
        network = client.ip("74.125.225.229")
    times = served.requests_for(path)
    assert network.abuse_contact == "arin-contact@google.com"
    assert len(times) == 2
    assert times[1] - times[0] >= 0.9


def test_persistent_429_gives_a_clear_error(served, tmp_path):
    path = "/ip/62.239.237.1"
    served.queued[path] = [(429, {"Retry-After": "0"}, b"{}")] * 4
    with _client(served, tmp_path, max_retries=2) as client, pytest.raises(RdapError) as err:
        client.ip("62.239.237.1")
    assert "rate limited" in str(err.value)
    assert len(served.requests_for(path)) == 3


def test_unknown_address_and_bad_answers(served, tmp_path):
    served.answers["/ip/192.0.2.1"] = b"<html>maintenance</html>"
    with _client(served, tmp_path) as client:
        with pytest.raises(RdapNotFound):
            client.ip("198.51.100.1")
        with pytest.raises(RdapError, match="not JSON"):
            client.ip("192.0.2.1")
        with pytest.raises(RdapError, match="not an IP address"):
            client.ip("999.1.1.1")


def test_answer_of_another_object_class_is_refused():
    with pytest.raises(RdapError, match="not an ip network"):
        parse_network({"objectClassName": "autnum", "handle": "AS1"})


def test_bootstrap_picks_the_rir_that_answered_each_real_sample(shared_data, rdap_answers):
    bootstrap = RdapBootstrap.load(
        shared_data / "10_rdap-whois-samples" / "iana_rdap_bootstrap_from_openrdap"
    )
    rir_of_port43 = {
        "whois.ripe.net": "ripe.net",
        "whois.arin.net": "arin.net",
        "whois.apnic.net": "apnic.net",
        "whois.lacnic.net": "lacnic.net",
        "whois.afrinic.net": "afrinic.net",
    }
    for address, document in rdap_answers.items():
        url = bootstrap.base_url_for_ip(address)
        assert url is not None and url.startswith("https://")
        assert rir_of_port43[document["port43"]] in url, address
    assert "arin.net" in bootstrap.base_url_for_asn(13335)
    assert "afrinic.net" in bootstrap.base_url_for_asn(1228)
    assert bootstrap.base_url_for_ip("10.0.0.1") is None


def test_bootstrap_chooses_server_then_base_override_redirects_it(served, tmp_path, shared_data):
    bootstrap = RdapBootstrap.load(
        shared_data / "10_rdap-whois-samples" / "iana_rdap_bootstrap_from_openrdap"
    )
    with (
        RdapClient(bootstrap=bootstrap, rate_per_second=100.0, clock=Clock.system()) as client,
        pytest.raises(RdapError, match="no RDAP server"),
    ):
        client.ip("10.1.2.3")
    with RdapClient(bootstrap=bootstrap, base_url=served.base_url, clock=Clock.system()) as client:
        assert client.ip("2a00:2381:ffff::1").country == "GB"


def test_client_from_settings_caches_under_the_state_dir(served, tmp_path):
    from hostwatch.settings import Settings

    settings = Settings(state_dir=tmp_path / "state", now="2024-03-01T10:00:00Z")
    with RdapClient.from_settings(settings, base_url=served.base_url) as client:
        network = client.ip("200.57.141.161")
    assert network.fetched_at.isoformat().startswith("2024-03-01T10:00")
    assert len(list((tmp_path / "state" / "rdap-cache").glob("*.json"))) == 1
