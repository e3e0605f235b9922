"""The console's module-level text (form labels, hints, menus), translated when it is shown,
and escaped where a template shows it (`portal.i18n.LazyText`)."""

from __future__ import annotations

from portal.i18n import LazyText, lazy_gettext, translations

__all__ = ["lazy_gettext", "lazy_pgettext"]


def fast_pgettext(context: str, string: str) -> str:
    return translations().upgettext(context, string)


def lazy_pgettext(context: str, string: str) -> LazyText:
    """A word that means different things in different places ("Open" as a filter, a case's
    status, a link): the context keeps each its own translation."""
    return LazyText(fast_pgettext, context, string)
