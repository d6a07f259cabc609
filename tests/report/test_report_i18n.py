"""The Dutch report is complete: every message of the report's code and templates has a
translation with the same placeholders, and numbers follow the locale."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hostwatch.i18n import LOCALE_DIR, translations
from hostwatch.report.formatting import NBSP, Formatter

REPORT = Path(__file__).resolve().parents[2] / "src" / "hostwatch" / "report"
METHOD_MAP = [("**.py", "python"), ("templates/**.j2", "jinja2")]
OPTIONS = {"templates/**.j2": {"extensions": "jinja2.ext.i18n"}}


def _messages() -> set[str]:
    found = extract_from_dir(
        str(REPORT), METHOD_MAP, OPTIONS, keywords={"_": None, "gettext": None, "N_": None}
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def test_every_report_message_has_a_dutch_translation() -> None:
    messages = _messages()
    assert len(messages) > 150
    with (LOCALE_DIR / "nl" / "LC_MESSAGES" / "report.po").open("rb") as handle:
        catalogue = read_po(handle, locale="nl")
    translated = {m.id: m.string for m in catalogue if m.id and m.string}
    missing = sorted(messages - set(translated))
    assert not missing, f"untranslated: {missing[:5]}"
    for msgid, msgstr in translated.items():
        names = sorted(re.findall(r"%\((\w+)\)s", msgid))
        assert names == sorted(re.findall(r"%\((\w+)\)s", msgstr)), msgid
        assert msgid.count("%%") == msgstr.count("%%"), msgid


def test_numbers_durations_and_dates_follow_the_locale() -> None:
    en = Formatter("en", translations("report", "en"))
    nl = Formatter("nl", translations("report", "nl"))
    assert en.num(12345.678, 1) == "12,345.7" and nl.num(12345.678, 1) == "12.345,7"
    assert en.hours(5.25) == f"5.2{NBSP}h" or en.hours(5.25) == f"5.3{NBSP}h"
    assert en.hours(72.0) == f"72.0{NBSP}h"
    assert en.hours(6986.0) == f"291{NBSP}days" and nl.hours(6986.0) == f"291{NBSP}dagen"
    assert en.hours(100.0) == f"4.2{NBSP}days"
    assert en.share_upto(0.426, 0.4261) == "42.6%"
    assert en.share_upto(0.426, 0.5) == "42.6% (up to 50.0%)"
    assert nl.share_upto(0.426, 0.5) == "42,6% (tot 50,0%)"
    assert en.pct_range(0.551, 0.693) == "55.1–69.3%"
    when = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)
    assert en.day(when) == "4 March 2025" and nl.day(when) == "4 maart 2025"
