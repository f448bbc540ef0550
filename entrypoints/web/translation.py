"""Strings marked for translation, and the language the pages' text is in.

English is the only catalogue today: `gettext` returns the text as written, and the
templates use Jinja's i18n extension (`{% trans %}`, `_()`), so a catalogue extracted with
Babel (`pybabel extract -F babel.cfg`) can be added later, in CATALOGUES.

The text's language and the formats' locale are two things: a German reader gets English
words (no German catalogue) with German dates and amounts. `<html lang>` names the text's
language (text_language), never a language the words are not in.
"""

from __future__ import annotations

import gettext as _gettext

from entrypoints.web.formatting import language_ranges

TEXT_LANGUAGE = "en"  # the language the strings are written in
# Language (ISO 639-1) → its catalogue. A language without one is shown in TEXT_LANGUAGE.
CATALOGUES: dict[str, _gettext.NullTranslations] = {TEXT_LANGUAGE: _gettext.NullTranslations()}
_CATALOGUE = CATALOGUES[TEXT_LANGUAGE]


def text_language(accept_language: str | None) -> str:
    """The best language of the header that has a catalogue (by quality); English else."""
    for tag in language_ranges(accept_language):
        language = tag.replace("_", "-").partition("-")[0].lower()
        if language in CATALOGUES:
            return language
    return TEXT_LANGUAGE


def gettext(message: str) -> str:
    return _CATALOGUE.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _CATALOGUE.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where shown."""
    return message
