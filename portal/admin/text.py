"""The console's module-level text (form labels, hints, menus), translated when it is shown.

Like `portal.i18n.lazy_gettext`, but the string escapes itself in a template: Flask-Babel's
lazy string passes itself to Jinja as markup already safe, so an apostrophe in a form's error
("Give the merchant's name.") or a value put into the text would reach the page unescaped.
"""

from __future__ import annotations

from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

from portal.i18n import fast_gettext, translations


class ConsoleText(LazyString):
    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> ConsoleText:
    return ConsoleText(fast_gettext, string, **variables)


def fast_pgettext(context: str, string: str) -> str:
    return translations().upgettext(context, string)


def lazy_pgettext(context: str, string: str) -> ConsoleText:
    """A word that means different things in different places ("Open" as a filter, a case's
    status, a link): the context keeps each its own translation."""
    return ConsoleText(fast_pgettext, context, string)
