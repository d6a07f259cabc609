"""Translations: gettext catalogues per domain (``notices``, ``report``, ...) and language.

The ``.po`` files under ``locale/<lang>/LC_MESSAGES/<domain>.po`` are the source and the only
copy: they are compiled in memory with Babel when first asked for, so there is no build step
and no compiled ``.mo`` to fall out of date. A language without a catalogue, or a message
missing from one, falls back to the English text written in the code, which is what abuse desks
abroad and researchers read anyway.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "en"


def language(tag: str | None) -> str:
    """The catalogue language for a contact's or a reader's language tag (``nl-NL`` -> ``nl``);
    English when none is given."""
    if not tag:
        return DEFAULT_LANGUAGE
    return tag.strip().replace("_", "-").split("-")[0].lower() or DEFAULT_LANGUAGE


@functools.cache
def translations(domain: str, lang: str | None) -> gettext.NullTranslations:
    """The catalogue of ``domain`` for ``lang``; a NullTranslations (English) when none exists."""
    path = LOCALE_DIR / language(lang) / "LC_MESSAGES" / f"{domain}.po"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language(lang), domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def available(domain: str) -> list[str]:
    """The languages that have a catalogue for ``domain``, English first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{domain}.po"))
    return [DEFAULT_LANGUAGE, *(lang for lang in found if lang != DEFAULT_LANGUAGE)]
