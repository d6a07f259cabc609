"""Intake into the database (SQLite and PostgreSQL): identity, idempotence, listings, export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hostwatch.clock import Clock
from hostwatch.identity import notice_key, url_id
from hostwatch.ingest.export import FIELDS, export_notices
from hostwatch.ingest.pipeline import ingest_file
from hostwatch.model import IngestRun, Notice, Observation, Url
from hostwatch.model.db import session_scope

CLOCK = Clock.at("2024-05-01T12:00:00Z")


def count(db: str, model: type) -> int:
    with session_scope(db) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_phishtank_twice_adds_nothing(db_url: str, shared_data: Path, tmp_path: Path) -> None:
    (path,) = shared_data.glob("04_*/online-valid_2018-10-26.csv.bz2")
    first = ingest_file(path, db_url, clock=CLOCK, rejects_path=tmp_path / "r.csv")
    assert (first.format, first.accepted, first.duplicates, first.rejected) == (
        "phishtank", 26714, 0, 0,
    )  # fmt: skip
    again = ingest_file(path, db_url, clock=CLOCK)
    assert (again.accepted, again.duplicates) == (0, 26714)
    assert count(db_url, Notice) == 26714
    with session_scope(db_url) as s:
        runs = s.scalars(select(IngestRun).order_by(IngestRun.id)).all()
        notice = s.scalars(select(Notice).where(Notice.reference == "5826976")).one()
        url = s.get(Url, notice.url_id)
    assert [(r.accepted, r.duplicates, r.lines) for r in runs] == [
        (26714, 0, 26715),
        (0, 26714, 26715),
    ]
    assert runs[0].finished_at is not None and runs[0].source == "phishtank"
    assert notice.received_at == datetime(2018, 10, 26, 4, 40, 18, tzinfo=UTC)
    assert notice.notice_key == notice_key("phishtank", "5826976", url.url, notice.raw)
    assert (url.url, url.host, url.registered_domain, url.host_type) == (
        "http://www.tumoursd.desi/notic-e/asb.co.nz", "www.tumoursd.desi", "tumoursd.desi",
        "domain",
    )  # fmt: skip
    assert url.id == url_id(url.url) and notice.line_no == 2


def test_notice_identity_without_reference(db_url: str, write_file: Callable[..., Path]) -> None:
    a = write_file("a.txt", "http://one.example/\nhxxp://ONE[.]example/\nhttp://two.example/\n")
    report = ingest_file(a, db_url, format="openphish", clock=CLOCK)
    # two different raw lines of the same URL are two notices of one URL
    assert report.accepted == 3 and count(db_url, Url) == 2
    b = write_file("b.txt", "http://two.example/\nhttp://three.example/\n")
    report = ingest_file(b, db_url, format="openphish", clock=CLOCK)
    assert (report.accepted, report.duplicates) == (1, 1)
    other_source = ingest_file(b, db_url, format="openphish", source="hotline", clock=CLOCK)
    assert other_source.accepted == 2
    with session_scope(db_url) as s:
        times = set(s.scalars(select(Notice.received_at)))
    assert times == {CLOCK.now()}  # no time in the feed: the ingest time


def test_history_formats_write_listings_once(
    db_url: str, urlhaus_history: Callable[[int], Path]
) -> None:
    sample = urlhaus_history(3000)
    report = ingest_file(sample, db_url, clock=CLOCK)
    assert (report.format, report.accepted, report.rejected) == ("urlhaus-intervals", 3000, 0)
    assert report.observations == count(db_url, Observation) > 6000
    again = ingest_file(sample, db_url, clock=CLOCK)
    assert (again.accepted, again.observations) == (0, 0)
    with session_scope(db_url) as s:
        notice = s.scalars(select(Notice).where(Notice.reference == "0400msc.com#0")).one()
        seen = s.execute(
            select(Observation.observed_at, Observation.online, Observation.kind,
                   Observation.source, Observation.host)
            .where(Observation.notice_id == notice.id)
            .order_by(Observation.observed_at)
        ).all()  # fmt: skip
    assert notice.source == "urlhaus-intervals" and notice.classification == "malware-distribution"
    assert [r.online for r in seen] == [True, True, False]
    assert seen[0].observed_at == notice.received_at
    assert seen[-1].observed_at == datetime(2019, 10, 7, 12, 12, 43, tzinfo=UTC)
    assert {(r.kind, r.source, r.host) for r in seen} == {
        ("listing", "urlhaus-intervals", "0400msc.com")
    }


def test_export_round_trip(db_url: str, write_file: Callable[..., Path], tmp_path: Path) -> None:
    path = write_file(
        "n.csv",
        "url,time,ip,classification,reference\n"
        'http://a.example/x,2024-01-01T00:00:00Z,192.0.2.1,phishing,"=HYPERLINK(""x"")"\n'
        "http://[2001:db8::1]:8080/,2024-01-02T00:00:00Z,,,+1\n",
    )
    ingest_file(path, db_url, clock=CLOCK, source="-hotline")
    out = io.StringIO()
    assert export_notices(db_url, "csv", out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == FIELDS
    assert rows[0]["source.url"] == "http://a.example/x"
    assert rows[0]["source.fqdn"] == "a.example" and rows[0]["source.ip"] == "192.0.2.1"
    assert rows[0]["extra.reference"] == '\'=HYPERLINK("x")'
    assert rows[0]["feed.name"] == "'-hotline" and rows[1]["extra.reference"] == "'+1"
    assert rows[1]["source.ip"] == "2001:db8::1" and rows[1]["source.port"] == "8080"
    assert rows[0]["time.source"] == "2024-01-01T00:00:00Z"
    lines = io.StringIO()
    export_notices(db_url, "jsonl", lines)
    events = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert events[0]["extra.reference"] == '=HYPERLINK("x")'  # JSON carries the value as is
    assert "source.fqdn" not in events[1]
    parquet = tmp_path / "n.parquet"
    assert export_notices(db_url, "parquet", parquet) == 2
    import polars as pl

    frame = pl.read_parquet(parquet)
    assert frame["source.url"].to_list() == ["http://a.example/x", "http://[2001:db8::1]:8080/"]
    assert frame["time.source"][0] == datetime(2024, 1, 1, tzinfo=UTC)


def test_export_streams_in_pages(sqlite_url: str, write_file: Callable[..., Path]) -> None:
    from hostwatch.ingest.export import notice_rows

    path = write_file("f.txt", "\n".join(f"http://h{i}.example/" for i in range(25)) + "\n")
    ingest_file(path, sqlite_url, format="openphish", clock=CLOCK)
    pages = list(notice_rows(sqlite_url, page=10))
    assert [len(p) for p in pages] == [10, 10, 5]


@pytest.mark.postgres
def test_two_sources_race_free_on_postgres(pg_url: str, write_file: Callable[..., Path]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = write_file("f.txt", "\n".join(f"http://h{i}.example/" for i in range(3000)) + "\n")
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: ingest_file(path, pg_url, format="openphish"), [1, 2]))
    assert sum(r.accepted for r in reports) == 3000 == count(pg_url, Notice)


def test_unreadable_file_records_no_run(sqlite_url: str, write_file: Callable[..., Path]) -> None:
    from hostwatch.ingest.readers import FormatError

    path = write_file("x.csv", "a,b\n1,2\n")
    with pytest.raises(FormatError):
        ingest_file(path, sqlite_url, format="csv")
    assert count(sqlite_url, IngestRun) == 0


def test_a_file_of_one_huge_line_is_one_reject(
    sqlite_url: str, write_file: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_file("huge.txt", "http://" + "x" * 10_000_000)
    report = ingest_file(path, sqlite_url, format="openphish", rejects_path=tmp_path / "r.csv")
    assert (report.accepted, report.rejected) == (0, 1)
    assert "exceeds" in (tmp_path / "r.csv").read_text()
