"""Messages the network's files and rules give in English (the API's answers, the CLI's
output) that a page can still show in its reader's language."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext


class Words(str):
    """What is wrong with a field, in English (what the API answers and the CLI prints, whatever
    language the caller asked for), that can also say itself in the reader's language (the
    console's import page, `translated()`)."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> Words:
        words = super().__new__(cls, msgid % values if values else msgid)
        words.msgid, words.values = msgid, values
        return words

    def translated(self) -> str:
        return gettext(self.msgid, **{k: translated(v) for k, v in self.values.items()})


def N_(msgid: str, **values: Any) -> Words:
    """Marks an English message for the catalogue; the reader's language comes later."""
    return Words(msgid, **values)


def translated(message: str) -> str:
    return message.translated() if isinstance(message, Words) else message
