"""Strings marked for translation. English is the only catalogue today: `gettext` returns
the text as written, and the templates use Jinja's i18n extension (`{% trans %}`, `_()`),
so a catalogue extracted with Babel (`pybabel extract -F babel.cfg`) can be added later."""

from __future__ import annotations

import gettext as _gettext

_CATALOGUE = _gettext.NullTranslations()


def gettext(message: str) -> str:
    return _CATALOGUE.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _CATALOGUE.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where shown."""
    return message
