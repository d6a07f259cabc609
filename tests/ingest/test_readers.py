"""Every reader on real samples (shared data) and on hand-written files of the other formats."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostwatch.ingest.detect import FormatUndecided, detect_format
from hostwatch.ingest.readers import READERS, Entry, FormatError, ReadOptions
from hostwatch.ingest.streams import Rejected, TextSource


def read(path: Path, fmt: str, options: ReadOptions | None = None, limit: int | None = None):
    with TextSource(path) as source:
        records = READERS[fmt](source, options or ReadOptions())
        items = list(itertools.islice(records, limit))
        items.extend(source.pending)
    entries = [r for r in items if isinstance(r, Entry)]
    rejects = [r for r in items if isinstance(r, Rejected)]
    return entries, rejects


def test_phishtank_csv_bz2_real_sample(shared_data: Path) -> None:
    (path,) = shared_data.glob("04_*/online-valid_2018-10-26.csv.bz2")
    assert detect_format(path) == "phishtank"
    entries, rejects = read(path, "phishtank")
    assert len(entries) == 26714 and rejects == []
    first = entries[0]
    assert first.reference == "5826976"
    assert first.url == "http://www.tumoursd.desi/notic-e/asb.co.nz"
    assert first.time == datetime(2018, 10, 26, 4, 40, 18, tzinfo=UTC)
    assert first.classification == "phishing" and first.extra == {"target": "Other"}


def test_openphish_real_sample(shared_data: Path) -> None:
    (path,) = shared_data.glob("05_*/feed_latest_*.txt")
    assert detect_format(path) == "openphish"
    entries, rejects = read(path, "openphish")
    assert len(entries) == 300 and rejects == []
    assert entries[0].url == "https://api.msuto.com/" and entries[0].time is None


def test_phish_lifetimes_real_sample(shared_data: Path) -> None:
    (path,) = shared_data.glob("04_*/phish_lifetimes.csv.gz")
    assert detect_format(path) == "phishtank-lifetimes"
    entries, _ = read(path, "phishtank-lifetimes", limit=20000)
    first = entries[0]
    assert first.reference == "463173"
    assert first.time == datetime(2008, 6, 20, 23, 29, 18, tzinfo=UTC)
    # first snapshot 2018-10-25 was committed 22:24:34 +0200; last 2018-11-20, absent 2018-11-21
    assert first.observations[0] == (first.time, True)
    assert first.observations[1] == (datetime(2018, 10, 25, 20, 24, 34, tzinfo=UTC), True)
    assert first.observations[-1][1] is False
    assert first.observations[-1][0].date().isoformat() == "2018-11-21"
    assert all(e.observations[-2][0] < e.observations[-1][0] for e in entries)


def test_phish_lifetimes_without_snapshot_table_uses_six_utc(
    shared_data: Path, tmp_path: Path
) -> None:
    (source,) = shared_data.glob("04_*/phish_lifetimes.csv.gz")
    copy = tmp_path / "phish_lifetimes.csv.gz"
    copy.write_bytes(source.read_bytes()[:200_000])  # a cut stream: what was read is kept
    entries, _ = read(copy, "phishtank-lifetimes", limit=50)
    assert entries[0].observations[1] == (datetime(2018, 10, 25, 6, 0, tzinfo=UTC), True)


def test_urlhaus_intervals_real_sample(shared_data: Path) -> None:
    (path,) = shared_data.glob("11_*/urlhaus_filter_online_intervals.csv.gz")
    assert detect_format(path) == "urlhaus-intervals"
    entries, rejects = read(path, "urlhaus-intervals", limit=20000)
    assert rejects == []
    first = entries[0]
    assert first.url == "http://0400msc.com/" and first.reference == "0400msc.com#0"
    assert first.time == datetime(2019, 6, 13, 6, 57, 19, tzinfo=UTC)
    times = [t for t, _ in first.observations]
    assert first.observations[0][1] and not first.observations[-1][1]
    assert times == sorted(times) and len(first.observations) == 3  # last listed in between
    assert times[-1] == datetime(2019, 10, 7, 12, 12, 43, tzinfo=UTC)
    ips = [e for e in entries if ",ipv4," in e.raw]
    assert ips and all(e.ip and e.url == f"http://{e.ip}/" for e in ips[:100])
    paths = [e for e in entries if ",host_path," in e.raw]
    assert paths and not paths[0].url.endswith(".xpi/")


def test_csv_with_mapping_and_tsv(write_file: Callable[..., Path]) -> None:
    path = write_file(
        "n.tsv",
        "Reported\tLink\tAddr\tKind\tTicket\n"
        "2024-03-01 10:00:00\thttp://a.example/x\t192.0.2.1\tchild-abuse\tT-1\n"
        "1709287200\thttp://b.example/\t\t\tT-2\n",
    )
    assert detect_format(path) == "csv"
    options = ReadOptions(url_column="link", time_column="reported", ip_column="addr",
                          classification_column="kind", reference_column="ticket")  # fmt: skip
    entries, rejects = read(path, "csv", options)
    assert rejects == []
    assert [(e.url, e.ip, e.classification, e.reference) for e in entries] == [
        ("http://a.example/x", "192.0.2.1", "child-abuse", "T-1"),
        ("http://b.example/", None, None, "T-2"),
    ]
    assert entries[1].time == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_csv_without_url_column_is_a_file_error(write_file: Callable[..., Path]) -> None:
    path = write_file("x.csv", "a,b\n1,2\n")
    with pytest.raises(FormatError, match="no URL column"):
        read(path, "csv")
    with pytest.raises(FormatError, match="no URL column 'nope'"):
        read(path, "csv", ReadOptions(url_column="nope"))


def test_jsonl(write_file: Callable[..., Path]) -> None:
    path = write_file(
        "n.jsonl",
        '{"url": "http://a.example/", "time": "2024-01-01T00:00:00Z", "id": 7}\n'
        "\n"
        '{"link": {"href": "http://b.example/"}}\n'
        "not json\n",
    )
    assert detect_format(path) == "jsonl"
    entries, rejects = read(path, "jsonl")
    assert [e.url for e in entries] == ["http://a.example/"]
    assert entries[0].reference == "7"
    assert sorted(r.reason for r in rejects) == ["invalid JSON: Expecting value", "no URL field"]
    mapped, _ = read(path, "jsonl", ReadOptions(url_column="link.href"))
    assert [e.url for e in mapped] == ["http://b.example/"]


INTELMQ_FLAT = {
    "feed.name": "Hotline NL",
    "source.url": "http://bad.example/p",
    "source.ip": "192.0.2.7",
    "time.source": "2024-02-01T12:00:00+00:00",
    "classification.type": "phishing",
    "classification.taxonomy": "fraud",
    "event_description.text": "reported by a member of the public",
    "extra.reference": "R-1",
}


def test_intelmq_flat_and_hierarchical(write_file: Callable[..., Path]) -> None:
    nested = {
        "feed": {"name": "cert"},
        "source": {"fqdn": "host.example"},
        "time": {"observation": "2024-02-02T00:00:00Z"},
    }
    path = write_file("events.json", json.dumps(INTELMQ_FLAT) + "\n" + json.dumps(nested) + "\n")
    assert detect_format(path) == "intelmq"
    (flat, tree), rejects = read(path, "intelmq")
    assert rejects == []
    assert (flat.url, flat.ip, flat.source, flat.reference, flat.classification) == (
        "http://bad.example/p", "192.0.2.7", "Hotline NL", "R-1", "phishing",
    )  # fmt: skip
    assert flat.extra and flat.extra["event_description.text"].startswith("reported")
    assert (tree.url, tree.source) == ("http://host.example/", "cert")
    assert tree.time == datetime(2024, 2, 2, tzinfo=UTC)


XARF = {
    "Version": "4",
    "ReporterInfo": {"ReporterOrg": "Example Hotline", "ReporterOrgEmail": "h@example.org"},
    "Disclosure": True,
    "Report": {
        "ReportClass": "Content",
        "ReportType": "Phishing",
        "Date": "2018-02-05T14:17:10Z",
        "SourceType": "Uri",
        "Source": "http://phish.example/login",
    },
}


def test_xarf_pretty_document_and_lines(write_file: Callable[..., Path]) -> None:
    pretty = write_file("report.json", json.dumps(XARF, indent=2))
    assert detect_format(pretty) == "xarf"
    (entry,), rejects = read(pretty, "xarf")
    assert rejects == []
    assert (entry.url, entry.classification, entry.source, entry.line) == (
        "http://phish.example/login", "phishing", "Example Hotline", 1,
    )  # fmt: skip
    by_ip = {**XARF, "Report": {**XARF["Report"], "SourceType": "Ip", "Source": "192.0.2.9"}}
    old = {**XARF, "Version": "3"}
    lines = write_file("reports.jsonl", "\n".join(json.dumps(r) for r in (XARF, by_ip, old)))
    entries, rejects = read(lines, "xarf")
    assert [(e.url, e.ip) for e in entries] == [
        ("http://phish.example/login", None), ("http://192.0.2.9/", "192.0.2.9"),
    ]  # fmt: skip
    assert [r.line for r in rejects] == [3] and "version" in rejects[0].reason


def test_phishtank_json_array(write_file: Callable[..., Path]) -> None:
    items = [
        {
            "phish_id": 100 + i,
            "url": f"http://p{i}.example/",
            "submission_time": "2019-01-01T00:00:00+00:00",
            "target": "Other",
            "details": [{"ip_address": "192.0.2.1", "cidr_block": "192.0.2.0/24"}],
        }
        for i in range(3000)
    ]
    path = write_file("online-valid.json.gz", json.dumps(items))  # one long line, > 64 kB
    assert detect_format(path) == "phishtank"
    entries, rejects = read(path, "phishtank")
    assert rejects == [] and len(entries) == 3000
    assert (entries[-1].reference, entries[-1].ip) == ("3099", "192.0.2.1")


URLHAUS_DUMP = """################################################################
# abuse.ch URLhaus Database Dump (CSV - recent URLs)            #
# Last updated: 2024-03-01 10:00:00 (UTC)                       #
#                                                              #
# Terms Of Use: https://urlhaus.abuse.ch/api/                  #
# For questions please contact urlhaus [at] abuse.ch           #
################################################################
#
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
"2790001","2024-03-01 09:59:01","http://198.51.100.7:38233/i","online","2024-03-01 09:59:01","malware_download","32-bit,elf,mips,Mozi","https://urlhaus.abuse.ch/url/2790001/","geenensp"
"2790002","2024-03-01 09:58:00","https://dl.example.net/x.exe","offline","","malware_download","exe","https://urlhaus.abuse.ch/url/2790002/","anonymous"
"""
URLHAUS_COUNTRY = """# URLhaus country feed NL
# dateadded,url,url_status,threat,host,ip_address,country
"2024-03-01 08:00:00","http://bad.example.nl/a.sh","online","malware_download","bad.example.nl","203.0.113.5","NL"
"""


def test_urlhaus_dump_and_country_feed(write_file: Callable[..., Path]) -> None:
    dump = write_file("csv.txt", URLHAUS_DUMP)
    assert detect_format(dump) == "urlhaus"
    entries, rejects = read(dump, "urlhaus")
    assert rejects == []
    assert [(e.reference, e.url) for e in entries] == [
        ("2790001", "http://198.51.100.7:38233/i"), ("2790002", "https://dl.example.net/x.exe"),
    ]  # fmt: skip
    assert entries[0].extra == {
        "threat": "malware_download", "tags": "32-bit,elf,mips,Mozi", "url_status": "online",
        "reporter": "geenensp",
    }  # fmt: skip
    assert entries[0].classification == "malware-distribution"
    country = write_file("nl.csv", URLHAUS_COUNTRY)
    assert detect_format(country) == "urlhaus"
    (entry,), _ = read(country, "urlhaus")
    assert (entry.ip, entry.reference, entry.time) == (
        "203.0.113.5", None, datetime(2024, 3, 1, 8, tzinfo=UTC),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "candidates"),
    [
        ("a,b,c\n1,2,3\n", "csv (header has no URL column"),
        ("http://a.example/\nnot a url\n", "openphish (1 of the first 2"),
        ('{"foo": 1}\n', "jsonl (no URL field"),
    ],
)
def test_detection_names_candidates(
    write_file: Callable[..., Path], content: str, candidates: str
) -> None:
    path = write_file("mystery.dat", content)
    with pytest.raises(FormatUndecided) as caught:
        detect_format(path)
    assert candidates in str(caught.value) and "--format" in str(caught.value)


def test_file_name_breaks_a_tie(write_file: Callable[..., Path]) -> None:
    path = write_file("openphish-feed.txt", "http://a.example/\nwww.b.example/x\n")
    assert detect_format(path) == "openphish"


def test_urlhaus_intervals_adblock_entries(write_file: Callable[..., Path]) -> None:
    path = write_file(
        "urlhaus_filter_online_intervals.csv",
        "entry,entry_type,interval_idx,first_seen_utc,first_absent_utc,"
        "still_listed_at_last_snapshot,n_snapshots_present_total\n"
        "||bad.example^,hostname,0,2020-07-05T12:09:50+00:00,,yes,4\n"
        "||bad.example/x.exe^$all,host_path,0,2020-07-05T12:09:50+00:00,"
        "2020-07-07T12:10:05+00:00,no,4\n",
    )
    (host, with_path), rejects = read(path, "urlhaus-intervals")
    assert rejects == []
    assert (host.url, host.observations) == (
        "http://bad.example/", ((datetime(2020, 7, 5, 12, 9, 50, tzinfo=UTC), True),),
    )  # fmt: skip
    assert with_path.url == "http://bad.example/x.exe"
    assert with_path.reference == "||bad.example/x.exe^$all#0"
    assert [online for _, online in with_path.observations] == [True, False]
