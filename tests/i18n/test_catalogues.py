"""The gettext catalogues: every .po file compiles, and a language without one falls back to
English instead of failing."""

from __future__ import annotations

import pytest

from hostwatch.i18n import LOCALE_DIR, available, language, translations


@pytest.mark.parametrize(
    ("tag", "lang"), [("nl-NL", "nl"), ("NL", "nl"), ("en_GB", "en"), (None, "en"), ("", "en")]
)
def test_language_tags_map_to_catalogues(tag: str | None, lang: str) -> None:
    assert language(tag) == lang


def test_a_language_without_a_catalogue_reads_english() -> None:
    assert translations("notices", "xx").gettext("Removal request") == "Removal request"
    assert available("no-such-domain") == ["en"]


@pytest.mark.parametrize("path", sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")), ids=str)
def test_every_catalogue_compiles_and_translates(path) -> None:
    lang, domain = path.parent.parent.name, path.stem
    catalogue = translations(domain, lang)
    messages = catalogue._catalog  # type: ignore[attr-defined]  # gettext keeps them there
    translated = [key for key, value in messages.items() if key and value and key != value]
    assert translated, f"{path} translates nothing"
