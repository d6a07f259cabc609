"""Helpers for intake tests: write small notice files (plain or compressed) into tmp."""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Callable
from pathlib import Path

import pytest

COMPRESSORS = {"": lambda b: b, ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """write_file(name, text_or_bytes) -> path; compressed when the name ends in .gz/.bz2/.xz."""

    def write(name: str, content: str | bytes) -> Path:
        data = content.encode("utf-8") if isinstance(content, str) else content
        suffix = next((s for s in COMPRESSORS if s and name.endswith(s)), "")
        path = tmp_path / name
        path.write_bytes(COMPRESSORS[suffix](data))
        return path

    return write


@pytest.fixture
def urlhaus_history(shared_data: Path, tmp_path: Path) -> Callable[[int], Path]:
    """urlhaus_history(n) -> the first n rows of the real URLhaus lifetime history, as a file
    next to its snapshot table (the reader finds the table by its name)."""
    import itertools

    (source,) = shared_data.glob("11_*/urlhaus_filter_online_intervals.csv.gz")
    (snapshots,) = shared_data.glob("11_*/urlhaus_filter_snapshots.csv.gz")

    def sample(rows: int) -> Path:
        with gzip.open(source, "rt") as handle:
            head = "".join(itertools.islice(handle, rows + 1))
        path = tmp_path / "urlhaus_filter_online_intervals.csv"
        path.write_text(head)
        (tmp_path / snapshots.name).write_bytes(snapshots.read_bytes())
        return path

    return sample
