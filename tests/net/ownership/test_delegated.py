"""RIR delegated-extended statistics of data/07: selection by date, vectorised lookups, bad rows."""

from __future__ import annotations

import gzip
import ipaddress
import random
from datetime import date

import numpy as np
import pytest

from hostwatch.net.delegated import DelegatedStats, choose_files

ALL5 = "07_rir-delegated-extended-and-iana/2018-10-13_all5_from_IPToCC-2.1.2"
LATER = (
    "07_rir-delegated-extended-and-iana/afrinic_lacnic_2021-04-06_and_2023-03-23_from_rir-mirror"
)


@pytest.fixture(scope="module")
def files(shared_data):
    return sorted((shared_data / ALL5).glob("*.gz")) + sorted((shared_data / LATER).glob("*.gz"))


@pytest.fixture(scope="module")
def stats_2018(files) -> DelegatedStats:
    return DelegatedStats.load(files, as_of=date(2018, 10, 31))


def test_newest_file_per_registry_not_after_the_date(files):
    chosen = {f.registry: f.day for f in choose_files(files, as_of=date(2021, 12, 31))[0]}
    assert chosen == {
        "afrinic": date(2021, 4, 6),
        "apnic": date(2018, 10, 12),
        "arin": date(2018, 10, 13),
        "lacnic": date(2021, 4, 5),
        "ripencc": date(2018, 10, 13),
    }
    used, skipped = choose_files(files)
    newest = {f.registry: f.day for f in used}
    assert len(skipped) == 4
    assert newest["afrinic"] == date(2023, 3, 23)
    assert newest["lacnic"] == date(2023, 3, 22)  # the version line's end date, not the file name


def test_2018_snapshot_loads_every_data_row(stats_2018, files):
    assert [f.registry for f in stats_2018.files] == [
        "afrinic",
        "apnic",
        "arin",
        "lacnic",
        "ripencc",
    ]
    assert not stats_2018.warnings, stats_2018.warnings.summary()
    assert sorted(f.day.year for f in stats_2018.skipped_files) == [2021, 2021, 2023, 2023]
    data_rows = 0
    for path in files[:5]:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            lines = [line for line in handle if line.strip() and not line.startswith("#")]
        data_rows += sum(1 for line in lines[1:] if not line.rstrip().endswith("|summary"))
    total = len(stats_2018.ipv4.start) + len(stats_2018.ipv6.start) + len(stats_2018.asn.start)
    assert total == data_rows == 512_252


def test_real_sample_addresses_match_their_rdap_country(stats_2018, rdap_answers_by_ip):
    registry_of_port43 = {
        "whois.ripe.net": "ripencc",
        "whois.arin.net": "arin",
        "whois.apnic.net": "apnic",
        "whois.lacnic.net": "lacnic",
        "whois.afrinic.net": "afrinic",
    }
    addresses = sorted(rdap_answers_by_ip)
    matches = stats_2018.lookup(addresses)
    for i, address in enumerate(addresses):
        answer = rdap_answers_by_ip[address]
        assert matches.registry[i] == registry_of_port43[answer["port43"]], address
        if answer.get("country"):
            assert matches.country[i] == answer["country"], address


def test_random_rows_found_by_an_address_inside_them(stats_2018, files):
    rng = random.Random(5)
    rows = []
    for path in files[:5]:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parts = line.rstrip("\n").split("|")
                if len(parts) >= 7 and parts[1] not in ("*", "") and parts[2] == "ipv4":
                    rows.append(parts)
    sample = rng.sample(rows, 3000)
    addresses, expected = [], []
    for parts in sample:
        first = int(ipaddress.IPv4Address(parts[3]))
        addresses.append(str(ipaddress.IPv4Address(first + rng.randrange(int(parts[4])))))
        expected.append((parts[0], parts[1], parts[6]))
    matches = stats_2018.lookup(addresses)
    got = list(zip(matches.registry, matches.country, matches.status, strict=True))
    assert got == expected


def test_strings_and_uint32_arrays_give_the_same_answer(stats_2018):
    values = np.random.default_rng(3).integers(0, 2**32, 50_000, dtype=np.uint64).astype(np.uint32)
    from_array = stats_2018.lookup(values)
    from_text = stats_2018.lookup([str(ipaddress.IPv4Address(int(v))) for v in values])
    assert (from_array.row == from_text.row).all()
    assert (from_array.country == from_text.country).all()
    assert 0.5 < from_array.found.mean() < 1.0


