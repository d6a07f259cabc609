"""Hostile input: every bad line is rejected with its line number and reason; the rest is kept."""

from __future__ import annotations

import csv
import gzip
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hostwatch.ingest.pipeline import IngestReport, ingest_file
from hostwatch.model import Notice
from hostwatch.model.db import engine_for

GOOD = [f"http://good{i}.example.com/p{i}" for i in range(5)]


def ingest(path: Path, db: str, fmt: str = "auto", **kw) -> tuple[IngestReport, list[dict]]:
    rejects = path.parent / f"{path.name}.rejects.csv"
    report = ingest_file(path, db, format=fmt, rejects_path=rejects, **kw)
    rows = []
    if rejects.exists():
        with open(rejects, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    return report, rows


def stored(db: str) -> int:
    with engine_for(db).connect() as conn:
        return conn.execute(select(func.count()).select_from(Notice)).scalar_one()


def test_hostile_csv_lines(sqlite_url: str, write_file: Callable[..., Path]) -> None:
    lines = [
        b"url,reference",
        GOOD[0].encode() + b",r0",
        b"http://bad\xff\xfe.example.com/,r1",  # invalid UTF-8 in the URL
        GOOD[1].encode() + b",r2 caf\xe9",  # invalid UTF-8 outside the URL: kept, replaced
        b"http://nul.example.com/\x00x,r3",
        b"http://nul2.example.com/,r\x004",
        b"http://" + b"a" * 10_000_000 + b".com/,r5",  # a 10 MB line
        b'"http://unbalanced.example.com/,r6',
        b"javascript:alert(document.cookie),r7",
        b'"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",r8',
        b'=HYPERLINK("http://x"),r9',
        b"only-one-field",
        GOOD[2].encode() + b",r10",
    ]
    path = write_file("hostile.csv", b"\n".join(lines) + b"\n")
    report, rejects = ingest(path, sqlite_url)
    assert report.accepted == 3 and stored(sqlite_url) == 3
    by_line = {int(r["line"]): r["reason"] for r in rejects}
    assert set(by_line) == {3, 5, 6, 7, 8, 9, 10, 11, 12}
    assert "invalid UTF-8" in by_line[3]
    assert "control character" in by_line[5] and "NUL" in by_line[6]
    assert "exceeds" in by_line[7]
    assert "unbalanced quotes" in by_line[8]
    assert "javascript" in by_line[9] and "data" in by_line[10]
    assert "fields" in by_line[12]
    formula = next(r for r in rejects if r["line"] == "11")
    assert formula["raw_excerpt"].startswith("'=")
    assert all(len(r["raw_excerpt"]) < 300 for r in rejects)
    assert "\\x00" in next(r for r in rejects if r["line"] == "5")["raw_excerpt"]


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_truncated_streams_keep_what_was_read(
    sqlite_url: str, write_file: Callable[..., Path], suffix: str
) -> None:
    urls = [f"http://h{i}.example.org/{random.Random(i).getrandbits(64):x}" for i in range(60000)]
    full = write_file(f"feed.txt{suffix}", "\n".join(urls) + "\n")
    cut = full.with_name(f"cut.txt{suffix}")
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    report, rejects = ingest(cut, sqlite_url, "openphish")
    assert report.stream_error and "stream broken" in report.stream_error
    assert 1000 < report.accepted < 60000
    assert stored(sqlite_url) == report.accepted
    assert len(rejects) <= 1 and all("cut off" in r["reason"] for r in rejects)


def test_compressed_input_reads_like_plain(
    sqlite_url: str, write_file: Callable[..., Path]
) -> None:
    for suffix in ("", ".gz", ".bz2", ".xz"):
        path = write_file(f"feed{suffix or '.txt'}", "\n".join(GOOD) + "\n")
        report, _ = ingest(path, sqlite_url, "openphish")
        assert report.stream_error is None
    assert stored(sqlite_url) == len(GOOD)


def test_gzip_garbage_is_not_a_traceback(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(b"http://a.example/\n")[:10] + b"\x00garbage" * 50)
    report, _ = ingest(path, sqlite_url, "openphish")
    assert report.stream_error and report.accepted == 0


malformed = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda s, body: s + body,
        st.sampled_from(["http://", "hxxps://", "javascript:", "data:", "ftp://", "//", ""]),
        st.text(st.characters(codec="utf-8"), max_size=60),
    ),
)


@settings(max_examples=45, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(malformed, min_size=50, max_size=50))
def test_generated_malformed_urls_never_raise(sqlite_url: str, tmp_path: Path, urls: list[str]):
    """45 x 50 generated URLs through the whole pipeline: each stored or rejected, no error."""
    text = "\n".join(u.replace("\r", " ").replace("\n", " ") for u in urls) + "\n"
    path = tmp_path / "gen.txt"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    (tmp_path / "gen.txt.rejects.csv").unlink(missing_ok=True)
    report, rejects = ingest(path, sqlite_url, "openphish")
    blank = sum(1 for u in text.split("\n")[:-1] if not u.strip() or u.strip().startswith("#"))
    assert report.accepted + report.duplicates + report.rejected + blank == len(urls)
    assert report.rejected == len(rejects)
    assert all(r["reason"] and r["line"].isdigit() for r in rejects)
