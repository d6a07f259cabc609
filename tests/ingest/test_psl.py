"""Registered domains against the official PSL test vectors (CC0, shipped with the PSL)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from hostwatch.net.psl import PublicSuffixes, registered_domain

_VECTOR = re.compile(r"checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);")


def vectors(folder: Path) -> list[tuple[str | None, str | None]]:
    (path,) = folder.glob("09_*/test_psl_*.txt")
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _VECTOR.match(line.strip())
        if match:
            found.append(tuple(None if v == "null" else v.strip("'") for v in match.groups()))
    return found


def test_official_vectors_with_bundled_list(shared_data: Path) -> None:
    cases = vectors(shared_data)
    assert len(cases) > 60
    wrong = [
        (given, expected, registered_domain(given))
        for given, expected in cases
        if given is not None and registered_domain(given) != expected
    ]
    assert wrong == []


def test_official_vectors_with_a_pinned_list_file(shared_data: Path) -> None:
    (dat,) = shared_data.glob("09_*/public_suffix_list_*.dat")
    pinned = PublicSuffixes(dat)
    for given, expected in vectors(shared_data):
        if given is not None:
            assert pinned.registered_domain(given) == expected, given


def test_private_suffixes_count_as_public() -> None:
    # A subdomain on a free-hosting platform is its own registrant: phishing hosts live there.
    assert registered_domain("send-usdt-9999.netlify.app") == "send-usdt-9999.netlify.app"
    assert registered_domain("a.b.blogspot.com") == "b.blogspot.com"


@pytest.mark.parametrize("host", ["", "com", ".example.com", "a..example.com"])
def test_no_registered_domain(host: str) -> None:
    assert registered_domain(host) is None


def test_answers_kept_per_parent_agree_with_the_rules_label_by_label() -> None:
    """A host's answer is taken from its parent's where the list names neither the host nor
    the parent as a wildcard; over hosts built from the list's own entries (wildcards,
    exceptions, IDN rules, private suffixes) that must be the list's algorithm's answer."""
    suffixes = PublicSuffixes()
    entries = sorted(suffixes.rules | suffixes.wildcards | suffixes.exceptions)
    labels = sorted({label for entry in entries for label in entry.split(".")})
    rng = random.Random(2026)
    hosts = [f"{prefix}{entry}" for entry in entries for prefix in ("", "x.", "a.www.")]
    hosts += [".".join(rng.choices(labels, k=rng.randint(1, 6))) for _ in range(50_000)]
    hosts += [f"{host}.{rng.choice(entries)}" for host in hosts[::7]]
    hosts += ["a." * 3000 + "com", "b." * 120 + "blogspot.com"]  # past and near the longest name
    assert len(hosts) > 90_000
    answers = [(host, suffixes.lookup(host), suffixes._match(host)) for host in hosts]
    assert [wrong for wrong in answers if wrong[1] != wrong[2]] == []
    assert len(suffixes.parents) > 1000  # the shortcut was taken
