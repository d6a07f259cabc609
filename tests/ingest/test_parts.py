"""A file read in parts by several processes must give exactly what reading it whole gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hostwatch.clock import Clock
from hostwatch.ingest import parts, pipeline
from hostwatch.ingest.parts import plan_parts, read_in_parts
from hostwatch.ingest.pipeline import ingest_file
from hostwatch.ingest.prepare import Batch, ReadJob, ReadTotals, Started, read_batches
from hostwatch.ingest.readers import ReadOptions
from hostwatch.model import Notice
from hostwatch.model.db import session_scope

CLOCK = Clock.at("2024-05-01T12:00:00Z")
NOTICE_LINE = 9  # position of line_no in a notice row


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts, "SPLIT_FROM_BYTES", 1000)


def job(path: Path, fmt: str, rejects: Path | None = None, batch: int = 50) -> ReadJob:
    return ReadJob(
        path=path,
        format=fmt,
        run_source="test",
        started=datetime(2024, 1, 1, tzinfo=UTC),
        options=ReadOptions(),
        driver="sqlite",
        rejects_path=rejects,
        batch=batch,
    )


def collect(
    reading: AbstractContextManager[Iterator[Started | Batch | ReadTotals]],
) -> tuple[list[tuple], list[int], ReadTotals]:
    """Every notice row, sorted; the progress positions; the totals."""
    rows, positions = [], []
    with reading as items:
        assert isinstance(next(items), Started)
        for item in items:
            if isinstance(item, Batch):
                rows.extend(item.notices)
                positions.append(item.position)
            else:
                totals = item
    return sorted(rows), positions, totals


def csv_feed(newline: str = "\n") -> str:
    """A header, then good and bad lines all through the file (bad ones in both halves)."""
    lines = ["\ufeffurl,time,reference", ""]
    for i in range(400):
        if i % 97 == 5:
            lines.append(f"javascript:alert({i}),2024-04-01T00:00:00Z,bad{i}")
        elif i % 89 == 7:
            lines.append(f'"http://q{i}.example/,2024-04-01T00:00:00Z,unbalanced{i}')
        else:
            lines.append(f"http://h{i}.example.org/p/{i},2024-04-0{1 + i % 9}T10:00:00Z,r{i}")
    lines.append("http://h3.example.org/p/3,2024-04-04T10:00:00Z,r3")  # a repeat
    return newline.join(lines) + newline


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_parts_read_as_the_whole_file(
    write_file: Callable[..., Path], tmp_path: Path, newline: str
) -> None:
    path = write_file("feed.csv", csv_feed(newline))
    whole_rejects, part_rejects = tmp_path / "whole.csv", tmp_path / "parts.csv"
    planned = plan_parts(job(path, "csv"), 2)
    assert planned is not None and len(planned) == 2
    assert planned[0].start == 0 and planned[1].end == path.stat().st_size
    assert planned[0].end == planned[1].start and planned[1].first_line > 200
    whole = collect(nullcontext(read_batches(job(path, "csv", whole_rejects))))
    split = collect(read_in_parts(job(path, "csv", part_rejects), planned))
    assert split[0] == whole[0] and len(whole[0]) == 390 + 1  # the repeat is in another batch
    assert [row[NOTICE_LINE] for row in split[0]] == [row[NOTICE_LINE] for row in whole[0]]
    assert split[2] == whole[2] and split[2].rejected == 10 and split[2].lines == 403
    assert part_rejects.read_bytes() == whole_rejects.read_bytes()  # one header, line order
    assert split[1] == sorted(split[1]) and split[1][-1] == path.stat().st_size
    assert not list(tmp_path.glob(".parts.csv.part*"))  # the parts' own files are gone


def test_a_urlhaus_export_is_read_in_parts_under_its_comment_header(
    write_file: Callable[..., Path],
) -> None:
    head = "#" * 60 + "\n# URLhaus export\n#\n# id,dateadded,url,url_status,threat\n"
    body = "".join(
        f'"{i}","2024-03-01 10:00:{i % 60:02d}","http://m{i}.example/x.exe","online","malware"\n'
        for i in range(300)
    )
    path = write_file("urlhaus.csv", head + body + "#\n# END\n")
    planned = plan_parts(job(path, "urlhaus"), 2)
    assert planned is not None and planned[1].header_lines == 4
    whole = collect(nullcontext(read_batches(job(path, "urlhaus"))))
    split = collect(read_in_parts(job(path, "urlhaus"), planned))
    assert split[0] == whole[0] and len(split[0]) == 300
    assert {row[NOTICE_LINE] for row in split[0]} == set(range(5, 305))


@pytest.mark.parametrize(
    ("name", "fmt", "content"),
    [
        ("feed.jsonl", "jsonl", "".join(f'{{"url": "http://j{i}.example/"}}\n' for i in range(99))),
        ("feed.txt.gz", "openphish", "".join(f"http://g{i}.example/\n" for i in range(99))),
        ("cr.csv", "csv", "url\r" + "".join(f"http://c{i}.example/\n" for i in range(99))),
    ],
)
def test_files_that_cannot_be_cut_are_read_whole(
    write_file: Callable[..., Path], name: str, fmt: str, content: str
) -> None:
    """JSON documents may span lines, a compressed stream has no offsets to cut at, and a header
    ending in a bare CR could join a part's first line."""
    assert plan_parts(job(write_file(name, content), fmt), 2) is None


def test_one_reader_reads_the_whole_file(write_file: Callable[..., Path]) -> None:
    path = write_file("feed.csv", csv_feed())
    assert plan_parts(job(path, "csv"), 1) is None


def test_large_files_are_read_in_parts_by_intake(
    sqlite_url: str, write_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PARALLEL_FROM_BYTES", 1000)
    monkeypatch.setattr(pipeline, "reader_count", lambda: 2)
    used: list[int] = []
    real = pipeline.read_in_parts

    def spy(whole: ReadJob, planned: list) -> AbstractContextManager:  # type: ignore[type-arg]
        used.append(len(planned))
        return real(whole, planned)

    monkeypatch.setattr(pipeline, "read_in_parts", spy)
    path = write_file("feed.txt", "".join(f"http://n{i}.example/\n" for i in range(3000)))
    report = ingest_file(path, sqlite_url, format="openphish", clock=CLOCK)
    assert used == [2] and (report.lines, report.accepted) == (3000, 3000)
    with session_scope(sqlite_url) as s:
        lines = s.scalars(select(Notice.line_no)).all()
        assert sorted(lines) == list(range(1, 3001))
        assert s.scalar(select(func.count(func.distinct(Notice.url_id)))) == 3000
