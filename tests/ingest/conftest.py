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
