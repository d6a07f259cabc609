"""Reading in a second process must give exactly what reading in-process gives."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hostwatch.clock import Clock
from hostwatch.ingest import pipeline
from hostwatch.ingest.handoff import read_in_child
from hostwatch.ingest.pipeline import ingest_file
from hostwatch.ingest.prepare import ReadJob
from hostwatch.ingest.readers import FormatError, ReadOptions
from hostwatch.model import IngestRun, Notice, Observation, Url
from hostwatch.model.db import engine_for, session_scope

CLOCK = Clock.at("2024-05-01T12:00:00Z")


def snapshot(db: str) -> dict[str, list[tuple]]:
    """Everything intake wrote, without the ids that depend on insertion order."""
    with session_scope(db) as s:
        return {
            "urls": sorted(s.execute(select(Url.id, Url.url, Url.host, Url.first_seen_at)).all()),
            "notices": sorted(
                s.execute(
                    select(
                        Notice.notice_key,
                        Notice.url_id,
                        Notice.received_at,
                        Notice.raw,
                        Notice.line_no,
                        Notice.extra,
                        Notice.reported_ip,
                    )
                ).all()
            ),
            "listings": sorted(
                s.execute(
                    select(Observation.url_id, Observation.observed_at, Observation.online)
                ).all()
            ),
        }


def mixed_csv(write_file: Callable[..., Path], name: str) -> Path:
    good = [
        f"http://host{i}.example.org/p{i},2024-04-0{1 + i % 9}T10:00:00Z,r{i}" for i in range(40)
    ]
    bad = ["javascript:alert(1),2024-04-01T00:00:00Z,x1", "http://ok.example/,yesterday,x2"]
    lines = ["url,time,reference", *good[:20], *bad, *good[20:], good[3]]
    return write_file(name, "\n".join(lines) + "\n")


@pytest.mark.parametrize("parallel", [False, True])
def test_both_ways_write_the_same(
    db_url: str, write_file: Callable[..., Path], tmp_path: Path, parallel: bool
) -> None:
    path = mixed_csv(write_file, f"mixed-{parallel}.csv")
    rejects = tmp_path / f"rejects-{parallel}.csv"
    report = ingest_file(
        path, db_url, format="csv", clock=CLOCK, rejects_path=rejects, parallel=parallel
    )
    assert (report.lines, report.accepted, report.duplicates, report.rejected) == (44, 40, 1, 2)
    with open(rejects, encoding="utf-8", newline="") as handle:
        assert [(r["line"], r["reason"][:10]) for r in csv.DictReader(handle)] == [
            ("22", "scheme 'ja"),
            ("23", "unparseabl"),
        ]
    data = snapshot(db_url)
    assert len(data["urls"]) == 40 and len(data["notices"]) == 40
    assert data["notices"][0][2].tzinfo is not None
    with session_scope(db_url) as s:
        run = s.scalars(select(IngestRun)).one()
    assert (run.accepted, run.duplicates, run.rejected, run.lines) == (40, 1, 2, 44)


def test_parallel_and_in_process_agree_on_a_history_feed(
    sqlite_url: str,
    urlhaus_history: Callable[[int], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sample = urlhaus_history(2000)
    other = tmp_path_factory.mktemp("other") / "second.db"
    second_url = f"sqlite:///{other}"
    from hostwatch.model.db import migrate

    migrate(second_url)
    one = ingest_file(sample, sqlite_url, clock=CLOCK, parallel=False)
    two = ingest_file(sample, second_url, clock=CLOCK, parallel=True)
    assert (one.accepted, one.observations) == (two.accepted, two.observations) == (2000, 5786)
    assert snapshot(sqlite_url) == snapshot(second_url)


def test_a_refused_header_raises_before_any_run(
    sqlite_url: str, write_file: Callable[..., Path]
) -> None:
    path = write_file("nourl.csv", "a,b\n1,2\n")
    with pytest.raises(FormatError, match="no URL column"):
        ingest_file(path, sqlite_url, format="csv", parallel=True)
    with session_scope(sqlite_url) as s:
        assert s.scalar(select(func.count()).select_from(IngestRun)) == 0


def test_a_reader_failure_comes_back_as_its_error(tmp_path: Path) -> None:
    job = ReadJob(
        path=tmp_path / "missing.csv",
        format="csv",
        run_source="test",
        started=datetime(2024, 1, 1, tzinfo=UTC),
        options=ReadOptions(),
        driver="sqlite",
    )
    with pytest.raises(FileNotFoundError), read_in_child(job) as items:
        next(items)


def test_large_files_are_read_in_parallel_and_foreign_keys_stay_on(
    sqlite_url: str, write_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PARALLEL_FROM_BYTES", 1000)
    used: list[ReadJob] = []
    real = pipeline.read_in_child

    def spy(job: ReadJob):  # type: ignore[no-untyped-def]
        used.append(job)
        return real(job)

    monkeypatch.setattr(pipeline, "read_in_child", spy)
    path = write_file("big.txt", "".join(f"http://n{i}.example/\n" for i in range(200)))
    report = ingest_file(path, sqlite_url, format="openphish", clock=CLOCK)
    assert report.accepted == 200 and len(used) == 1
    with engine_for(sqlite_url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