def test_mixed_families_malformed_and_unallocated(stats_2018):
    matches = stats_2018.lookup(["2a00:2381:ffff::1", "not-an-ip", "10.1.2.3", "193.0.6.139"])
    assert list(matches.registry) == ["ripencc", "", "", "ripencc"]
    assert list(matches.country) == ["GB", "", "", "NL"]
    assert list(matches.found) == [True, False, False, True]
    assert stats_2018.for_ip("10.1.2.3") is None


def test_asn_registry_country_and_opaque_siblings(stats_2018):
    cloudflare = stats_2018.for_asn(13335)
    assert (cloudflare.registry, cloudflare.country, cloudflare.status) == (
        "arin",
        "US",
        "assigned",
    )
    assert cloudflare.day == date(2010, 7, 14)
    assert 13335 in stats_2018.asns_of("arin", cloudflare.opaque_id)
    assert len(stats_2018.asns_of("arin", cloudflare.opaque_id)) > 1
    matches = stats_2018.lookup_asns([13335, 3333, 4_200_000_000])
    assert list(matches.registry) == ["arin", "ripencc", ""]


def test_bad_rows_are_reported_and_the_rest_loaded(tmp_path):
    path = tmp_path / "delegated-ripencc-extended-20240101"
    path.write_text(
        "2|ripencc|20240101|6|19830705|20240101|+0100\n"
        "ripencc|*|ipv4|*|4|summary\n"
        "ripencc|NL|ipv4|193.0.0.0|2048|19930901|allocated|org-1\n"
        "ripencc|NL|ipv4|193.0.999.0|256|19930901|allocated|org-2\n"
        "ripencc|NL|ipv4|193.0.8.0\n"
        "ripencc|DE|ipv6|2001:db8::|200|20000101|allocated|org-3\n"
        "ripencc|DE|ipv6|2001:67c::|29|20000101|allocated|org-3\n"
        "ripencc|DE|ipv6|2001:67c:2e8::|128|20000101|assigned|org-4\n"
        "ripencc|NL|ipv4|193.0.4.0|256|19930901|reserved|\n"
        "ripencc|NL|asn|3333|1|19930901|allocated|org-1\n"
        "ripencc|NL|widget|1|1|19930901|allocated|org-1\n"
    )
    stats = DelegatedStats.load([path, tmp_path / "missing-file"])
    text = stats.warnings.summary()
    assert f"{path}:4: bad ipv4 block 193.0.999.0|256" in text
    assert f"{path}:5: 4 fields, expected at least 7" in text
    assert f"{path}:6: bad ipv6 block 2001:db8::|200" in text
    assert f"{path}:8: IPv6 /128 widened to its /64" in text
    assert f"{path}:9: ipv4 block overlaps an earlier one; dropped" in text
    assert f"{path}:11: unknown type 'widget'" in text
    assert "missing-file:0: cannot read" in text
    assert stats.for_ip("193.0.4.1").status == "allocated"
    assert stats.for_ip("2001:67c:2e8::1").opaque_id == "org-3"
    assert stats.for_asn(3333).country == "NL"


def test_truncated_file_keeps_rows_before_the_break(tmp_path, files):
    ripe = next(f for f in files if "ripencc" in f.name)
    data = ripe.read_bytes()
    cut = tmp_path / "delegated-ripencc-extended-20181013.gz"
    cut.write_bytes(data[: len(data) // 2])
    stats = DelegatedStats.load([cut])
    assert 50_000 < len(stats.ipv4.start) + len(stats.ipv6.start) + len(stats.asn.start) < 189_000
    assert any("truncated" in w.reason for w in stats.warnings)


@pytest.fixture(scope="module")
def rdap_answers_by_ip(shared_data) -> dict[str, dict]:
    import json

    path = shared_data / "10_rdap-whois-samples" / "ipwhois_tests" / "rdap.json"
    return {ip: entry["response"] for ip, entry in json.loads(path.read_text()).items()}


def test_large_batches_take_the_sorted_path_and_agree_with_small_ones(stats_2018):
    values = np.random.default_rng(11).integers(0, 2**32, 300_000, dtype=np.uint64)
    values[:1000] = values[1000:2000]  # duplicates
    whole = stats_2018.lookup(values.astype(np.uint32))
    pieces = [stats_2018.lookup(part.astype(np.uint32)) for part in np.array_split(values, 10)]
    assert (whole.row == np.concatenate([p.row for p in pieces])).all()
    assert (whole.country == np.concatenate([p.country for p in pieces])).all()
