"""The referral routing table: category and hosting country decide who gets the referral."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostwatch.model.party import Contact
from hostwatch.takedown.referrals import RoutesError, load_routes


def _contact(n: int, role: str, country: str | None) -> Contact:
    return Contact(
        id=n,
        name=f"{role}-{country}",
        role=role,
        email=f"{role}{n}@x.test",
        country=country,
        active=True,
        do_not_notify=False,
        source="manual",
    )


BOOK = [
    _contact(1, "authority", "NL"),
    _contact(2, "hotline", "DE"),
    _contact(3, "hotline", "US"),
    _contact(4, "cert", "NL"),
    _contact(5, "provider", None),
]


@pytest.mark.parametrize(
    ("classification", "country", "expected"),
    [
        ("csam", "NL", "authority-NL"),  # at home: the national authority
        ("child-abuse", "DE", "hotline-DE"),  # abroad: that country's partner hotline
        ("csam", "us", "hotline-US"),
        ("csam", "SC", "authority-NL"),  # no partner hotline there: our own authority
        ("terrorist-content", "NL", "authority-NL"),
        ("phishing", "DE", "cert-NL"),  # malware and phishing: the national CERT, never police
        ("malware-distribution", "NL", "cert-NL"),
        ("copyright", "NL", None),  # anything else: no one
        ("csam", None, "authority-NL"),  # hosting country unknown: not a partner's
    ],
)
def test_shipped_routes(classification: str, country: str | None, expected: str | None) -> None:
    routes = load_routes("NL")
    found = routes.target(classification, country, BOOK)
    assert (found.name if found else None) == expected


def test_a_contact_that_must_not_be_notified_is_skipped() -> None:
    book = [*BOOK[:1], _contact(6, "hotline", "DE")]
    book[1].do_not_notify = True
    assert load_routes("NL").target("csam", "DE", book).name == "authority-NL"


def test_bad_tables_name_the_file_and_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "routes.toml"
    bad.write_text('[[route]]\ncategory = ["csam"]\nto = [{ role = "authority" }]\n')
    with pytest.raises(RoutesError, match=r"routes.toml: route\[0\].category: unknown category"):
        load_routes("NL", bad)
    bad.write_text('[category.csam]\nmatch = "csam"\n[[route]]\nto = [{ role = "police" }]\n')
    with pytest.raises(RoutesError, match=r"route\[0\].to\[0\].role 'police'"):
        load_routes("NL", bad)
    bad.write_text("[[route]\n")
    with pytest.raises(RoutesError, match=r"routes\.toml"):
        load_routes("NL", bad)
