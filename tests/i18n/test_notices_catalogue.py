"""Every English text of the notices and referrals has its Dutch translation in the catalogue."""

from __future__ import annotations

from babel.messages.extract import extract_from_file

from hostwatch.i18n import LOCALE_DIR, translations
from hostwatch.takedown import compose, referral

KEYWORDS = {"_": None, "gettext": None}


def _texts() -> set[str]:
    found = set()
    for module in (compose, referral):
        for _line, text, _comments, _context in extract_from_file(
            "python", module.__file__, keywords=KEYWORDS
        ):
            found.add(text)
    return found


def test_every_notice_text_is_translated_to_dutch() -> None:
    texts = _texts()
    assert len(texts) > 30  # the extraction found the templates, not nothing
    dutch = translations("notices", "nl")
    missing = sorted(
        t
        for t in texts
        if dutch.gettext(t) == t and t not in {"Ticket", "prefix", "origin", "phishing", "malware"}
    )
    assert missing == [], missing
    assert (LOCALE_DIR / "nl" / "LC_MESSAGES" / "notices.po").is_file()
    # an unknown language falls back to English
    assert translations("notices", "de").gettext("Deadline") == "Deadline"
