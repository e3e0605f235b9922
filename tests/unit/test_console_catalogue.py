"""Every string of the staff console has a Swedish translation in the console domain."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from tests.support.catalogues import extracted, translated

ROOT = Path(__file__).resolve().parents[2]


def console_sources() -> list[str]:
    """The Makefile's CONSOLE_SOURCES: what `make messages` extracts into console.pot."""
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^CONSOLE_SOURCES\s*=\s*(.+)$", makefile, re.M)
    assert line, "the Makefile no longer says where the console's text is"
    return line.group(1).split()


def test_swedish_console_catalogue_covers_every_string_of_the_console(tmp_path):
    wanted = extracted(tmp_path, *console_sources())
    assert len(wanted) > 500, "extraction found too little: babel.cfg or the sources moved"
    assert sorted(wanted - translated("sv", "console"), key=str) == []


def test_swedish_console_translations_keep_their_placeholders():
    """A translation that drops or renames a %(name)s breaks the page that formats it."""
    placeholder = re.compile(r"%(?:\(\w+\))?[-#0 +]?\d*(?:\.\d+)?[sdif%]")
    with (ROOT / "portal/translations/sv/LC_MESSAGES/console.po").open("rb") as f:
        catalogue = read_po(f)
    wrong = []
    for m in catalogue:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set(placeholder.findall(ids[-1]))
        wrong += [m.id for s in strings if set(placeholder.findall(s)) != want]
    assert wrong == []
